/**
 * float64 graphs: MLP 20-8-3 (tanh and relu) loss, gradient and HVP against jax-js float64.
 * The references run on jax-js's cpu backend: its wasm backend computes float64 exp/log/tanh
 * to only ~1e-8 relative, which would mask float64 errors.
 */

import { type Array, defaultDevice, grad, init, jvp, nn, numpy as np } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../helpers/jax-models.js';
import { compareWithJit, oneHotLabels, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm', 'cpu');
  defaultDevice('cpu');
});
afterAll(() => {
  defaultDevice('wasm');
});

for (const act of ['relu', 'tanh'] as const) {
  describe(`float64 MLP 20-8-3 (${act}), N=50`, () => {
    const loss = (p: Array[], x: Array, y: Array) => {
      const [W1, b1, W2, b2] = p;
      const pre = np.add(np.matmul(x, W1!), b1!);
      const h = act === 'relu' ? nn.relu(pre) : np.tanh(pre);
      return crossEntropy(np.add(np.matmul(h, W2!), b2!), y);
    };
    let params: Array[], v: Array[], x: Array, y: Array;
    beforeAll(() => {
      const r = rng(act === 'relu' ? 21 : 22);
      const mk = () => [randn(r, [20, 8], 0.3, 'float64'), randn(r, [8], 0.1, 'float64'), randn(r, [8, 3], 0.4, 'float64'), randn(r, [3], 0.1, 'float64')];
      params = mk();
      v = mk();
      x = randn(r, [50, 20], 1, 'float64');
      y = oneHotLabels(r, 50, 3, 'float64');
    });

    it('loss', async () => {
      const c = await compareWithJit(loss, [params, x, y]);
      expect(c.errors[0]).toBeLessThan(1e-10);
      expect(c.ort[0]).toBeInstanceOf(Float64Array);
    });

    it('gradient', async () => {
      const c = await compareWithJit((p: Array[], x: Array, y: Array) => grad(loss)(p, x, y), [params, x, y]);
      for (const e of c.errors) expect(e).toBeLessThan(1e-10);
      expect(c.ort[0]).toBeInstanceOf(Float64Array);
    });

    it('HVP (jvp of grad)', async () => {
      const hvp = (p: Array[], t: Array[], x: Array, y: Array) => jvp((q: Array[]) => grad(loss)(q, x, y), [p], [t])[1];
      const c = await compareWithJit(hvp, [params, v, x, y]);
      expect(c.errors).toHaveLength(4);
      for (const e of c.errors) expect(e).toBeLessThan(1e-10);
    });
  });
}
