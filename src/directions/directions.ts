/**
 * Random directions for loss-landscape plots (Li et al. 2018, arXiv:1712.09913, §4).
 *
 * A direction is a flat vector in the model's layout: one seeded standard-normal
 * tensor per parameter tensor, then normalized to the weights at θ:
 *  - filter: each slice along the first axis (a conv output filter, a dense output
 *    row in PyTorch's [out, in] layout) is scaled to the norm of the same slice
 *    of θ: d_i ← d_i · ‖θ_i‖ / (‖d_i‖ + 1e-10)   (Li et al. eq. in §4)
 *  - layer: the whole tensor to ‖θ‖;  weight: d ⊙ θ;  none: raw Gaussian.
 * ignore = 'biasbn' zeroes tensors with ≤ 1 dimension (biases, BN scale/shift,
 * running statistics). include = 'weights' zeroes running statistics;
 * 'states' perturbs them too.
 */
import { isState, type ParamEntry, type ParamLayout } from '../core/layout.js';
import { Rng } from '../core/rng.js';

export type Normalization = 'filter' | 'layer' | 'weight' | 'none';
export const NORMALIZATIONS: readonly Normalization[] = ['filter', 'layer', 'weight', 'none'];

export interface DirectionOptions {
  seed: number;
  norm?: Normalization;
  ignore?: 'biasbn' | 'none';
  include?: 'weights' | 'states';
}

/** Entries a direction may be non-zero on. */
export function directionEntries(layout: ParamLayout, opts: Pick<DirectionOptions, 'ignore' | 'include'>): ParamEntry[] {
  const ignore = opts.ignore ?? 'biasbn';
  const include = opts.include ?? 'weights';
  return layout.entries.filter((e) => !(ignore === 'biasbn' && e.shape.length <= 1) && !(include === 'weights' && isState(e.role)));
}

/**
 * The raw seeded Gaussian for a layout: tensor k draws from its own stream
 * ('directions', k) of the seed, so a tensor's values do not depend on the other tensors.
 */
export function gaussianDirection(layout: ParamLayout, seed: number): Float32Array {
  const d = new Float32Array(layout.size);
  layout.entries.forEach((e, k) => {
    new Rng(seed, 'directions', k).fillNormal(d.subarray(e.offset, e.offset + e.size));
  });
  return d;
}

/** Normalize `d` in place to the weights θ (see the module comment). */
export function normalizeDirection(d: Float32Array, theta: Float32Array, layout: ParamLayout, opts: Omit<DirectionOptions, 'seed'> = {}): Float32Array {
  const norm = opts.norm ?? 'filter';
  const keep = new Set(directionEntries(layout, opts));
  for (const e of layout.entries) {
    const de = d.subarray(e.offset, e.offset + e.size);
    const we = theta.subarray(e.offset, e.offset + e.size);
    if (!keep.has(e)) {
      de.fill(0);
      continue;
    }
    switch (norm) {
      case 'none':
        break;
      case 'weight':
        for (let i = 0; i < de.length; i++) de[i] = de[i]! * we[i]!;
        break;
      case 'layer':
        rescale(de, we);
        break;
      case 'filter': {
        // 1-D tensors (only present with ignore = 'none') are one filter.
        const rows = e.shape.length <= 1 ? 1 : e.shape[0]!;
        const len = e.size / rows;
        for (let r = 0; r < rows; r++) {
          rescale(de.subarray(r * len, (r + 1) * len), we.subarray(r * len, (r + 1) * len));
        }
        break;
      }
    }
  }
  return d;
}

function rescale(d: Float32Array, w: Float32Array): void {
  let dn = 0;
  let wn = 0;
  for (let i = 0; i < d.length; i++) {
    dn += d[i]! * d[i]!;
    wn += w[i]! * w[i]!;
  }
  const s = Math.sqrt(wn) / (Math.sqrt(dn) + 1e-10);
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * s;
}

/** A seeded, normalized random direction at θ. */
export function randomDirection(theta: Float32Array, layout: ParamLayout, opts: DirectionOptions): Float32Array {
  return normalizeDirection(gaussianDirection(layout, opts.seed), theta, layout, opts);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm2(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm2(a);
  const nb = norm2(b);
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
}

/**
 * Make `d2` orthogonal to `d1` (Gram–Schmidt), then give it back its original
 * norm, so filter-normalized scales are roughly kept.
 */
export function orthogonalize(d1: Float32Array, d2: Float32Array): Float32Array {
  const n2 = norm2(d2);
  const c = dot(d1, d2) / dot(d1, d1);
  const out = new Float32Array(d2.length);
  for (let i = 0; i < d2.length; i++) out[i] = d2[i]! - c * d1[i]!;
  const s = n2 / (norm2(out) || 1);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * s;
  return out;
}

export interface PlaneOptions extends Omit<DirectionOptions, 'seed'> {
  /** Seed of the x direction; the y direction uses seed + 1. */
  seed: number;
  orthogonal?: boolean;
}

export interface Plane {
  dx: Float32Array;
  dy: Float32Array;
  cosine: number;
}

/** Two seeded directions at θ (y uses seed + 1), optionally Gram–Schmidt'ed. */
export function randomPlane(theta: Float32Array, layout: ParamLayout, opts: PlaneOptions): Plane {
  const dx = randomDirection(theta, layout, { ...opts, seed: opts.seed });
  let dy = randomDirection(theta, layout, { ...opts, seed: opts.seed + 1 });
  if (opts.orthogonal) dy = orthogonalize(dx, dy);
  return { dx, dy, cosine: cosine(dx, dy) };
}
