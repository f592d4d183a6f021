/**
 * Tiny models (≤ 200 parameters) against the dense float64 Hessian of the mean
 * loss (jax-js `hessian` = jacfwd(grad) on the cpu backend): engine HVPs,
 * the reduced operator of a parameter selection, Lanczos extremes / top-k
 * against Jacobi eigenvalues, Hutchinson's trace against the exact trace.
 * jax-js's wasm backend computes float64 exp/log/tanh to only ~1e-7 (exp: 6e-7 relative over
 * [-10, 10]), so its float64 HVPs of the softplus MLP are off by 3e-6–1.3e-5 relative (12 probes
 * over 4 initializations, 2026-12-05): it is held to 3e-5. onnxruntime's float64 HVPs agree to
 * ~1e-15 (to ~3e-8 in train-mode batch norm) and are held to 1e-5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { LossEngine } from '../../src/engine/engine.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { hessianOperator } from '../../src/hessian/operator.js';
import { pointEigenvalues, pointTrace } from '../../src/hessian/point.js';
import { gather, type ParamSelection, selectParams } from '../../src/linalg/hessian-operator.js';
import type { Model } from '../../src/model/model.js';
import { buildModel } from '../../src/model/zoo.js';
import { denseHessian, jacobiEigenvalues, matvec, randomData, relErr, submatrix } from './dense.js';

interface Case {
  name: string;
  spec: Record<string, unknown>;
  shape: number[];
  mode?: 'eval' | 'train';
  /** ONNX Runtime has no float64 Conv kernel on CPU: the CNN's ORT check runs in float32. */
  ortDtype?: 'float32' | 'float64';
}

const cases: Case[] = [
  { name: 'MLP tanh', spec: { type: 'mlp', hidden: [8], activation: 'tanh' }, shape: [4] },
  { name: 'MLP softplus, two hidden layers', spec: { type: 'mlp', hidden: [6, 5], activation: 'softplus' }, shape: [4] },
  { name: 'MLP relu', spec: { type: 'mlp', hidden: [10], activation: 'relu' }, shape: [4] },
  { name: 'CNN conv + max pool', spec: { type: 'cnn', channels: [2], kernel: 3, pool: 'max', dense: [] }, shape: [1, 6, 6], ortDtype: 'float32' },
  { name: 'MLP batch norm, eval mode', spec: { type: 'mlp', hidden: [6], activation: 'tanh', batchNorm: true }, shape: [4], mode: 'eval' },
  { name: 'MLP batch norm, train mode', spec: { type: 'mlp', hidden: [6], activation: 'tanh', batchNorm: true }, shape: [4], mode: 'train' },
];

function selectedIndices(model: Model, params: ParamSelection): number[] {
  const sel = selectParams(model.layout, params);
  return sel.segments.flatMap(([o, n]) => Array.from({ length: n }, (_, i) => o + i));
}

for (const c of cases) {
  describe(c.name, () => {
    const model = buildModel(c.spec, c.shape, 3);
    const data: Dataset = randomData(24, c.shape, 3, 11);
    const mode = c.mode ?? 'eval';
    const theta = model.init(7);
    // non-trivial running statistics (they enter the eval-mode loss; train mode ignores them)
    const r0 = new Rng(3);
    for (const e of model.layout.entries) {
      for (let i = e.offset; i < e.offset + e.size; i++) {
        if (e.role === 'running_mean') theta[i] = 0.3 * r0.normal();
        if (e.role === 'running_var') theta[i] = 0.5 + r0.uniform();
      }
    }
    const P = model.layout.size;
    let H: Float64Array;
    const engines: { label: string; engine: LossEngine; tol: number }[] = [];

    beforeAll(async () => {
      expect(P).toBeLessThanOrEqual(200);
      H = await denseHessian(model, data, theta, { train: mode === 'train' });
      engines.push({ label: 'jax-js float64', engine: await JaxEngine.create(model, data, { dtype: 'float64', mode }), tol: 3e-5 });
      const od = c.ortDtype ?? 'float64';
      engines.push({
        label: `onnxruntime ${od}`,
        engine: await OrtEngine.create(model, data, { dtype: od, mode, threads: 1 }),
        tol: od === 'float64' ? 1e-5 : 1e-4,
      });
    });
    afterAll(async () => {
      for (const e of engines) await e.engine.dispose();
    });

    it('engine HVPs equal the dense Hessian times v', async () => {
      const rng = new Rng(21);
      for (const { label, engine, tol } of engines) {
        for (let k = 0; k < 3; k++) {
          const v = rng.normalVector(P);
          const err = relErr(await engine.hvp(theta, v), matvec(H, P, v));
          expect(err, `${label}, probe ${k}`).toBeLessThan(tol);
        }
      }
    });

    for (const params of ['all', 'ndim>1'] as const) {
      it(`params ${params}: the reduced operator is the principal submatrix (no padding zeros)`, async () => {
        const idx = selectedIndices(model, params);
        const expectedDim = model.layout.entries
          .filter((e) => e.role !== 'running_mean' && e.role !== 'running_var' && (params === 'all' || e.shape.length > 1))
          .reduce((a, e) => a + e.size, 0);
        expect(idx.length).toBe(expectedDim);
        const Hs = submatrix(H, P, idx);
        const rng = new Rng(params === 'all' ? 31 : 32);
        for (const { label, engine, tol } of engines) {
          const op = hessianOperator(engine, theta, params);
          expect(op.dim).toBe(idx.length);
          const v = rng.normalVector(op.dim);
          expect(relErr(await op.matvec(v), matvec(Hs, idx.length, v)), label).toBeLessThan(tol);
          expect(op.hvps).toBe(1);
        }
      });

      it(`params ${params}: Lanczos λmin, λmax and top-5 equal the dense eigenvalues to 1e-4`, async () => {
        const idx = selectedIndices(model, params);
        const ev = jacobiEigenvalues(submatrix(H, P, idx), idx.length);
        const n = ev.length;
        const scale = Math.max(Math.abs(ev[0]!), Math.abs(ev[n - 1]!));
        const top = Array.from(ev).reverse().slice(0, 5);
        for (const { label, engine } of engines) {
          const r = await pointEigenvalues(engine, theta, { params, tol: 1e-10, top: 5, seed: 2 });
          expect(r.converged, label).toBe(true);
          expect(Math.abs(r.lambdaMax - ev[n - 1]!) / scale, `${label} λmax`).toBeLessThan(1e-4);
          expect(Math.abs(r.lambdaMin - ev[0]!) / scale, `${label} λmin`).toBeLessThan(1e-4);
          expect(Math.sign(r.lambdaMin)).toBe(Math.sign(ev[0]!));
          for (let i = 0; i < 5; i++) expect(Math.abs(r.top![i]! - top[i]!) / scale, `${label} top ${i}`).toBeLessThan(1e-4);
          // the solve stays within the dimension; the certification check adds its own HVPs
          expect(r.hvps - r.certifyHvps).toBeLessThanOrEqual(n);
          expect(r.certified, label).toBe(true);
        }
      });

      it(`params ${params}: Hutchinson's trace lies within 3 standard errors of the exact trace`, async () => {
        const idx = selectedIndices(model, params);
        let exact = 0;
        for (const i of idx) exact += H[i * P + i]!;
        const { engine } = engines[0]!;
        const r = await pointTrace(engine, theta, { params, probes: 300, seed: 5 });
        expect(r.hvps).toBe(300);
        expect(r.stderr).toBeGreaterThan(0);
        expect(Math.abs(r.trace - exact)).toBeLessThan(3 * r.stderr);
      });
    }

    it('gather of a full HVP equals the operator (selection bookkeeping)', async () => {
      const sel = selectParams(model.layout, 'ndim>1');
      const { engine } = engines[0]!;
      const v = new Rng(4).normalVector(sel.dim);
      const full = new Float64Array(P);
      let k = 0;
      for (const [o, n] of sel.segments) for (let i = 0; i < n; i++) full[o + i] = v[k++]!;
      const viaFull = gather(sel, await engine.hvp(theta, full));
      const viaOp = await hessianOperator(engine, theta, 'ndim>1').matvec(v);
      expect(relErr(viaOp, viaFull)).toBeLessThan(1e-14);
    });
  });
}
