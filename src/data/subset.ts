/**
 * Fixed, seeded, stratified subsets: the evaluation subset every landscape point
 * uses, and train/test splits. Stratified = each class keeps its share (largest
 * remainder rounding), so a 5 % subset of MNIST has ≈ 5 % of every digit.
 */
import { Rng } from '../core/rng.js';
import { count, type Dataset } from './dataset.js';

export interface SubsetSpec {
  /** A count (integer ≥ 1), a fraction in (0, 1), or 'all'. Default 0.05 (5 %). */
  size?: number | 'all';
  seed?: number;
}

/** Resolve a count-or-fraction against n. */
export function resolveSize(size: number | 'all', n: number): number {
  if (size === 'all') return n;
  if (!(size > 0)) throw new Error(`subset size must be positive, got ${size}`);
  const k = size < 1 ? Math.max(1, Math.round(size * n)) : size;
  if (!Number.isInteger(k)) throw new Error(`subset size ${size} is neither a count nor a fraction in (0, 1)`);
  if (k > n) throw new Error(`subset size ${k} exceeds the ${n} available samples`);
  return k;
}

/**
 * Indices (sorted ascending) of a stratified random subset of `k` samples.
 * Regression data is sampled uniformly.
 */
export function stratifiedIndices(ds: Dataset, k: number, seed: number, stream: 'subset' | 'split' = 'subset'): Int32Array {
  const n = count(ds);
  const rng = new Rng(seed, stream);
  if (ds.task !== 'classification') {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    rng.shuffle(all);
    return all.slice(0, k).sort();
  }
  const byClass: number[][] = Array.from({ length: ds.outputDim }, () => []);
  for (let i = 0; i < n; i++) byClass[ds.y[i]!]!.push(i);
  // Largest-remainder allocation of k over the classes.
  const quotas = byClass.map((c) => (c.length * k) / n);
  const take = quotas.map(Math.floor);
  let left = k - take.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, c) => [q - Math.floor(q), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of order) {
    if (left === 0) break;
    if (take[c]! < byClass[c]!.length) {
      take[c]!++;
      left--;
    }
  }
  const out: number[] = [];
  byClass.forEach((members, c) => {
    rng.shuffle(members);
    out.push(...members.slice(0, take[c]));
  });
  return Int32Array.from(out).sort();
}

export function subsetIndices(ds: Dataset, spec: SubsetSpec = {}): Int32Array {
  const k = resolveSize(spec.size ?? 0.05, count(ds));
  return stratifiedIndices(ds, k, spec.seed ?? 0);
}

/** Stratified split into two disjoint index sets: [rest, held-out]. */
export function splitIndices(ds: Dataset, heldOut: number, seed: number): [Int32Array, Int32Array] {
  const n = count(ds);
  const test = stratifiedIndices(ds, resolveSize(heldOut, n), seed, 'split');
  const inTest = new Uint8Array(n);
  for (const i of test) inTest[i] = 1;
  const train: number[] = [];
  for (let i = 0; i < n; i++) if (!inTest[i]) train.push(i);
  return [Int32Array.from(train), test];
}
