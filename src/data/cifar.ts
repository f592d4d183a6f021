/**
 * CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from the batches of their standard distributions, in
 * a folder the user names (nothing is downloaded):
 *   binary:  cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin — records of 1 label byte +
 *            3072 pixel bytes; cifar-100-binary/{train,test}.bin — coarse and fine label bytes +
 *            3072 pixel bytes;
 *   python:  cifar-10-batches-py/{data_batch_1..5,test_batch}, cifar-100-python/{train,test} —
 *            pickled dicts with `data` (uint8 [n, 3072]) and `labels` / `fine_labels`.
 * Pixels are planar (1024 red, 1024 green, 1024 blue, rows top to bottom), so a sample is
 * [3, 32, 32] in NCHW order, scaled to [0, 1].
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { type PickleDict, type PickleValue, readPickle } from '../io/pickle.js';
import type { Dataset, TrainTest } from './dataset.js';

export type CifarKind = 'cifar10' | 'cifar100';
const PIXELS = 3 * 32 * 32;

interface Layout {
  format: 'binary' | 'python';
  dir: string;
  train: string[];
  test: string;
}

function layoutsOf(kind: CifarKind, dir: string): Layout[] {
  const c10 = ['1', '2', '3', '4', '5'];
  if (kind === 'cifar10') {
    return [
      ...[dir, join(dir, 'cifar-10-batches-bin')].map((d) => ({
        format: 'binary' as const,
        dir: d,
        train: c10.map((i) => `data_batch_${i}.bin`),
        test: 'test_batch.bin',
      })),
      ...[dir, join(dir, 'cifar-10-batches-py')].map((d) => ({
        format: 'python' as const,
        dir: d,
        train: c10.map((i) => `data_batch_${i}`),
        test: 'test_batch',
      })),
    ];
  }
  return [
    ...[dir, join(dir, 'cifar-100-binary')].map((d) => ({ format: 'binary' as const, dir: d, train: ['train.bin'], test: 'test.bin' })),
    ...[dir, join(dir, 'cifar-100-python')].map((d) => ({ format: 'python' as const, dir: d, train: ['train'], test: 'test' })),
  ];
}

/** Records of a binary batch: `labelBytes` label bytes (the last one is used) + 3072 pixels. */
function readBinary(path: string, labelBytes: number): { x: Uint8Array; y: Int32Array } {
  const bytes = readFileSync(path);
  const rec = labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw new LosscapeError('input', `${path}: ${bytes.length} bytes is not a whole number of ${rec}-byte CIFAR records`);
  }
  const n = bytes.length / rec;
  const x = new Uint8Array(n * PIXELS);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = bytes[i * rec + labelBytes - 1]!;
    x.set(bytes.subarray(i * rec + labelBytes, (i + 1) * rec), i * PIXELS);
  }
  return { x, y };
}

function readPython(path: string, labelKey: string): { x: Uint8Array; y: Int32Array } {
  let d: PickleValue;
  try {
    d = readPickle(readFileSync(path), path);
  } catch (e) {
    throw new LosscapeError('input', (e as Error).message);
  }
  if (!(d instanceof Map)) throw new LosscapeError('input', `${path}: not a CIFAR batch (expected a pickled dict)`);
  const data = (d as PickleDict).get('data') as { shape?: number[]; data?: Uint8Array } | undefined;
  const labels = (d as PickleDict).get(labelKey);
  if (!data?.data || data.shape?.[1] !== PIXELS || !Array.isArray(labels)) {
    throw new LosscapeError('input', `${path}: not a CIFAR batch (expected "data" of shape [n, ${PIXELS}] and "${labelKey}")`);
  }
  const n = data.shape[0]!;
  if (labels.length !== n) throw new LosscapeError('input', `${path}: ${n} images but ${labels.length} labels`);
  return { x: data.data, y: Int32Array.from(labels as number[]) };
}

function toDataset(parts: { x: Uint8Array; y: Int32Array }[], name: string, classes: number): Dataset {
  const n = parts.reduce((a, q) => a + q.y.length, 0);
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let o = 0;
  for (const q of parts) {
    for (let i = 0; i < q.x.length; i++) x[o * PIXELS + i] = q.x[i]! / 255;
    y.set(q.y, o);
    o += q.y.length;
  }
  for (let i = 0; i < n; i++) {
    if (y[i]! >= classes) throw new LosscapeError('input', `${name}: label ${y[i]} of image ${i} is outside 0..${classes - 1}`);
  }
  return { name, inputShape: [3, 32, 32], x, y, task: 'classification', outputDim: classes };
}

/** The training (all five batches for CIFAR-10) and test splits of CIFAR in `dir`, binary or Python format. */
export function loadCifar(kind: CifarKind, dir: string): TrainTest {
  const layout = layoutsOf(kind, dir).find((l) => [...l.train, l.test].every((f) => existsSync(join(l.dir, f))));
  if (!layout) {
    const expect = kind === 'cifar10' ? 'data_batch_1..5 and test_batch (.bin or Python batches)' : 'train and test (.bin or Python batches)';
    throw new LosscapeError('input', `${dir}: no ${kind === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} batches found (expected ${expect})`);
  }
  const classes = kind === 'cifar10' ? 10 : 100;
  const read = (f: string) =>
    layout.format === 'binary'
      ? readBinary(join(layout.dir, f), kind === 'cifar10' ? 1 : 2)
      : readPython(join(layout.dir, f), kind === 'cifar10' ? 'labels' : 'fine_labels');
  return {
    train: toDataset(layout.train.map(read), `${kind}-train`, classes),
    test: toDataset([read(layout.test)], `${kind}-test`, classes),
  };
}
