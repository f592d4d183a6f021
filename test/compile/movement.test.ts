/**
 * Data-movement passes (compile/passes/movement.ts): chains that hand a tensor back unchanged are
 * dropped (a conv's kernel swapped and reversed by jax-js's transpose rule, then swapped and
 * reversed back for ConvTranspose), and whole-window reversals that remain run as products with
 * a permutation matrix. Values are checked against jax-js's; the graphs for what is left.
 */
import { grad, type Array as JArray, lax, numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { compareWithJit, randn, rng } from './helpers.js';

const isReversal = (l: string) => l.startsWith('Slice(') && l.split(',').length > 4;

describe('movement round trips', () => {
  it('transpose, reverse, reshape and back again: no node left between input and output', async () => {
    const f = (x: JArray) => {
      const t = np.flip(np.transpose(x, [1, 0, 2, 3]), [2, 3]).reshape([6, 4, 9]);
      return np.transpose(np.flip(t.reshape([6, 4, 3, 3]), [3, 2]), [1, 0, 2, 3]).mul(2);
    };
    const x = randn(rng(1), [4, 6, 3, 3]);
    const r = await compareWithJit(f, [x]);
    expect(r.errors[0]).toBe(0);
    expect(r.summary.ops.Transpose ?? 0).toBe(0);
    expect(r.summary.ops.Slice ?? 0).toBe(0);
    x.dispose();
  });

  it('a chain that does move data is kept (its reversals as permutation products)', async () => {
    const f = (x: JArray) => np.flip(np.transpose(np.flip(x, [2, 3]), [1, 0, 2, 3]), [3]).mul(2);
    const x = randn(rng(2), [32, 48, 3, 3]);
    const r = await compareWithJit(f, [x]);
    expect(r.errors[0]).toBe(0);
    expect(r.summary.ops.Transpose).toBe(1);
    expect(r.summary.listing.filter(isReversal)).toEqual([]);
    expect(r.summary.ops.MatMul).toBe(2);
    x.dispose();
  });

  it("a conv's input gradient (the kernel reversed twice): ConvTranspose reads the kernel itself, jax-js's values", async () => {
    // ∂/∂x Σ g·conv(x, w) for a stride-2 conv: ConvTranspose(g, w)
    const f = (x: JArray, w: JArray, g: JArray) =>
      grad((xx: JArray) =>
        lax
          .convGeneralDilated(
            xx,
            w,
            [2, 2],
            [
              [1, 1],
              [1, 1],
            ],
          )
          .mul(g)
          .sum(),
      )(x);
    const x = randn(rng(3), [2, 8, 9, 9]);
    const w = randn(rng(4), [16, 8, 3, 3]);
    const g = randn(rng(5), [2, 16, 5, 5]);
    const r = await compareWithJit(f, [x, w, g]);
    expect(r.errors[0]).toBeLessThan(1e-6);
    const convT = r.summary.listing.filter((l) => l.startsWith('ConvTranspose('));
    expect(convT).toHaveLength(1);
    expect(convT[0]).toMatch(/^ConvTranspose\([^,]+, in1\)/); // w, the second input
    expect(r.summary.ops.Transpose ?? 0).toBe(0);
    expect(r.summary.listing.filter(isReversal)).toEqual([]);
    for (const a of [x, w, g]) a.dispose();
  });

  for (const c of [
    { name: 'a 64×64×3×3 kernel on a 2×2 map: ConvTranspose on the kernel itself', n: 1, C: 64, H: 2, convT: true },
    { name: 'a 4×4×3×3 kernel on a 16×16 map: a Conv of the reversed kernel (NCHWc-able)', n: 2, C: 4, H: 16, convT: false },
  ]) {
    it(`a stride-1 conv's input gradient, ${c.name}; jax-js's values`, async () => {
      const f = (x: JArray, w: JArray, g: JArray) => grad((xx: JArray) => lax.convGeneralDilated(xx, w, [1, 1], 'SAME').mul(g).sum())(x);
      const x = randn(rng(6), [c.n, c.C, c.H, c.H]);
      const w = randn(rng(7), [c.C, c.C, 3, 3]);
      const g = randn(rng(8), [c.n, c.C, c.H, c.H]);
      const r = await compareWithJit(f, [x, w, g]);
      expect(r.errors[0]).toBeLessThan(1e-6);
      const ops = r.summary.ops;
      expect([ops.ConvTranspose ?? 0, ops.Conv ?? 0]).toEqual(c.convT ? [1, 0] : [0, 1]);
      if (c.convT) {
        expect(r.summary.listing.find((l) => l.startsWith('ConvTranspose('))).toMatch(/^ConvTranspose\([^,]+, in1\)/);
        expect(ops.Transpose ?? 0).toBe(0);
      }
      for (const a of [x, w, g]) a.dispose();
    });
  }
});
