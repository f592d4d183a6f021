/**
 * sharpness(): λmax/λmin (as pointEigenvalues), Hutchinson trace, Keskar et
 * al.'s ε-sharpness. For a convex quadratic (least squares) the maximum over
 * the box lies at a vertex, so a brute force over all 2^P vertices gives the
 * exact ε-sharpness to compare with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { pointEigenvalues } from '../../src/hessian/point.js';
import { epsSharpness, sharpness } from '../../src/hessian/sharpness.js';
import { buildModel } from '../../src/model/zoo.js';
import { randomData } from './dense.js';

describe('ε-sharpness of least squares (exact by brute force over the box vertices)', () => {
  const D = 4;
  const rng = new Rng(3);
  const data: Dataset = {
    name: 'ls',
    inputShape: [D],
    x: Float32Array.from({ length: 50 * D }, () => rng.normal()),
    y: Float32Array.from({ length: 50 }, () => rng.normal()),
    task: 'regression',
    outputDim: 1,
  };
  const model = buildModel({ type: 'mlp', hidden: [] }, [D], 1);
  const theta = model.init(4);
  let engine: JaxEngine;
  beforeAll(async () => {
    engine = await JaxEngine.create(model, data, { dtype: 'float64' });
  });
  afterAll(() => engine.dispose());

  async function bruteForce(eps: number): Promise<{ loss: number; max: number }> {
    const P = theta.length;
    const loss = (await engine.evaluate(Float64Array.from(theta))).loss;
    let max = loss;
    for (let m = 0; m < 2 ** P; m++) {
      const w = Float64Array.from(theta, (t, i) => t + ((m >> i) & 1 ? 1 : -1) * eps * (Math.abs(t) + 1));
      max = Math.max(max, (await engine.evaluate(w)).loss);
    }
    return { loss, max };
  }

  for (const eps of [1e-3, 0.05]) {
    it(`ε = ${eps}: equals the best vertex`, async () => {
      const bf = await bruteForce(eps);
      const r = await epsSharpness(engine, theta, { epsilon: eps });
      expect(r.loss).toBeCloseTo(bf.loss, 12);
      expect(r.maxLoss).toBeLessThanOrEqual(bf.max * (1 + 1e-12));
      expect(Math.abs(r.maxLoss - bf.max) / bf.max).toBeLessThan(1e-9);
      expect(r.sharpness).toBeCloseTo((100 * (bf.max - bf.loss)) / (1 + bf.loss), 8);
      expect(r.steps).toBeGreaterThan(1);
      expect(r.steps).toBeLessThanOrEqual(10);
      // the maximizer lies in the box
      r.delta.forEach((d, i) => expect(Math.abs(d)).toBeLessThanOrEqual(eps * (Math.abs(theta[i]!) + 1) * (1 + 1e-12)));
    });
  }

  it('ε = 0.5 (curvature dominates): a lower bound between the sign(∇L) vertex and the best vertex', async () => {
    // the vertex iteration stops at a vertex no linearization improves; the global
    // maximum of a convex function over a box can lie elsewhere (NP-hard in general)
    const eps = 0.5;
    const bf = await bruteForce(eps);
    const { grad } = await engine.gradient(theta);
    const corner = Float64Array.from(theta, (t, i) => t + Math.sign(grad[i]!) * eps * (Math.abs(t) + 1));
    const lin = (await engine.evaluate(corner)).loss;
    const r = await epsSharpness(engine, theta, { epsilon: eps });
    expect(r.maxLoss).toBeGreaterThanOrEqual(lin);
    expect(r.maxLoss).toBeLessThanOrEqual(bf.max * (1 + 1e-12));
    expect(r.maxLoss).toBeGreaterThan(0.95 * bf.max);
  });

  it('ε = 0 gives 0; params ndim>1 leaves the bias unperturbed', async () => {
    expect((await epsSharpness(engine, theta, { epsilon: 0 })).sharpness).toBe(0);
    const r = await epsSharpness(engine, theta, { epsilon: 0.01, params: 'ndim>1' });
    expect(r.delta[D]).toBe(0); // fc1.bias
    expect(Array.from(r.delta.subarray(0, D)).every((d) => d !== 0)).toBe(true);
  });
});

describe('sharpness() on a tiny tanh MLP', () => {
  const model = buildModel({ type: 'mlp', hidden: [8], activation: 'tanh' }, [4], 3);
  const data = randomData(40, [4], 3, 8);
  const theta = model.init(5);
  let engine: JaxEngine;
  beforeAll(async () => {
    engine = await JaxEngine.create(model, data, { dtype: 'float64' });
  });
  afterAll(() => engine.dispose());

  it('returns λmax/λmin of pointEigenvalues, the trace with its standard error, ε-sharpness and the loss', async () => {
    const r = await sharpness(engine, theta, { traceProbes: 50, seed: 1 });
    const e = await pointEigenvalues(engine, theta, { seed: 1 });
    expect(r.lambdaMax).toBeCloseTo(e.lambdaMax, 10);
    expect(r.lambdaMin).toBeCloseTo(e.lambdaMin, 10);
    expect(r.hvps).toBe(e.hvps + 50);
    expect(r.traceStderr).toBeGreaterThan(0);
    expect(Number.isFinite(r.trace)).toBe(true);
    expect(r.loss).toBeCloseTo((await engine.evaluate(theta)).loss, 12);
    expect(r.epsSharpness).toBeGreaterThan(0);
    expect(r.epsilon).toBe(1e-3);
    expect(r.converged).toBe(true);
    const wider = await sharpness(engine, theta, { traceProbes: 2, epsilon: 1e-2 });
    expect(wider.epsSharpness).toBeGreaterThan(r.epsSharpness);
  });
});
