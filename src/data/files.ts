/**
 * Data from files: NPY pairs (x.npy + y.npy) and NPZ archives, IDX (the MNIST
 * format, gzipped or not: an images file and its labels file), CSV (a label
 * column by name, else the last column), and HDF5 (datasets `X` and `y` by
 * default, as the fixture's data.h5). Inputs may be float32/float64/(u)int;
 * labels integers (classification) or floats (regression). Every problem is one
 * clear line naming the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { parseCsv } from '../io/csv.js';
import { type H5Data, readH5 } from '../io/h5.js';
import { gunzip, isGzip, isIdx, readIdx } from '../io/idx.js';
import { type ElemType, type NdArray, size } from '../io/ndarray.js';
import { isNpy, readNpy } from '../io/npy.js';
import { isZip, readZip } from '../io/zip.js';
import { type Dataset, sampleSize, validateDataset, withInputShape } from './dataset.js';

export interface DataFileOptions {
  /** Name of the inputs: NPZ key, HDF5 dataset (default: the first of X, x, data, inputs, images, features). */
  x?: string;
  /** Name of the labels: NPZ key, HDF5 dataset or CSV column (name or 0-based index); default y, Y, labels, targets, …; CSV: the last column. */
  y?: string;
  /** The labels file of an NPY or IDX pair (default: the sibling named like the inputs file, e.g. x.npy → y.npy, *-images-idx3-ubyte → *-labels-idx1-ubyte). */
  labels?: string;
  /** Per-sample input shape (default: the file's, e.g. [784] or [1, 28, 28]); must hold the same number of values. */
  inputShape?: number[];
  task?: 'classification' | 'regression';
  /** Number of classes (default: largest label + 1). */
  classes?: number;
  /** Multiply the inputs by this (default: 1/255 for uint8 inputs, as torchvision's ToTensor; else 1). */
  scale?: number;
  /** Dataset name (default: the file name). */
  name?: string;
}

const X_NAMES = ['X', 'x', 'data', 'inputs', 'input', 'images', 'features', 'X_train', 'x_train'];
const Y_NAMES = ['y', 'Y', 'labels', 'label', 'targets', 'target', 'y_train', 'Y_train', 'classes'];

type Kind = 'npz' | 'npy' | 'idx' | 'hdf5' | 'csv';

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function detect(path: string, bytes: Uint8Array): Kind {
  if (isZip(bytes)) return 'npz';
  if (isNpy(bytes)) return 'npy';
  if (HDF5_MAGIC.every((b, i) => bytes[i] === b)) return 'hdf5';
  if (isIdx(bytes)) return 'idx';
  if (isGzip(bytes)) {
    const inner = gunzip(bytes, path);
    if (isIdx(inner)) return 'idx';
    if (isNpy(inner)) return 'npy';
  }
  const lower = path.toLowerCase();
  if (/\.(csv|tsv|txt)(\.gz)?$/.test(lower)) return 'csv';
  if (/\.(h5|hdf5)$/.test(lower)) return 'hdf5';
  // text that parses as numbers?
  const head = new TextDecoder().decode(bytes.subarray(0, 256));
  if (/^[\s\w",;.\-+#]*$/.test(head)) return 'csv';
  throw new LosscapeError('input', `${path}: unknown data file format (expected NPY, NPZ, IDX, CSV or HDF5)`);
}

function readBytes(path: string): Uint8Array {
  if (!existsSync(path)) throw new LosscapeError('input', `${path}: no such file`);
  return readFileSync(path);
}

/** The labels file that goes with an inputs file (NPY / IDX pairs). */
export function siblingLabels(path: string): string | null {
  const dir = dirname(path);
  const base = basename(path);
  const swaps: [RegExp, string][] = [
    [/images/g, 'labels'],
    [/idx3/g, 'idx1'],
    [/Images/g, 'Labels'],
    [/inputs/g, 'targets'],
    [/inputs/g, 'labels'],
    [/data/g, 'labels'],
    [/features/g, 'labels'],
  ];
  const candidates = new Set<string>();
  let b = base;
  for (const [re, to] of swaps.slice(0, 3)) b = b.replace(re, to);
  if (b !== base) candidates.add(b);
  for (const [re, to] of swaps.slice(3)) if (re.test(base)) candidates.add(base.replace(re, to));
  // x.npy → y.npy, X_train.npy → y_train.npy, train_x.npy → train_y.npy
  const m = /^(.*?)(^|[_.-])([xX])([_.-].*|\.npy(\.gz)?)$/.exec(base);
  if (m) for (const y of ['y', 'Y']) candidates.add(`${m[1]}${m[2]}${y}${m[4]}`);
  for (const c of candidates) {
    const p = join(dir, c);
    if (c !== base && existsSync(p)) return p;
  }
  return null;
}

/** Inputs and labels found in a folder: x.npy/y.npy-like pairs, an NPZ, an HDF5 file or an MNIST IDX pair. */
function resolveFolder(dir: string): string {
  const files = readdirSync(dir).sort();
  const pick =
    files.find((f) => /^x\.npy$/i.test(f)) ??
    files.find((f) => /images.*idx3/.test(f) && f.startsWith('train')) ??
    files.find((f) => /images.*idx3/.test(f)) ??
    files.find((f) => /\.npz$/.test(f)) ??
    files.find((f) => /\.(h5|hdf5)$/.test(f)) ??
    files.find((f) => /\.csv$/.test(f));
  if (!pick) throw new LosscapeError('input', `${dir}: no data files found (expected x.npy + y.npy, an NPZ, an HDF5 file, MNIST IDX files or a CSV)`);
  return join(dir, pick);
}

function pickName(names: string[], wanted: string | undefined, defaults: string[], what: string, label: string): string {
  if (wanted !== undefined) {
    if (!names.includes(wanted)) throw new LosscapeError('input', `${label}: no ${what} "${wanted}" (it has: ${names.join(', ') || 'nothing'})`);
    return wanted;
  }
  const found = defaults.find((d) => names.includes(d));
  if (!found) {
    throw new LosscapeError(
      'input',
      `${label}: cannot tell which entry holds the ${what} (it has: ${names.join(', ') || 'nothing'}); name it (--${what === 'inputs' ? 'x' : 'y'})`,
    );
  }
  return found;
}

function fromH5(v: H5Data, shape: number[], dtype: string | undefined, label: string): NdArray {
  if (typeof v === 'string' || typeof v === 'number' || Array.isArray(v)) throw new LosscapeError('input', `${label} is not a numeric array`);
  let data: NdArray['data'];
  let t: ElemType;
  if (v instanceof BigInt64Array) {
    data = Float64Array.from(v, Number);
    t = 'int64';
  } else if (v instanceof Float32Array) {
    data = v;
    t = 'float32';
  } else if (v instanceof Float64Array) {
    data = v;
    t = 'float64';
  } else if (v instanceof Int32Array) {
    data = v;
    t = 'int32';
  } else if (v instanceof Uint8Array) {
    data = v;
    t = 'uint8';
  } else if (ArrayBuffer.isView(v)) {
    const any = v as unknown as ArrayLike<number> & { constructor: { name: string } };
    data = Float64Array.from(any);
    t = /Int/.test(any.constructor.name) ? 'int64' : 'float64';
    void dtype;
  } else throw new LosscapeError('input', `${label} is not a numeric array`);
  return { shape: shape.length ? shape : [data.length], dtype: t, data };
}

/** Read the raw inputs and labels arrays of a data file. */
export async function readDataArrays(path0: string, opts: DataFileOptions = {}): Promise<{ x: NdArray; y: NdArray; label: string; yLabel: string }> {
  const path = existsSync(path0) && statSync(path0).isDirectory() ? resolveFolder(path0) : path0;
  const bytes = readBytes(path);
  const kind = detect(path, bytes);
  const label = path;
  switch (kind) {
    case 'npz': {
      const files = readZip(bytes, label);
      const arrays = new Map<string, Uint8Array>();
      for (const [k, v] of files) arrays.set(k.replace(/\.npy$/, ''), v);
      const names = [...arrays.keys()];
      const xn = pickName(names, opts.x, X_NAMES, 'inputs', label);
      const yn = pickName(names, opts.y, Y_NAMES, 'labels', label);
      return {
        x: readNpy(arrays.get(xn)!, `${label}: ${xn}`),
        y: readNpy(arrays.get(yn)!, `${label}: ${yn}`),
        label: `${label}: ${xn}`,
        yLabel: `${label}: ${yn}`,
      };
    }
    case 'npy':
    case 'idx': {
      const lpath = opts.labels ?? siblingLabels(path);
      if (!lpath) {
        throw new LosscapeError(
          'input',
          `${path}: found no labels file next to it (e.g. ${kind === 'npy' ? 'y.npy' : '*-labels-idx1-ubyte'}); name it (--labels)`,
        );
      }
      const read = (p: string, b: Uint8Array): NdArray => {
        const raw = isGzip(b) ? gunzip(b, p) : b;
        return isNpy(raw) ? readNpy(raw, p) : readIdx(raw, p);
      };
      return { x: read(path, bytes), y: read(lpath, readBytes(lpath)), label: path, yLabel: lpath };
    }
    case 'hdf5': {
      const h = await readH5(path);
      const names = h.keys;
      const xn = pickName(names, opts.x, X_NAMES, 'inputs', label);
      const yn = pickName(names, opts.y, Y_NAMES, 'labels', label);
      const xd = h.get(xn)!;
      const yd = h.get(yn)!;
      return {
        x: fromH5(xd.value, xd.shape, undefined, `${label}: ${xn}`),
        y: fromH5(yd.value, yd.shape, undefined, `${label}: ${yn}`),
        label: `${label}: ${xn}`,
        yLabel: `${label}: ${yn}`,
      };
    }
    case 'csv': {
      const text = new TextDecoder().decode(isGzip(bytes) ? gunzip(bytes, label) : bytes);
      const t = parseCsv(text, label);
      let col = t.cols - 1;
      if (opts.y !== undefined) {
        const byName = t.header?.indexOf(opts.y) ?? -1;
        if (byName >= 0) col = byName;
        else if (/^\d+$/.test(opts.y) && Number(opts.y) < t.cols) col = Number(opts.y);
        else throw new LosscapeError('input', `${label}: no column "${opts.y}" (columns: ${t.header?.join(', ') ?? `0..${t.cols - 1}`})`);
      } else if (t.header) {
        const named = t.header.findIndex((h) => ['label', 'labels', 'y', 'target', 'class', 'Y'].includes(h));
        if (named >= 0) col = named;
      }
      if (t.cols < 2) throw new LosscapeError('input', `${label}: needs at least one input column and a label column`);
      const d = t.cols - 1;
      const x = new Float64Array(t.rows * d);
      const y = new Float64Array(t.rows);
      for (let r = 0; r < t.rows; r++) {
        let o = 0;
        for (let c = 0; c < t.cols; c++) {
          const v = t.values[r * t.cols + c]!;
          if (c === col) y[r] = v;
          else x[r * d + o++] = v;
        }
      }
      const colName = t.header?.[col] ?? `column ${col}`;
      return {
        x: { shape: [t.rows, d], dtype: 'float64', data: x },
        y: { shape: [t.rows], dtype: y.every(Number.isInteger) ? 'int64' : 'float64', data: y },
        label,
        yLabel: `${label}: ${colName}`,
      };
    }
  }
}

/** Load a data file as a Dataset (see DataFileOptions). */
export async function loadDataFile(path: string, opts: DataFileOptions = {}): Promise<Dataset> {
  const { x, y, label, yLabel } = await readDataArrays(path, opts);
  return toDataset(x, y, { ...opts, name: opts.name ?? basename(path) }, label, yLabel);
}

/** Build a Dataset from raw inputs / labels arrays. */
export function toDataset(x: NdArray, y: NdArray, opts: DataFileOptions, label: string, yLabel: string): Dataset {
  if (x.shape.length < 1 || x.shape[0] === 0) throw new LosscapeError('input', `${label}: no samples (shape [${x.shape}])`);
  const n = x.shape[0]!;
  const ny = y.shape[0] ?? 0;
  if (ny !== n) throw new LosscapeError('input', `${label} has ${n} samples (shape [${x.shape}]) but ${yLabel} has ${ny} labels (shape [${y.shape}])`);
  let inputShape = x.shape.length === 1 ? [1] : x.shape.slice(1);
  if (opts.inputShape) {
    if (size(opts.inputShape) !== size(inputShape)) {
      throw new LosscapeError(
        'input',
        `${label}: samples of shape [${inputShape}] (${size(inputShape)} values) cannot be viewed as [${opts.inputShape}] (${size(opts.inputShape)} values)`,
      );
    }
    inputShape = [...opts.inputShape];
  }
  const scale = opts.scale ?? (x.dtype === 'uint8' ? 1 / 255 : 1);
  const xs = new Float32Array(x.data.length);
  for (let i = 0; i < xs.length; i++) xs[i] = scale === 1 ? x.data[i]! : x.data[i]! * scale;

  const yIntegral = y.dtype !== 'float32' && y.dtype !== 'float64' && y.dtype !== 'float16' ? true : y.data.every((v) => Number.isInteger(v));
  const perLabel = y.shape.slice(1).reduce((a, b) => a * b, 1);
  // one-hot label rows → class indices
  let labels = y.data as ArrayLike<number>;
  let oneHot = false;
  if (perLabel > 1 && opts.task !== 'regression' && yIntegral) {
    oneHot = true;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let ones = 0;
      for (let c = 0; c < perLabel; c++) {
        const v = y.data[i * perLabel + c]!;
        if (v === 1) {
          ones++;
          idx[i] = c;
        } else if (v !== 0) ones = 99;
      }
      if (ones !== 1) {
        oneHot = false;
        break;
      }
    }
    if (oneHot) labels = idx;
  }
  const task = opts.task ?? (yIntegral && (perLabel === 1 || oneHot) ? 'classification' : 'regression');
  let ds: Dataset;
  if (task === 'classification') {
    if (perLabel !== 1 && !oneHot)
      throw new LosscapeError('input', `${yLabel}: labels of shape [${y.shape}]; classification needs one integer label per sample (or one-hot rows)`);
    const yi = new Int32Array(n);
    let max = -1;
    for (let i = 0; i < n; i++) {
      const v = labels[i]!;
      if (!Number.isInteger(v) || v < 0) throw new LosscapeError('input', `${yLabel}: label ${v} of sample ${i} is not a class index (a non-negative integer)`);
      yi[i] = v;
      if (v > max) max = v;
    }
    const classes = opts.classes ?? (oneHot ? perLabel : max + 1);
    if (max >= classes) throw new LosscapeError('input', `${yLabel}: label ${max} is outside 0..${classes - 1}`);
    ds = { name: opts.name ?? label, inputShape, x: xs, y: yi, task, outputDim: classes };
  } else {
    ds = { name: opts.name ?? label, inputShape, x: xs, y: Float32Array.from(y.data), task: 'regression', outputDim: perLabel };
  }
  validateDataset(ds);
  return ds;
}

/**
 * View the samples in the model's input shape: equal shapes pass, equal sizes are
 * reshaped (e.g. [28, 28] → [1, 28, 28] or [784]), anything else is one clear line.
 */
export function fitToModelInput(ds: Dataset, inputShape: number[], what = 'the model'): Dataset {
  if (ds.inputShape.join(',') === inputShape.join(',')) return ds;
  const have = sampleSize(ds);
  const want = size(inputShape);
  if (have !== want) {
    throw new LosscapeError(
      'input',
      `data "${ds.name}": samples of shape [${ds.inputShape}] (${have} values) do not fit ${what}'s input [${inputShape}] (${want} values)`,
    );
  }
  return withInputShape(ds, inputShape);
}
