/**
 * Depthwise convs (jax-js vmaps a grouped conv over its groups: one input and one output channel
 * per group) lower to a sum over kernel taps in the vmapped layout (`depthwiseTaps` in
 * src/compile/rules/conv.ts): no Conv node, the same values as jax-js's jit for the forward
 * pass, the gradient and the HVP, with strides, dilation, asymmetric padding. Vmapped once more
 * (a plane's grid points) the conv keeps its grouped-Conv lowering (the taps measured slower
 * there); its values are checked too.
 */
import { grad, init, jvp, lax, numpy as np, vmap } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithJit, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

interface Case {
  name: string;
  C: number;
  k: number;
  strides: number[];
  padding: [number, number][];
  dilation: number[];
}

const cases: Case[] = [
  {
    name: '3×3, same padding',
    C: 6,
    k: 3,
    strides: [1, 1],
    padding: [
      [1, 1],
      [1, 1],
    ],
    dilation: [1, 1],
  },
  {
    name: '3×3, stride 2, asymmetric padding',
    C: 4,
    k: 3,
    strides: [2, 2],
    padding: [
      [1, 0],
      [0, 1],
    ],
    dilation: [1, 1],
  },
  {
    name: '5×5, dilation 2',
    C: 3,
    k: 5,
    strides: [1, 1],
    padding: [
      [4, 4],
      [4, 4],
    ],
    dilation: [2, 2],
  },
];

describe('depthwise convs as kernel taps', () => {
  for (const c of cases) {
    const conv = (x: np.Array, w: np.Array) => lax.convGeneralDilated(x, w, c.strides, c.padding, { rhsDilation: c.dilation, featureGroupCount: c.C });
    const loss = (w: np.Array, x: np.Array) => np.sum(np.tanh(conv(x, w)));

    it(`${c.name}: forward, gradient and HVP = jax-js, with no Conv node in the forward`, async () => {
      const r = rng(5);
      const x = randn(r, [4, c.C, 9, 9]);
      const w = randn(r, [c.C, 1, c.k, c.k], 0.5);
      const v = randn(r, [c.C, 1, c.k, c.k], 0.5);
      const fwd = await compareWithJit((x: np.Array, w: np.Array) => np.tanh(conv(x, w)), [x, w]);
      expect(fwd.summary.ops.Conv ?? 0).toBe(0);
      expect(fwd.errors[0]).toBeLessThan(1e-5);
      const g = await compareWithJit((w: np.Array, x: np.Array) => grad(loss)(w, x), [w, x]);
      expect(g.errors[0]).toBeLessThan(1e-5);
      const hvp = (w: np.Array, v: np.Array, x: np.Array) => jvp((q: np.Array) => grad(loss)(q, x), [w], [v])[1];
      const h = await compareWithJit(hvp, [w, v, x]);
      expect(h.errors[0]).toBeLessThan(1e-5);
    });

    it(`${c.name}: vmapped over weights (grid points): grouped Conv, = jax-js`, async () => {
      const r = rng(6);
      const x = randn(r, [3, c.C, 8, 8]);
      const ws = randn(r, [5, c.C, 1, c.k, c.k], 0.5);
      const f = (ws: np.Array, x: np.Array) => vmap((w: np.Array) => np.sum(np.tanh(conv(x, w)), [1, 2, 3]))(ws);
      const res = await compareWithJit(f, [ws, x]);
      expect(res.summary.ops.Conv ?? 0).toBeGreaterThan(0);
      expect(res.errors[0]).toBeLessThan(1e-5);
    });
  }
});
