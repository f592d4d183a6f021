/**
 * The MLP's skip connections: a hidden layer whose width equals its input's computes
 * act(W h + b + h); other layers, and the same weights without `skip`, are the plain MLP.
 * Checked against a forward pass written out by hand in float64.
 */
import { numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureJax } from '../../src/model/jax.js';
import type { Model } from '../../src/model/model.js';
import { buildModel } from '../../src/model/zoo.js';

beforeAll(() => ensureJax());

/** Logits of a tanh MLP by hand; `skip` adds the input of every equal-width hidden layer. */
function byHand(model: Model, theta: Float32Array, x: number[], hidden: number[], skip: boolean): number[] {
  const get = (name: string) => {
    const e = model.layout.entries.find((q) => q.name === name)!;
    return { w: theta.subarray(e.offset, e.offset + e.size), shape: e.shape };
  };
  let h = x;
  const dims = [...hidden, model.outputDim];
  dims.forEach((out, i) => {
    const W = get(`fc${i + 1}.weight`);
    const b = get(`fc${i + 1}.bias`);
    expect(W.shape).toEqual([out, h.length]);
    const z = Array.from({ length: out }, (_, r) => {
      let s = b.w[r]!;
      for (let c = 0; c < h.length; c++) s += W.w[r * h.length + c]! * h[c]!;
      return s;
    });
    const last = i === dims.length - 1;
    if (skip && !last && i > 0 && out === h.length) for (let r = 0; r < out; r++) z[r]! += h[r]!;
    h = last ? z : z.map(Math.tanh);
  });
  return h;
}

describe('MLP skip connections', () => {
  const hidden = [6, 6, 4, 4];
  for (const skip of [true, false]) {
    it(`${skip ? 'adds the input of equal-width hidden layers' : 'without skip: the plain MLP'} (by-hand forward, 1e-5)`, async () => {
      const model = buildModel({ type: 'mlp', hidden, activation: 'tanh', ...(skip ? { skip: true } : {}) }, [3], 2);
      expect(model.name).toBe(`mlp 3-6-6-4-4-2 tanh${skip ? ' skip' : ''}`);
      const theta = model.init(7);
      const xs = [
        [0.3, -1.2, 0.8],
        [-0.5, 0.1, 2.0],
      ];
      const params = model.layout.entries.map((e) => np.array(theta.subarray(e.offset, e.offset + e.size)).reshape(e.shape));
      const r = model.apply(params, np.array(new Float32Array(xs.flat())).reshape([2, 3]));
      r.batchStats.forEach((a) => a.dispose());
      const out = await r.out.data();
      xs.forEach((x, n) => {
        const ref = byHand(model, theta, x, hidden, skip);
        ref.forEach((v, k) => expect(out[n * 2 + k]).toBeCloseTo(v, 5));
      });
    });
  }

  it('has the same parameters with and without skip connections', () => {
    const a = buildModel({ type: 'mlp', hidden: [8, 8], skip: true }, [2], 3);
    const b = buildModel({ type: 'mlp', hidden: [8, 8] }, [2], 3);
    expect(a.layout).toEqual(b.layout);
  });
});
