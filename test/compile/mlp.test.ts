import { grad, init, jvp, nn, numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithJit, oneHotLabels, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

function mlpLoss(params: any[], x: any, y: any) {
  const [W1, b1, W2, b2] = params;
  const h = nn.relu(np.add(np.matmul(x, W1), b1));
  const logits = np.add(np.matmul(h, W2), b2);
  const lsm = nn.logSoftmax(logits, -1);
  return np.negative(np.mean(np.sum(np.multiply(lsm, y), -1)));
}

describe('MLP 784-64-10, N=1000', () => {
  const r = rng(1);
  const mk = () => [randn(r, [784, 64], 0.05), randn(r, [64], 0.1), randn(r, [64, 10], 0.2), randn(r, [10], 0.1)];
  let params: any[], v: any[], x: any, y: any;
  beforeAll(() => {
    params = mk();
    v = mk();
    x = randn(r, [1000, 784], 1);
    y = oneHotLabels(r, 1000, 10);
  });

  it('loss', async () => {
    const c = await compareWithJit(mlpLoss, [params, x, y]);
    expect(c.errors[0]).toBeLessThan(1e-5);
  });

  it('grad', async () => {
    const c = await compareWithJit((p: any, x: any, y: any) => grad(mlpLoss)(p, x, y), [params, x, y]);
    expect(c.errors).toHaveLength(4);
    for (const e of c.errors) expect(e).toBeLessThan(1e-5);
  });

  it('hvp (jvp of grad)', async () => {
    const hvp = (p: any, t: any, x: any, y: any) => jvp((pp: any) => grad(mlpLoss)(pp, x, y), [p], [t])[1];
    const c = await compareWithJit(hvp, [params, v, x, y]);
    expect(c.errors).toHaveLength(4);
    for (const e of c.errors) expect(e).toBeLessThan(1e-5);
  });
});
