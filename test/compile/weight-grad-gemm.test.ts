import { grad, init, lax, numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithJit, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

interface Case {
  name: string;
  x: number[];
  w: number[];
  strides: number[];
  padding: [number, number][];
  dilation: number[];
}

const cases: Case[] = [
  {
    name: '3×3, same padding',
    x: [6, 3, 10, 10],
    w: [5, 3, 3, 3],
    strides: [1, 1],
    padding: [
      [1, 1],
      [1, 1],
    ],
    dilation: [1, 1],
  },
  {
    name: '3×3, stride 2, asymmetric padding',
    x: [4, 2, 9, 9],
    w: [3, 2, 3, 3],
    strides: [2, 2],
    padding: [
      [1, 0],
      [0, 1],
    ],
    dilation: [1, 1],
  },
  {
    name: '3×3, dilation 2, valid',
    x: [4, 2, 9, 9],
    w: [3, 2, 3, 3],
    strides: [1, 1],
    padding: [
      [0, 0],
      [0, 0],
    ],
    dilation: [2, 2],
  },
  {
    name: '1×1 (a shortcut)',
    x: [4, 3, 6, 6],
    w: [5, 3, 1, 1],
    strides: [1, 1],
    padding: [
      [0, 0],
      [0, 0],
    ],
    dilation: [1, 1],
  },
  { name: '1-D, 5 taps', x: [4, 2, 16], w: [3, 2, 5], strides: [1], padding: [[2, 2]], dilation: [1] },
];

describe('weight-gradient convs as Gemms (weightGradGemm)', () => {
  for (const c of cases) {
    it(`${c.name}: the kernel gradient agrees with jax-js, with Gemms in place of the weight-gradient Conv`, async () => {
      const r = rng(11);
      const x = randn(r, c.x);
      const w = randn(r, c.w, 0.5);
      const t = randn(r, [c.x[0]!, c.w[0]!]);
      // a loss whose kernel gradient is one weight-gradient conv
      const loss = (w: np.Array, x: np.Array, t: np.Array) => {
        const y = lax.convGeneralDilated(x, w, c.strides, c.padding, { rhsDilation: c.dilation });
        const axes = y.shape.slice(2).map((_, i) => i + 2);
        return np.sum(np.tanh(y.sum(axes)).mul(t));
      };
      const dw = (w: np.Array, x: np.Array, t: np.Array) => grad(loss)(w, x, t);
      const plain = await compareWithJit(dw, [w, x, t]);
      const gemm = await compareWithJit(dw, [w, x, t], { weightGradGemm: true });
      expect(plain.summary.ops.Gemm ?? 0).toBe(0);
      expect(gemm.summary.ops.Gemm).toBe(c.w.slice(2).reduce((a, b) => a * b, 1));
      expect(gemm.summary.ops.Conv ?? 0).toBe((plain.summary.ops.Conv ?? 0) - 1);
      expect(gemm.errors[0]).toBeLessThan(1e-5);
      expect(plain.errors[0]).toBeLessThan(1e-5);
    });
  }

  it('a number limits Gemms to weight gradients with at most that many kernel positions', async () => {
    const r = rng(12);
    const x = randn(r, [4, 3, 10, 10]);
    const w = randn(r, [5, 3, 3, 3], 0.5);
    const loss = (w: np.Array, x: np.Array) =>
      np.sum(
        np.tanh(
          lax.convGeneralDilated(
            x,
            w,
            [1, 1],
            [
              [1, 1],
              [1, 1],
            ],
          ),
        ),
      );
    const dw = (w: np.Array, x: np.Array) => grad(loss)(w, x);
    const nine = await compareWithJit(dw, [w, x], { weightGradGemm: 9 });
    const four = await compareWithJit(dw, [w, x], { weightGradGemm: 4 });
    expect(nine.summary.ops.Gemm).toBe(9);
    expect(four.summary.ops.Gemm ?? 0).toBe(0);
    expect(nine.errors[0]).toBeLessThan(1e-5);
    expect(four.errors[0]).toBeLessThan(1e-5);
  });
});
