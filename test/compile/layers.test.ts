/**
 * Layers beyond the basic MLP/CNN: batch norm in train mode (batch mean / biased variance over
 * N, H, W) and eval mode (given running statistics), tanh and sigmoid activations, average
 * pooling, a residual add, a strided / dilated / grouped conv; loss, gradient and HVP vs jax-js jit.
 */

import { type Array, grad, init, jvp, lax, nn, numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../helpers/jax-models.js';
import { compareWithJit, oneHotLabels, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

const EPS = 1e-5;

function bnTrain(x: Array, gamma: Array, beta: Array): Array {
  const mean = np.mean(x.ref, [0, 2, 3], { keepdims: true });
  const centered = np.subtract(x, mean);
  const variance = np.mean(np.square(centered.ref), [0, 2, 3], { keepdims: true });
  const inv = np.reciprocal(np.sqrt(np.add(variance, EPS)));
  return np.add(np.multiply(np.multiply(centered, inv), gamma.reshape([1, -1, 1, 1])), beta.reshape([1, -1, 1, 1]));
}

function bnEval(x: Array, gamma: Array, beta: Array, mean: Array, variance: Array): Array {
  const scale = np.multiply(gamma, np.reciprocal(np.sqrt(np.add(variance, EPS))));
  const shift = np.subtract(beta, np.multiply(mean, scale.ref));
  return np.add(np.multiply(x, scale.reshape([1, -1, 1, 1])), shift.reshape([1, -1, 1, 1]));
}

const avgPool2 = (x: Array) => {
  const [n, c, h, w] = x.shape;
  return np.mean(x.reshape([n!, c!, h! / 2, 2, w! / 2, 2]), [3, 5]);
};

/**
 * x [N,3,8,8] -> conv3x3 same (3->4) -> BN(train) -> tanh -> [residual: conv3x3 same (4->4) ->
 * BN(eval) -> sigmoid] + -> avg pool 2 -> strided conv3x3 (stride 2, pad 1) -> dilated conv
 * (rhs dilation 2, pad 2) grouped (2 groups) -> flatten -> dense -> softmax cross-entropy.
 */
function net(p: Array[], x: Array, y: Array): Array {
  const [K1, g1, b1, K2, g2, b2, m2, v2, K3, K4, W, b] = p;
  let h = lax.convGeneralDilated(x, K1!, [1, 1], 'SAME');
  h = np.tanh(bnTrain(h, g1!, b1!));
  const r = nn.sigmoid(bnEval(lax.convGeneralDilated(h.ref, K2!, [1, 1], 'SAME'), g2!, b2!, m2!, v2!));
  h = avgPool2(np.add(h, r));
  h = lax.convGeneralDilated(
    h,
    K3!,
    [2, 2],
    [
      [1, 1],
      [1, 1],
    ],
  );
  h = nn.relu(
    lax.convGeneralDilated(
      h,
      K4!,
      [1, 1],
      [
        [2, 2],
        [2, 2],
      ],
      { rhsDilation: [2, 2], featureGroupCount: 2 },
    ),
  );
  h = h.reshape([h.shape[0]!, -1]);
  return crossEntropy(np.add(np.matmul(h, W!), b!), y);
}

const shapes = [[4, 3, 3, 3], [4], [4], [4, 4, 3, 3], [4], [4], [4], [4], [6, 4, 3, 3], [6, 3, 3, 3], [24, 5], [5]];

describe('BN train/eval, tanh, sigmoid, residual, avg pool, strided/dilated/grouped conv', () => {
  let params: Array[], v: Array[], x: Array, y: Array;
  beforeAll(() => {
    const r = rng(31);
    params = shapes.map((s, i) => (i === 7 ? np.add(np.abs(randn(r, s, 0.5)), 0.5) : randn(r, s, s.length === 1 ? 0.3 : 0.4)));
    v = shapes.map((s) => randn(r, s, 0.3));
    x = randn(r, [8, 3, 8, 8]);
    y = oneHotLabels(r, 8, 5);
  });

  it('loss', async () => {
    const c = await compareWithJit(net, [params, x, y]);
    expect(c.errors[0]).toBeLessThan(1e-5);
    expect(c.summary.ops.Conv).toBe(4);
  });

  it('gradient', async () => {
    const c = await compareWithJit((p: Array[], x: Array, y: Array) => grad(net)(p, x, y), [params, x, y]);
    expect(c.errors).toHaveLength(shapes.length);
    for (const e of c.errors) expect(e).toBeLessThan(1e-5);
    // the input gradient of the stride-2 conv (lhs dilation 2) becomes a ConvTranspose
    expect(c.summary.ops.ConvTranspose).toBeGreaterThanOrEqual(1);
  });

  it('HVP (jvp of grad)', async () => {
    const hvp = (p: Array[], t: Array[], x: Array, y: Array) => jvp((q: Array[]) => grad(net)(q, x, y), [p], [t])[1];
    const c = await compareWithJit(hvp, [params, v, x, y]);
    expect(c.errors).toHaveLength(shapes.length);
    for (const e of c.errors) expect(e).toBeLessThan(1e-5);
  });
});
