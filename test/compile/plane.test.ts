/**
 * Batched plane evaluation: losses (and correct counts) at K grid points in one ONNX call,
 * via vmap over (alpha, beta), against K separate jax-js evaluations.
 */

import { type Array, init, jit, numpy as np, tree } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileToOnnx } from '../../src/compile/compile.js';
import { summarizeModel } from '../../src/compile/inspect.js';
import { OrtFunction } from '../../src/engine/ort/runner.js';
import { cnnLogits, cnnShapes, correctCount, crossEntropy, mlpLogits, mlpShapes, overPlane } from '../helpers/jax-models.js';
import { leavesData, oneHotLabels, randn, relErr, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

/** loss and correct count of a logits function. */
const metrics =
  (logits: (p: Array[], x: Array) => Array) =>
  (p: Array[], x: Array, y: Array): Array[] => {
    const z = logits(p, x);
    return [crossEntropy(z.ref, y.ref), correctCount(z, y)];
  };

async function checkPlane(name: string, logits: (p: Array[], x: Array) => Array, shapes: number[][], x: Array, y: Array, K: number, seed: number) {
  const r = rng(seed);
  const fanIn = (sh: number[]) => (sh.length === 4 ? sh.slice(1).reduce((a, b) => a * b, 1) : sh[0]!);
  const mk = (s: number) => shapes.map((sh) => randn(r, sh, sh.length === 1 ? 0.1 * s : s / Math.sqrt(fanIn(sh))));
  const params = mk(0.2);
  const d1 = mk(0.2);
  const d2 = mk(0.2);
  const alphas = new Float32Array(K).map((_, k) => -1 + (2 * (k % 4)) / 3);
  const betas = new Float32Array(K).map((_, k) => -1 + (2 * Math.floor(k / 4)) / Math.max(1, Math.ceil(K / 4) - 1));
  const f = overPlane(metrics(logits));
  const args = [params, d1, d2, np.array(alphas), np.array(betas), x, y];
  const c = compileToOnnx(f, args);
  const summary = summarizeModel(c.model);
  const fn = await OrtFunction.create(c.model, { threads: 1 });
  const [losses, correct] = await fn.run(await leavesData(tree.ref(args as any)));
  await fn.dispose();
  expect(losses).toHaveLength(K);

  // K separate jax-js evaluations at w = p + (a d1 + b d2).
  const single = jit((p: Array[], x: Array, y: Array) => metrics(logits)(p, x, y));
  const refLoss = new Float32Array(K);
  const refCorrect = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    const w = params.map((p, i) => np.add(p.ref, np.add(np.multiply(alphas[k]!, d1[i]!.ref), np.multiply(betas[k]!, d2[i]!.ref))));
    const [l, cc] = single(w, x.ref, y.ref) as Array[];
    refLoss[k] = (await l!.data())[0]!;
    refCorrect[k] = (await cc!.data())[0]!;
  }
  single.dispose();
  const err = relErr(losses as Float32Array, refLoss);
  console.log(`${name}: K=${K} relative L2 error of losses ${err.toExponential(2)}; ops ${JSON.stringify(summary.ops)}`);
  expect(err).toBeLessThan(1e-5);
  expect([...(correct as Float32Array)]).toEqual([...refCorrect]);
  return summary;
}

describe('plane of grid points (vmap over alpha, beta)', () => {
  it('MLP 784-64-10 on 1000 samples, 16 points: losses and accuracy equal separate evaluations', async () => {
    const r = rng(11);
    const x = randn(r, [1000, 784]);
    const y = oneHotLabels(r, 1000, 10);
    const s = await checkPlane('MLP', mlpLogits, mlpShapes(), x, y, 16, 12);
    // First layer distributed: X W, X D1, X D2 once + one combining MatMul; second layer batched.
    expect(s.ops.MatMul).toBe(5);
    expect(s.ops.ReduceSum ?? 0).toBeLessThanOrEqual(4); // only the loss reductions
  });

  it('distribute: false gives one batched MatMul per layer and the same losses', async () => {
    const r = rng(17);
    const x = randn(r, [200, 784]);
    const y = oneHotLabels(r, 200, 10);
    const mk = () => mlpShapes().map((sh) => randn(r, sh, sh.length === 1 ? 0.02 : 0.2 / Math.sqrt(sh[0]!)));
    const args = [mk(), mk(), mk(), np.array(new Float32Array([-1, 0, 0.5, 1])), np.array(new Float32Array([1, -0.5, 0, 1])), x, y];
    const f = overPlane(metrics(mlpLogits));
    const data = await leavesData(tree.ref(args as any));
    const outs: Float32Array[] = [];
    for (const distribute of [true, false]) {
      const c = compileToOnnx(f, args, { distribute });
      expect(summarizeModel(c.model).ops.MatMul).toBe(distribute ? 5 : 2);
      const fn = await OrtFunction.create(c.model, { threads: 1 });
      outs.push((await fn.run(data))[0] as Float32Array);
      await fn.dispose();
    }
    expect(relErr(outs[0]!, outs[1]!)).toBeLessThan(1e-6);
  });

  it('CNN (lax conv) on 64 samples, 8 points', async () => {
    const r = rng(13);
    const x = randn(r, [64, 1, 28, 28]);
    const y = oneHotLabels(r, 64, 10);
    const s = await checkPlane('CNN lax', (p, x) => cnnLogits(p, x, 'lax'), cnnShapes(), x, y, 8, 14);
    // conv1 distributed over K + a D1 + b D2: the three convs share x and run as one Conv + Split
    expect(s.ops.Conv).toBe(2);
    expect(s.ops.Split).toBe(1);
  });

  it('CNN (im2col conv) on 32 samples, 8 points', async () => {
    const r = rng(15);
    const x = randn(r, [32, 1, 28, 28]);
    const y = oneHotLabels(r, 32, 10);
    await checkPlane('CNN im2col', (p, x) => cnnLogits(p, x, 'im2col'), cnnShapes(), x, y, 8, 16);
  });
});
