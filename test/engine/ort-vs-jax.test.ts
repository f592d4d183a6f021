/**
 * The onnxruntime engine against the jax-js engine over the zoo: loss and accuracy, gradient,
 * HVP and plane values (hoisted first layer, K points per call, padding) agree to 1e-5, in eval
 * and train mode (batch-norm batch statistics, fixed dropout masks), over two data batches.
 */
import { describe, expect, it } from 'vitest';
import { pointWeights } from '../../src/core/plane.js';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { EvalMode } from '../../src/engine/engine.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { buildModel } from '../../src/model/zoo.js';

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Random images (or vectors) with labels from a random linear teacher, so the loss is not trivial. */
function randomData(n: number, inputShape: number[], classes: number, seed: number): Dataset {
  const rng = new Rng(seed, 'default', 0x7e57);
  const d = inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const w = Float64Array.from({ length: d * classes }, () => rng.normal());
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = -Infinity;
    for (let c = 0; c < classes; c++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += x[i * d + j]! * w[j * classes + c]!;
      if (v > bestV) (bestV = v), (best = c);
    }
    y[i] = best;
  }
  return { name: 'random', inputShape, x, y, task: 'classification', outputDim: classes };
}

interface Case {
  spec: Record<string, unknown>;
  input: number[];
  mode: EvalMode;
}

const cases: Case[] = [
  { spec: { type: 'mlp', hidden: [12], activation: 'relu' }, input: [8], mode: 'eval' },
  { spec: { type: 'mlp', hidden: [12, 10], activation: 'tanh', batchNorm: true, dropout: 0.25 }, input: [8], mode: 'eval' },
  { spec: { type: 'mlp', hidden: [12, 10], activation: 'tanh', batchNorm: true, dropout: 0.25 }, input: [8], mode: 'train' },
  { spec: { type: 'cnn', channels: [4, 6], kernel: 3 }, input: [1, 12, 12], mode: 'eval' },
  { spec: { type: 'cnn', channels: [4, 6], kernel: 3, batchNorm: true, dropout: 0.2 }, input: [1, 12, 12], mode: 'train' },
  { spec: { type: 'resnet', width: 4, blocks: [1, 1] }, input: [1, 8, 8], mode: 'eval' },
  { spec: { type: 'resnet', width: 4, blocks: [1, 1] }, input: [1, 8, 8], mode: 'train' },
];

for (const c of cases) {
  const model = buildModel(c.spec, c.input, 5);
  describe(`${model.name} (${c.mode} mode): onnxruntime = jax-js`, () => {
    const data = randomData(48, c.input, 5, model.name.length);
    const theta = model.init(1);
    const rng = new Rng(5, 'default', 1);
    const d1 = Float32Array.from({ length: theta.length }, () => 0.1 * rng.normal());
    const d2 = Float32Array.from({ length: theta.length }, () => 0.1 * rng.normal());
    const v = Float32Array.from({ length: theta.length }, () => rng.normal());
    // running statistics are state: no direction along them, a positive variance
    for (const e of model.layout.entries) {
      if (e.role === 'running_mean' || e.role === 'running_var') {
        d1.fill(0, e.offset, e.offset + e.size);
        d2.fill(0, e.offset, e.offset + e.size);
        v.fill(0, e.offset, e.offset + e.size);
      }
      if (e.role === 'running_var') for (let i = 0; i < e.size; i++) theta[e.offset + i] = 0.5 + 0.5 * Math.abs(rng.normal());
    }
    const opts = { mode: c.mode, batchSize: 24 };
    const engines = Promise.all([JaxEngine.create(model, data, opts), OrtEngine.create(model, data, { ...opts, threads: 1, planeBatch: 4 })]);

    it('loss, accuracy, gradient and HVP', async () => {
      const [jax, ort] = await engines;
      const [mj, mo] = [await jax.evaluate(theta), await ort.evaluate(theta)];
      expect(Math.abs(mo.loss - mj.loss) / mj.loss).toBeLessThan(1e-5);
      expect(mo.acc).toBe(mj.acc);
      const [gj, go] = [await jax.gradient(theta), await ort.gradient(theta)];
      expect(relErr(go.grad, gj.grad)).toBeLessThan(1e-5);
      const [hj, ho] = [await jax.hvp(theta, v), await ort.hvp(theta, v)];
      expect(relErr(ho, hj)).toBeLessThan(1e-5);
      // a second HVP at the same θ reuses the θ-only part of the graph
      const v2 = v.map((x) => -0.5 * x);
      expect(relErr(await ort.hvp(theta, v2), await jax.hvp(theta, v2))).toBeLessThan(1e-5);
    });

    it('plane values (7 points, 4 per call)', async () => {
      const [jax, ort] = await engines;
      const points = Float64Array.from([-1, -1, -0.5, 0.25, 0, 0, 0.3, -0.7, 1, 1, 0.9, -0.2, -0.1, 0.6]);
      const pj = await jax.evaluatePlane(theta, d1, d2, points);
      const po = await ort.evaluatePlane(theta, d1, d2, points);
      for (let k = 0; k < 7; k++) {
        expect(Math.abs(po.loss[k]! - pj.loss[k]!) / pj.loss[k]!).toBeLessThan(1e-5);
        // an accuracy may differ by one sample only where two logits tie to float rounding
        expect(Math.abs(po.acc[k]! - pj.acc[k]!)).toBeLessThanOrEqual(100 / 48 + 1e-9);
      }
      // and equal the engine's own direct evaluation at θ + αd1 + βd2
      const w = pointWeights(theta, d1, d2, points[6]!, points[7]!);
      expect(Math.abs((await ort.evaluate(w)).loss - po.loss[3]!) / po.loss[3]!).toBeLessThan(1e-5);
    });

    it.sequential('disposes', async () => {
      const [jax, ort] = await engines;
      jax.dispose();
      await ort.dispose();
    });
  });
}
