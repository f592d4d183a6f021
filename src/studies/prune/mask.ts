/**
 * Magnitude pruning and the directions of pruned networks.
 *
 * Eligible weights: the weight tensors with more than one dimension (dense
 * matrices, conv kernels); biases, batch-norm scale/shift and running
 * statistics are never pruned. At sparsity s %, exactly round(s/100 · E) of the
 * E eligible weights are zeroed — the smallest |w| (ties broken by position):
 *  - global: over all eligible weights together;
 *  - layer: the same share in every tensor, the counts allotted by largest
 *    remainder so that the total is still exactly round(s/100 · E).
 * Optionally fine-tuned for N steps with the masks fixed. The landscape of each
 * pruned network uses directions restricted to the surviving weights: the
 * seeded Gaussian is zeroed where the mask is 0, then normalized (filter-wise
 * by default) to the pruned weights.
 */
import { LosscapeError } from '../../core/errors.js';
import type { ParamEntry, ParamLayout } from '../../core/layout.js';
import { cosine, gaussianDirection, type Normalization, normalizeDirection, orthogonalize, type Plane } from '../../directions/directions.js';

export type PruneScope = 'global' | 'layer';

/** The tensors magnitude pruning may zero: weights with more than one dimension. */
export function prunableEntries(layout: ParamLayout): ParamEntry[] {
  return layout.entries.filter((e) => e.role === 'weight' && e.shape.length > 1);
}

export interface PruneMask {
  /** 1 = keep, 0 = pruned, over the flat layout (non-eligible entries are 1). */
  mask: Uint8Array;
  eligible: number;
  pruned: number;
  perTensor: { name: string; size: number; pruned: number }[];
}

/** Magnitude mask at `sparsity` percent of the eligible weights. */
export function magnitudeMask(theta: Float32Array, layout: ParamLayout, sparsity: number, scope: PruneScope = 'global'): PruneMask {
  if (!(sparsity >= 0 && sparsity <= 100)) throw new LosscapeError('input', `sparsity ${sparsity} must be a percentage between 0 and 100`);
  const entries = prunableEntries(layout);
  if (!entries.length) throw new LosscapeError('input', 'the model has no prunable weight tensors (weights with more than one dimension)');
  const E = entries.reduce((a, e) => a + e.size, 0);
  const target = Math.round((sparsity / 100) * E);
  const mask = new Uint8Array(layout.size).fill(1);
  const byMagnitude = (idx: number[]) => idx.sort((a, b) => Math.abs(theta[a]!) - Math.abs(theta[b]!) || a - b);
  if (scope === 'global') {
    const idx: number[] = [];
    for (const e of entries) for (let i = e.offset; i < e.offset + e.size; i++) idx.push(i);
    for (const i of byMagnitude(idx).slice(0, target)) mask[i] = 0;
  } else {
    const k = layerCounts(entries, target, E);
    entries.forEach((e, t) => {
      const idx = Array.from({ length: e.size }, (_, j) => e.offset + j);
      for (const i of byMagnitude(idx).slice(0, k[t])) mask[i] = 0;
    });
  }
  const perTensor = entries.map((e) => {
    let z = 0;
    for (let i = e.offset; i < e.offset + e.size; i++) if (!mask[i]) z++;
    return { name: e.name, size: e.size, pruned: z };
  });
  return { mask, eligible: E, pruned: target, perTensor };
}

/** Weights to prune per tensor, the same share of each: largest remainder, Σ k_t = target, |k_t − s·n_t| < 1. */
function layerCounts(entries: ParamEntry[], target: number, E: number): number[] {
  const quota = entries.map((e) => (target * e.size) / E);
  const k = quota.map(Math.floor);
  let left = target - k.reduce((a, b) => a + b, 0);
  const order = quota.map((q, i) => [q - Math.floor(q), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left === 0) break;
    if (k[i]! < entries[i]!.size) {
      k[i] = k[i]! + 1;
      left--;
    }
  }
  return k;
}

export function applyMask(theta: Float32Array, mask: Uint8Array): Float32Array {
  return Float32Array.from(theta, (v, i) => (mask[i] ? v : 0));
}

/** Number of exact zeros among the eligible weights. */
export function zeroCount(theta: Float32Array, layout: ParamLayout): number {
  let z = 0;
  for (const e of prunableEntries(layout)) for (let i = e.offset; i < e.offset + e.size; i++) if (theta[i] === 0) z++;
  return z;
}

export interface MaskedPlaneOptions {
  seed: number;
  norm?: Normalization;
  ignore?: 'biasbn' | 'none';
  include?: 'weights' | 'states';
  orthogonal?: boolean;
}

/** A seeded direction restricted to the surviving weights: Gaussian ⊙ mask, then normalized to θ. */
export function maskedDirection(theta: Float32Array, layout: ParamLayout, mask: Uint8Array, o: MaskedPlaneOptions): Float32Array {
  const g = gaussianDirection(layout, o.seed);
  for (let i = 0; i < g.length; i++) if (!mask[i]) g[i] = 0;
  return normalizeDirection(g, theta, layout, o);
}

export function maskedPlane(theta: Float32Array, layout: ParamLayout, mask: Uint8Array, o: MaskedPlaneOptions): Plane {
  const dx = maskedDirection(theta, layout, mask, o);
  let dy = maskedDirection(theta, layout, mask, { ...o, seed: o.seed + 1 });
  if (o.orthogonal) dy = orthogonalize(dx, dy);
  return { dx, dy, cosine: cosine(dx, dy) };
}

export function sparsityName(s: number): string {
  return `sparsity-${String(Number(s.toFixed(2)))
    .replace('.', 'p')
    .padStart(3, '0')}`;
}
