/**
 * Dead input features (zero in every sample) against the dense float64 Hessian: their first-layer
 * weights have exactly zero Hessian rows, the onnxruntime engine drops them from its HVP graphs
 * (same H·v, zeros there), and the eigenvalue solvers count them as exact zero eigenvalues.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { inputReduction, liveFeatures, reduceSamples } from '../../src/engine/input-reduction.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { hessianOperator } from '../../src/hessian/operator.js';
import { pointEigenvalues } from '../../src/hessian/point.js';
import { buildModel } from '../../src/model/zoo.js';
import { denseHessian, jacobiEigenvalues, matvec, randomData, relErr } from './dense.js';

/** randomData with the given features zeroed in every sample. */
function withDeadFeatures(data: Dataset, d: number, dead: number[]): Dataset {
  const x = Float32Array.from(data.x);
  for (let i = 0; i < x.length / d; i++) for (const j of dead) x[i * d + j] = 0;
  return { ...data, x };
}

describe('input reduction bookkeeping', () => {
  it('finds the live features and keeps every coordinate but the dead columns of fc1.weight', () => {
    const model = buildModel({ type: 'mlp', hidden: [3], activation: 'tanh' }, [5], 2);
    const x = Float32Array.from([0, 1, 0, 2, 0, /**/ 0, 0, 0, 3, 0]);
    expect(Array.from(liveFeatures(x, 2, 5))).toEqual([1, 3]);
    const r = inputReduction(model, x, 2)!;
    expect(r.reduced.layout.entries[0]!.shape).toEqual([3, 2]);
    // fc1.weight [3, 5] row-major: columns 1 and 3 of each row are kept
    expect(Array.from(r.reduction.dropped)).toEqual([0, 2, 4, 5, 7, 9, 10, 12, 14]);
    expect(r.reduction.keep.length + r.reduction.dropped.length).toBe(model.layout.size);
    expect(Array.from(r.reduction.keep.slice(0, 6))).toEqual([1, 3, 6, 8, 11, 13]);
    expect(Array.from(reduceSamples(x, 2, 5, r.reduction.columns))).toEqual([1, 2, 0, 3]);
    // nothing to drop, or no dense first layer: no reduction
    expect(
      inputReduction(
        model,
        Float32Array.from({ length: 10 }, () => 1),
        2,
      ),
    ).toBeNull();
    const cnn = buildModel({ type: 'cnn', channels: [2], kernel: 3, dense: [] }, [1, 6, 6], 2);
    expect(inputReduction(cnn, new Float32Array(72), 2)).toBeNull();
  });
});

const cases = [
  { name: 'MLP tanh', spec: { type: 'mlp', hidden: [7], activation: 'tanh' }, task: 'classification' as const },
  // a linear least-squares model: the kept block XᵀX ⊗ I / n is positive definite, so the
  // smallest eigenvalue of the whole Hessian is one of the dropped exact zeros
  { name: 'linear regression', spec: { type: 'mlp', hidden: [], activation: 'relu' }, task: 'regression' as const },
];

for (const c of cases) {
  describe(`${c.name} with dead input features`, () => {
    const d = 6;
    const model = buildModel(c.spec, [d], 3);
    const data = withDeadFeatures(randomData(40, [d], 3, 5, c.task), d, [1, 4]);
    const theta = model.init(3);
    const P = model.layout.size;
    let H: Float64Array;
    let ort: OrtEngine;
    let full: OrtEngine;
    let jax: JaxEngine;

    beforeAll(async () => {
      H = await denseHessian(model, data, theta);
      ort = await OrtEngine.create(model, data, { dtype: 'float64', threads: 1 });
      full = await OrtEngine.create(model, data, { dtype: 'float64', threads: 1, reduceInputs: false });
      jax = await JaxEngine.create(model, data, { dtype: 'float64' });
    });
    afterAll(async () => {
      await ort.dispose();
      await full.dispose();
      jax.dispose();
    });

    it('the dropped coordinates are exactly the zero rows of the dense Hessian', () => {
      const dropped = Array.from(ort.hessianNullCoordinates());
      const hidden = model.layout.entries[0]!.shape[0]!;
      expect(dropped.length).toBe(2 * hidden);
      for (const i of dropped) for (let j = 0; j < P; j++) expect(H[i * P + j]).toBe(0);
      expect(full.hessianNullCoordinates().length).toBe(0);
    });

    it('the reduced HVP graph gives the full H·v, with exact zeros at the dropped coordinates', async () => {
      const rng = new Rng(8);
      const dropped = ort.hessianNullCoordinates();
      for (let k = 0; k < 3; k++) {
        const v = rng.normalVector(P);
        const hv = await ort.hvp(theta, v);
        expect(relErr(hv, matvec(H, P, v))).toBeLessThan(1e-6);
        expect(relErr(hv, await full.hvp(theta, v))).toBeLessThan(1e-10);
        for (const i of dropped) expect(hv[i]).toBe(0);
      }
      expect(hessianOperator(ort, theta).dim).toBe(P - dropped.length);
    });

    it('λmin, λmax and the top 3 equal the dense eigenvalues, dropped zeros included', async () => {
      const ev = jacobiEigenvalues(H, P);
      const scale = Math.max(Math.abs(ev[0]!), Math.abs(ev[P - 1]!));
      const top = Array.from(ev).reverse().slice(0, 3);
      for (const [label, engine] of [
        ['onnxruntime (reduced)', ort],
        ['jax-js (full)', jax],
      ] as const) {
        const r = await pointEigenvalues(engine, theta, { tol: 1e-10, top: 3, seed: 1 });
        expect(r.converged, label).toBe(true);
        expect(r.dim, label).toBe(P);
        expect(Math.abs(r.lambdaMax - ev[P - 1]!) / scale, `${label} λmax`).toBeLessThan(1e-6);
        expect(Math.abs(r.lambdaMin - ev[0]!) / scale, `${label} λmin`).toBeLessThan(1e-6);
        for (let i = 0; i < 3; i++) expect(Math.abs(r.top![i]! - top[i]!) / scale, `${label} top ${i}`).toBeLessThan(1e-6);
      }
      if (c.task === 'regression') {
        // the kept block alone is positive definite: λmin is a dropped zero, reported exactly
        const r = await pointEigenvalues(ort, theta, { tol: 1e-10, seed: 1 });
        expect(r.lanczos.lambdaMin).toBeGreaterThan(1e-3);
        expect(r.lambdaMin).toBe(0);
        expect(r.ratio).toBe(0);
      }
    });
  });
}
