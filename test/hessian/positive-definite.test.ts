/**
 * A positive-definite Hessian where the reference code's λmin method fails:
 * least-squares linear regression, L = (1/N) Σ ½(wᵀx_n + b − t_n)², whose
 * Hessian is AᵀA/N with A = [X 1] — known in closed form. Its λmin is far
 * above 0.02·λmax, so the reference method (eigsh on H − 0.51·λmax·I) returns
 * λmax again; one Lanczos run gives the true λmin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { LossEngine } from '../../src/engine/engine.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { hessianOperator } from '../../src/hessian/operator.js';
import { pointEigenvalues } from '../../src/hessian/point.js';
import { referenceMethodEigenvalues } from '../../src/linalg/reference-method.js';
import { buildModel } from '../../src/model/zoo.js';
import { jacobiEigenvalues } from './dense.js';

const N = 120;
const D = 6;

function regressionData(): Dataset {
  const rng = new Rng(17);
  // features with different scales: a well-conditioned but not isotropic AᵀA/N
  const scales = [1.0, 0.9, 0.8, 1.1, 0.7, 1.2];
  const x = Float32Array.from({ length: N * D }, (_, i) => scales[i % D]! * rng.normal() + 0.2);
  const y = Float32Array.from({ length: N }, () => rng.normal());
  return { name: 'linreg', inputShape: [D], x, y, task: 'regression', outputDim: 1 };
}

/** AᵀA/N for A = [X 1] (layout order: fc1.weight [1, D], then fc1.bias [1]). */
function exactHessian(data: Dataset): Float64Array {
  const n = D + 1;
  const h = new Float64Array(n * n);
  for (let s = 0; s < N; s++) {
    const a = [...Array.from(data.x.subarray(s * D, (s + 1) * D)), 1];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] += (a[i]! * a[j]!) / N;
  }
  return h;
}

describe('positive-definite Hessian (linear least squares)', () => {
  const data = regressionData();
  const model = buildModel({ type: 'mlp', hidden: [] }, [D], 1);
  const theta = model.init(1);
  const ev = jacobiEigenvalues(exactHessian(data), D + 1);
  const lmin = ev[0]!;
  const lmax = ev[D]!;
  const engines: LossEngine[] = [];

  beforeAll(async () => {
    engines.push(await JaxEngine.create(model, data, { dtype: 'float64' }));
    engines.push(await OrtEngine.create(model, data, { dtype: 'float64', threads: 1 }));
  });
  afterAll(async () => {
    for (const e of engines) await e.dispose();
  });

  it('the case is one the reference method cannot handle: λmin > 0.02·λmax > 0', () => {
    expect(model.layout.size).toBe(D + 1);
    expect(lmin).toBeGreaterThan(0.02 * lmax);
  });

  it('ours: λmin and λmax of AᵀA/N to 1e-8, positive λmin', async () => {
    for (const e of engines) {
      const r = await pointEigenvalues(e, theta, { tol: 1e-12 });
      expect(Math.abs(r.lambdaMax - lmax) / lmax, e.description).toBeLessThan(1e-8);
      expect(Math.abs(r.lambdaMin - lmin) / lmax, e.description).toBeLessThan(1e-8);
      expect(r.lambdaMin).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(lmin / lmax, 8);
    }
  });

  it("the reference code's method returns λmax again as its λmin", async () => {
    const r = await referenceMethodEigenvalues(hessianOperator(engines[0]!, theta, 'all'));
    expect(Math.abs(r.lambdaMax - lmax) / lmax).toBeLessThan(1e-8);
    expect(Math.abs(r.lambdaMin - lmax) / lmax).toBeLessThan(1e-8); // wrong: the true λmin is lmin
    expect(Math.abs(r.lambdaMin - lmin) / lmax).toBeGreaterThan(0.1);
  });

  it("params ndim>1 (bias held fixed): XᵀX/N's extremes", async () => {
    const x = new Float64Array(D * D);
    for (let s = 0; s < N; s++) for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) x[i * D + j] += (data.x[s * D + i]! * data.x[s * D + j]!) / N;
    const e = jacobiEigenvalues(x, D);
    const r = await pointEigenvalues(engines[0]!, theta, { params: 'ndim>1', tol: 1e-12 });
    expect(r.dim).toBe(D);
    expect(Math.abs(r.lambdaMax - e[D - 1]!) / e[D - 1]!).toBeLessThan(1e-8);
    expect(Math.abs(r.lambdaMin - e[0]!) / e[D - 1]!).toBeLessThan(1e-8);
  });
});
