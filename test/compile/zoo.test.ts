/**
 * The project's own zoo models (src/model) through the ONNX translation: loss, accuracy count,
 * gradient and HVP (jvp of grad) in eval and train mode, against jax-js jit.
 */

import { type Array, grad, init, jvp, numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { correctCount, lossSum } from '../../src/engine/loss.js';
import { buildModel } from '../../src/model/zoo.js';
import { compareWithJit, oneHotLabels, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

interface ZooCase {
  spec: Record<string, unknown>;
  input: number[];
  train?: boolean;
  conv?: 'lax' | 'im2col';
  loss?: 'cross_entropy' | 'mse';
}

const zoo: ZooCase[] = [
  { spec: { type: 'mlp', hidden: [16, 12], activation: 'tanh' }, input: [30] },
  { spec: { type: 'mlp', hidden: [16], activation: 'sigmoid' }, input: [30], loss: 'mse' },
  { spec: { type: 'mlp', hidden: [16], activation: 'gelu' }, input: [30] },
  { spec: { type: 'mlp', hidden: [16], activation: 'elu' }, input: [30] },
  { spec: { type: 'mlp', hidden: [16], activation: 'softplus' }, input: [30] },
  { spec: { type: 'mlp', hidden: [16], activation: 'leaky_relu', batchNorm: true, dropout: 0.25 }, input: [30], train: true },
  { spec: { type: 'mlp', hidden: [16], activation: 'relu', batchNorm: true }, input: [30] },
  { spec: { type: 'mlp', hidden: [16, 16, 12], activation: 'tanh', skip: true }, input: [30] },
  { spec: { type: 'mlp', hidden: [16, 16], activation: 'relu', skip: true, batchNorm: true, dropout: 0.2 }, input: [30], train: true },
  { spec: { type: 'cnn', channels: [4, 6], kernel: 3, pool: 'max', dense: [8] }, input: [1, 14, 14], conv: 'lax' },
  { spec: { type: 'cnn', channels: [4, 6], kernel: 3, pool: 'avg', padding: 'same', batchNorm: true }, input: [1, 12, 12], conv: 'im2col', train: true },
  { spec: { type: 'cnn', channels: [4], kernel: 5, pool: 'max', batchNorm: true, dropout: 0.2 }, input: [2, 12, 12], conv: 'lax', train: true },
  { spec: { type: 'resnet', width: 4, blocks: [1, 1] }, input: [1, 10, 10], conv: 'lax', train: true },
  { spec: { type: 'resnet', width: 4, blocks: [1, 1], skip: false, activation: 'tanh' }, input: [1, 10, 10], conv: 'im2col' },
  { spec: { type: 'resnet', width: 4, blocks: [1, 1] }, input: [1, 10, 10], conv: 'lax' },
];

for (const zc of zoo) {
  const model = buildModel(zc.spec, zc.input, 5);
  describe(`${model.name}${zc.train ? ' (train mode)' : ''}${zc.conv ? ` conv=${zc.conv}` : ''}`, () => {
    const N = 16;
    const kind = zc.loss ?? 'cross_entropy';
    let params: Array[], v: Array[], x: Array, t: Array, masks: Array[];
    beforeAll(() => {
      const r = rng(model.name.length + N);
      const theta = model.init(3);
      params = model.layout.entries.map((e) =>
        e.role === 'running_var' ? np.add(np.abs(randn(r, e.shape, 0.5)), 0.5) : np.array(theta.subarray(e.offset, e.offset + e.size)).reshape(e.shape),
      );
      v = model.layout.entries.map((e) => randn(r, e.shape, 0.3));
      x = randn(r, [N, ...zc.input]);
      t = kind === 'mse' ? randn(r, [N, 5]) : oneHotLabels(r, N, 5);
      masks = model.dropoutSites.map((s) => {
        const m = new Float32Array(N * s.shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < m.length; i++) m[i] = r() < s.p ? 0 : 1;
        return np.array(m).reshape([N, ...s.shape]);
      });
    });
    const forward = (p: Array[], x: Array, m: Array[]) => {
      const res = model.apply(p, x, { train: zc.train, dropoutMasks: m, conv: zc.conv });
      res.batchStats.forEach((a) => a.dispose());
      return res.out;
    };
    const loss = (p: Array[], x: Array, t: Array, m: Array[]) => lossSum(forward(p, x, m), t, kind);

    it('loss and correct count', async () => {
      const f = (p: Array[], x: Array, t: Array, m: Array[]) => {
        const out = forward(p, x, m);
        return [lossSum(out.ref, t.ref, kind), correctCount(out, t)];
      };
      const c = await compareWithJit(f, [params, x, t, masks]);
      expect(c.errors[0]).toBeLessThan(1e-5);
      expect(c.ort[1]![0]).toBe(c.ref[1]![0]);
    });

    it('gradient', async () => {
      const c = await compareWithJit((p: Array[], x: Array, t: Array, m: Array[]) => grad(loss)(p, x, t, m), [params, x, t, masks]);
      expect(c.errors).toHaveLength(params.length);
      for (const e of c.errors) expect(e).toBeLessThan(1e-5);
    });

    it('HVP (jvp of grad)', async () => {
      const hvp = (p: Array[], tv: Array[], x: Array, t: Array, m: Array[]) =>
        jvp(
          (q: Array[]) =>
            grad(loss)(
              q,
              x.ref,
              t.ref,
              m.map((a) => a.ref),
            ),
          [p],
          [tv],
        )[1];
      const c = await compareWithJit(hvp, [params, v, x, t, masks]);
      expect(c.errors).toHaveLength(params.length);
      for (const e of c.errors) expect(e).toBeLessThan(1e-5);
      expect(c.flatError).toBeLessThan(1e-5);
    });
  });
}
