/**
 * Strided windows in compiled graphs (compile/passes/pool.ts): the windows a convolution or a
 * max pooling reads (strided slices of one tensor) come from one phase split of it, and the
 * backward's sum of windows zero-padded back into place is summed phase by phase and interleaved
 * once. Both are checked against jax-js's own values, and the graphs for what the passes leave.
 */
import { type Array as JArray, valueAndGrad } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { windowSlices } from '../../src/model/conv.js';
import { compareWithJit, randn, rng } from './helpers.js';

/** Σ over the k×k windows (strides s, t) of x [2, 3, H, H] of window · w[k], and its gradient in x. */
function windowed(k: number, s: number, H: number, t = s) {
  const out = Math.floor((H - k) / s) + 1;
  const outW = Math.floor((H - k) / t) + 1;
  const f = (x: JArray, w: JArray) => {
    const wins = windowSlices(x, [k, k], [s, t], [1, 1], [out, outW]);
    const terms = wins.map((win, i) => win.mul(w.ref.slice(i)).sum());
    w.dispose();
    return terms.reduce((a, b) => a.add(b));
  };
  return { f: (x: JArray, w: JArray) => valueAndGrad(f)(x, w), out, outW };
}

describe('strided windows by phase', () => {
  for (const c of [
    { name: '3×3 stride 2 (overlapping, odd size: the phases cropped)', k: 3, s: 2, t: 2, H: 9 },
    { name: '3×3 stride 2 on an even size (a partial last phase row)', k: 3, s: 2, t: 2, H: 8 },
    { name: '2×2 stride 2 (non-overlapping)', k: 2, s: 2, t: 2, H: 8 },
    { name: '3×3 stride 3', k: 3, s: 3, t: 3, H: 10 },
    { name: '3×3 strides 2 × 1 (not square: Transposes)', k: 3, s: 2, t: 1, H: 9 },
  ]) {
    it(`${c.name}: jax-js's value and gradient; one phase split, one interleave, no strided Slice`, async () => {
      const { f, out, outW } = windowed(c.k, c.s, c.H, c.t);
      const x = randn(rng(c.H + c.k), [2, 3, c.H, c.H]);
      const w = randn(rng(7), [c.k * c.k, out, outW]);
      const r = await compareWithJit(f, [x, w]);
      // the value (a long float32 sum, reassociated by onnxruntime) to rounding, the gradient exactly
      expect(r.flatError).toBeLessThan(1e-6);
      expect(r.errors[1]).toBeLessThan(1e-6);
      const listing = r.summary.listing;
      const ops = r.summary.ops;
      if (c.s === c.t) {
        // square strides on [N, C, H, W]: SpaceToDepth splits the phases, DepthToSpace interleaves
        expect([ops.SpaceToDepth, ops.DepthToSpace, ops.Transpose ?? 0]).toEqual([1, 1, 0]);
      } else {
        // [N, C, Hc, s, Wc, t] → [N, C, s, t, Hc, Wc] and back
        expect(listing.filter((l) => l.startsWith('Transpose(') && l.includes('perm=[0,1,3,5,2,4]'))).toHaveLength(1);
        expect(listing.filter((l) => l.startsWith('Transpose(') && l.includes('perm=[0,1,4,2,5,3]'))).toHaveLength(1);
      }
      // every Slice is unit-step (no steps input), every Pad is one window's shift at the pooled size
      expect(listing.filter((l) => l.startsWith('Slice(') && l.split(',').length > 4)).toEqual([]);
      expect(ops.Pad ?? 0).toBeLessThanOrEqual(c.k * c.k + 1);
      x.dispose();
      w.dispose();
    });
  }

  it('stride 1 windows are left as unit-step slices (nothing to split)', async () => {
    const { f } = windowed(3, 1, 6);
    const x = randn(rng(11), [2, 3, 6, 6]);
    const w = randn(rng(12), [9, 4, 4]);
    const r = await compareWithJit(f, [x, w]);
    expect(r.flatError).toBeLessThan(1e-6);
    expect(r.errors[1]).toBeLessThan(1e-6);
    expect(r.summary.listing.filter((l) => l.startsWith('Transpose('))).toEqual([]);
    x.dispose();
    w.dispose();
  });

  it('windows of one element (a 3×3 map pooled to 1×1): the gradient is one Concat of the placed values, no Pad', async () => {
    const { f } = windowed(3, 2, 3);
    const x = randn(rng(13), [2, 3, 3, 3]);
    const w = randn(rng(14), [9, 1, 1]);
    const r = await compareWithJit(f, [x, w]);
    expect(r.flatError).toBeLessThan(1e-6);
    expect(r.errors[1]).toBe(0);
    expect(r.summary.ops.Pad ?? 0).toBe(0);
    expect(r.summary.ops.Concat).toBe(1);
    x.dispose();
    w.dispose();
  });
});
