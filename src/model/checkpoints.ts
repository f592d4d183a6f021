/**
 * Checkpoint sequences trained elsewhere: a folder of ONNX files (one per
 * checkpoint, same architecture), or one ONNX file for the architecture plus one
 * weight file per checkpoint (safetensors, PyTorch-state-dict-like HDF5 with
 * datasets named like the parameters, or NPZ). Order: a manifest listing them,
 * else natural name order (ckpt2 before ckpt10). Every mismatch (missing
 * tensor, wrong shape, other architecture) is one line naming the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ParamLayout } from '../core/layout.js';
import { type H5Read, readH5 } from '../io/h5.js';
import { isFloat, type NdArray } from '../io/ndarray.js';
import { readNpy } from '../io/npy.js';
import { decodeTensor, dtypeName, FLOAT_TYPES, parseModel } from '../io/onnx-proto.js';
import { readSafetensors } from '../io/safetensors.js';
import { readZip } from '../io/zip.js';
import type { Model } from './model.js';
import { type LoadOnnxOptions, loadOnnxModel, type OnnxImport } from './onnx/load.js';

export interface CheckpointOptions {
  /** Weight files, or a folder of them, one per checkpoint (with an ONNX file as the source). */
  weights?: string | string[];
  /** A file listing the checkpoints in order (JSON or one name per line); default: a checkpoints.json/.txt next to them, else natural order. */
  manifest?: string;
  onnx?: LoadOnnxOptions;
}

export interface LoadedCheckpoints {
  layout: ParamLayout;
  model: Model;
  /** θ of every checkpoint, in order, in the layout. */
  thetas: Float32Array[];
  /** One name per checkpoint (file name without extension, or the HDF5 group). */
  names: string[];
  /** Steps / epochs when the manifest gives them, else null. */
  steps: (number | null)[];
  epochs: (number | null)[];
  /** The ONNX file that defines the architecture, and its import. */
  architecture: string;
  onnx: OnnxImport;
  /** "onnx", "safetensors", "hdf5" or "npz". */
  format: string;
}

const WEIGHT_EXT = ['.safetensors', '.h5', '.hdf5', '.npz'];

/** Natural order: digit runs compare as numbers ("ckpt2" < "ckpt10"). */
export function naturalCompare(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

interface ManifestEntry {
  file: string;
  step: number | null;
  epoch: number | null;
}

/** Read a checkpoint manifest: JSON (a list of names or {file, step, epoch}, or {checkpoints: [...]}) or one name per line. */
export function readCheckpointManifest(path: string): ManifestEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${path}: cannot read the checkpoint manifest`);
  }
  const trimmed = text.trim();
  let list: unknown[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let j: unknown;
    try {
      j = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    const l = Array.isArray(j) ? j : (j as { checkpoints?: unknown }).checkpoints;
    if (!Array.isArray(l)) throw new Error(`${path}: expected a list of checkpoint files (or {"checkpoints": [...]})`);
    list = l;
  } else {
    list = trimmed
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  }
  if (list.length === 0) throw new Error(`${path}: lists no checkpoints`);
  return list.map((e, i) => {
    if (typeof e === 'string') return { file: e, step: null, epoch: null };
    const o = e as { file?: unknown; path?: unknown; step?: unknown; epoch?: unknown };
    const file = o.file ?? o.path;
    if (typeof file !== 'string') throw new Error(`${path}: entry ${i} has no "file"`);
    const num = (v: unknown, what: string) => {
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${path}: entry ${i}: "${what}" must be a number`);
      return v;
    };
    return { file, step: num(o.step, 'step'), epoch: num(o.epoch, 'epoch') };
  });
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function autoManifest(dir: string): string | undefined {
  for (const n of ['checkpoints.json', 'checkpoints.txt']) if (existsSync(join(dir, n))) return join(dir, n);
  return undefined;
}

/** Files in `dir` with one of the extensions, ordered by the manifest or naturally. */
function orderedFiles(dir: string, exts: string[], manifest: string | undefined, what: string): ManifestEntry[] {
  const m = manifest ?? autoManifest(dir);
  if (m) {
    const base = dirname(resolve(m));
    return readCheckpointManifest(m).map((e) => {
      const p = [join(base, e.file), join(dir, e.file)].find((c) => existsSync(c));
      if (!p) throw new Error(`${m}: lists "${e.file}", which does not exist`);
      return { ...e, file: p };
    });
  }
  const files = readdirSync(dir)
    .filter((f) => exts.includes(extname(f).toLowerCase()))
    .sort(naturalCompare);
  if (files.length === 0) throw new Error(`${dir}: no ${what} files (${exts.join(', ')})`);
  return files.map((f) => ({ file: join(dir, f), step: null, epoch: null }));
}

function stem(p: string): string {
  return basename(p, extname(p));
}

function opSignature(bytes: Uint8Array, label: string): string[] {
  return parseModel(bytes, label).graph!.node.map((n) => n.opType);
}

/** θ (layout order) from a map of named tensors; `label` names the file. */
export function thetaFromTensors(layout: ParamLayout, get: (name: string) => NdArray | undefined, label: string, available: () => string[]): Float32Array {
  const theta = new Float32Array(layout.size);
  const missing: string[] = [];
  for (const e of layout.entries) {
    const t = get(e.name) ?? get(`module.${e.name}`) ?? get(e.name.replace(/\./g, '/'));
    if (!t) {
      missing.push(e.name);
      continue;
    }
    if (!isFloat(t.dtype)) throw new Error(`${label}: tensor "${e.name}" is ${t.dtype}, not a float tensor`);
    if (t.shape.join(',') !== e.shape.join(',')) {
      throw new Error(`${label}: tensor "${e.name}" has shape [${t.shape}], the model's parameter is [${e.shape}]`);
    }
    theta.set(t.data, e.offset);
  }
  if (missing.length) {
    const have = available();
    throw new Error(
      `${label}: missing parameter${missing.length > 1 ? 's' : ''} ${missing
        .slice(0, 4)
        .map((n) => `"${n}"`)
        .join(
          ', ',
        )}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''} (the file has ${have.length} tensors${have.length ? `: ${have.slice(0, 4).join(', ')}${have.length > 4 ? ', …' : ''}` : ''})`,
    );
  }
  return theta;
}

function h5Array(h: H5Read, name: string): NdArray | undefined {
  const d = h.get(name);
  if (!d) return undefined;
  const v = d.value;
  if (v instanceof Float32Array) return { shape: d.shape, dtype: 'float32', data: v };
  if (v instanceof Float64Array) return { shape: d.shape, dtype: 'float64', data: v };
  if (typeof v === 'number') return { shape: d.shape, dtype: 'float64', data: new Float64Array([v]) };
  if (ArrayBuffer.isView(v)) return { shape: d.shape, dtype: 'int64', data: Float64Array.from(v as unknown as ArrayLike<number>, Number) };
  return undefined;
}

/** The checkpoints of one weight file (HDF5 files may hold one checkpoint per top-level group). */
async function weightFileThetas(path: string, layout: ParamLayout): Promise<{ names: string[]; thetas: Float32Array[]; format: string }> {
  const ext = extname(path).toLowerCase();
  if (ext === '.pt' || ext === '.pth' || ext === '.ckpt' || ext === '.bin') {
    throw new Error(`${path}: PyTorch pickles cannot be read here; save the state_dict with safetensors (safetensors.torch.save_file) or export ONNX`);
  }
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const bytes = readFileSync(path);
  if (ext === '.safetensors') {
    const f = readSafetensors(bytes, path);
    return {
      names: [stem(path)],
      thetas: [
        thetaFromTensors(
          layout,
          (n) => f.tensors.get(n),
          path,
          () => f.order,
        ),
      ],
      format: 'safetensors',
    };
  }
  if (ext === '.npz') {
    const files = readZip(bytes, path);
    const arrays = new Map<string, Uint8Array>();
    for (const [k, v] of files) arrays.set(k.replace(/\.npy$/, ''), v);
    const get = (n: string) => {
      const b = arrays.get(n);
      return b ? readNpy(b, `${path}: ${n}`) : undefined;
    };
    return { names: [stem(path)], thetas: [thetaFromTensors(layout, get, path, () => [...arrays.keys()])], format: 'npz' };
  }
  if (ext === '.h5' || ext === '.hdf5') {
    const h = await readH5(path);
    const first = layout.entries[0]!.name;
    const at = (prefix: string) => (n: string) => h5Array(h, prefix + n) ?? h5Array(h, prefix + n.replace(/\./g, '/'));
    const hasRoot = at('')(first) !== undefined || at('')(`module.${first}`) !== undefined;
    if (hasRoot) return { names: [stem(path)], thetas: [thetaFromTensors(layout, at(''), path, () => h.keys)], format: 'hdf5' };
    const groups = h
      .children('')
      .filter((g) => at(`${g}/`)(first) !== undefined || at(`${g}/`)(`module.${first}`) !== undefined)
      .sort(naturalCompare);
    if (groups.length === 0) {
      return { names: [stem(path)], thetas: [thetaFromTensors(layout, at(''), path, () => h.keys)], format: 'hdf5' };
    }
    return {
      names: groups,
      thetas: groups.map((g) => thetaFromTensors(layout, at(`${g}/`), `${path}: ${g}`, () => h.keys.filter((k) => k.startsWith(`${g}/`)))),
      format: 'hdf5',
    };
  }
  throw new Error(`${path}: unknown weight file type "${ext}" (expected ${WEIGHT_EXT.join(', ')})`);
}

/**
 * Load a checkpoint sequence.
 * - `source` a folder of ONNX files: one checkpoint per file (same parameter names and shapes, same ops).
 * - `source` an ONNX file with `weights`: the architecture, one checkpoint per weight file (or HDF5 group).
 * - `source` an ONNX file alone: one checkpoint (its own weights).
 */
export async function loadCheckpoints(source: string, opts: CheckpointOptions = {}): Promise<LoadedCheckpoints> {
  if (!existsSync(source)) throw new Error(`${source}: no such file or folder`);
  if (isDir(source)) {
    if (opts.weights) throw new Error(`${source}: give either a folder of ONNX files or one ONNX file with --weights, not a folder with --weights`);
    const entries = orderedFiles(source, ['.onnx'], opts.manifest, 'ONNX');
    const first = entries[0]!.file;
    const onnx = await loadOnnxModel(first, opts.onnx);
    const layout = onnx.model.layout;
    const firstBytes = readFileSync(first);
    const sig = opSignature(firstBytes, first);
    const thetas: Float32Array[] = [onnx.theta];
    for (const e of entries.slice(1)) {
      const bytes = readFileSync(e.file);
      const m = parseModel(bytes, e.file);
      const ops = m.graph!.node.map((n) => n.opType);
      const k = ops.findIndex((op, i) => op !== sig[i]);
      if (ops.length !== sig.length || k >= 0) {
        const at = k >= 0 ? k : Math.min(ops.length, sig.length);
        throw new Error(`${e.file}: not the same architecture as ${basename(first)} (node ${at} is ${ops[at] ?? 'missing'}, expected ${sig[at] ?? 'nothing'})`);
      }
      const inits = new Map(m.graph!.initializer.map((t) => [t.name, t]));
      const theta = thetaFromTensors(
        layout,
        (n) => {
          const t = inits.get(n);
          if (!t) return undefined;
          if (!FLOAT_TYPES.has(t.dataType)) throw new Error(`${e.file}: initializer "${n}" is ${dtypeName(t.dataType)}, not a float tensor`);
          const d = decodeTensor(t, e.file, dirname(e.file));
          return { shape: d.shape, dtype: 'float32', data: d.data };
        },
        e.file,
        () => [...inits.keys()],
      );
      thetas.push(theta);
    }
    return {
      layout,
      model: onnx.model,
      thetas,
      names: entries.map((e) => stem(e.file)),
      steps: entries.map((e) => e.step),
      epochs: entries.map((e) => e.epoch),
      architecture: first,
      onnx,
      format: 'onnx',
    };
  }

  const onnx = await loadOnnxModel(source, opts.onnx);
  const layout = onnx.model.layout;
  if (!opts.weights || (Array.isArray(opts.weights) && opts.weights.length === 0)) {
    return {
      layout,
      model: onnx.model,
      thetas: [onnx.theta],
      names: [stem(source)],
      steps: [null],
      epochs: [null],
      architecture: source,
      onnx,
      format: 'onnx',
    };
  }
  let entries: ManifestEntry[];
  const w = Array.isArray(opts.weights) ? opts.weights : [opts.weights];
  if (w.length === 1 && isDir(w[0]!)) entries = orderedFiles(w[0]!, WEIGHT_EXT, opts.manifest, 'weight');
  else if (opts.manifest) {
    const listed = readCheckpointManifest(opts.manifest);
    const base = dirname(resolve(opts.manifest));
    entries = listed.map((e) => {
      const p = join(base, e.file);
      if (!existsSync(p)) throw new Error(`${opts.manifest}: lists "${e.file}", which does not exist`);
      return { ...e, file: p };
    });
  } else entries = w.map((file) => ({ file, step: null, epoch: null }));
  const names: string[] = [];
  const thetas: Float32Array[] = [];
  const steps: (number | null)[] = [];
  const epochs: (number | null)[] = [];
  const formats = new Set<string>();
  for (const e of entries) {
    const r = await weightFileThetas(e.file, layout);
    formats.add(r.format);
    r.names.forEach((n, i) => {
      names.push(n);
      thetas.push(r.thetas[i]!);
      steps.push(r.names.length === 1 ? e.step : null);
      epochs.push(r.names.length === 1 ? e.epoch : null);
    });
  }
  return { layout, model: onnx.model, thetas, names, steps, epochs, architecture: source, onnx, format: [...formats].join('+') };
}
