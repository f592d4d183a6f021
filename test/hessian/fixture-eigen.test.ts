/**
 * The reference fixture (MLP 784-64-10 on 1000 MNIST digits): eigen.json's
 * λmax / λmin of the TRUE mean-loss Hessian on its 5×5 grid, for both parameter
 * choices, the top-5 and the Hutchinson trace at the centre, with the ONNX
 * Runtime engine in float32. λmin is compared in units of λmax (README).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { computeEigenmap } from '../../src/hessian/eigenmap.js';
import { pointEigenvalues, pointTrace } from '../../src/hessian/point.js';
import { readH5 } from '../../src/io/h5.js';
import { buildModel } from '../../src/model/zoo.js';
import { fixtureData, fixtureDirections, fixtureEigen, fixtureTheta } from '../helpers/fixture.js';

const VARIANTS = [
  { params: 'all' as const, key: 'all_params', dim: 50890 },
  { params: 'ndim>1' as const, key: 'weights_only_ndim_gt_1', dim: 50816 },
];

describe('reference fixture: true mean-loss Hessian (eigen.json)', () => {
  const ref = fixtureEigen();
  const theta = fixtureTheta();
  let dx: Float32Array;
  let dy: Float32Array;
  let engine: OrtEngine;
  const dir = mkdtempSync(join(tmpdir(), 'losscape-hessian-fixture-'));

  beforeAll(async () => {
    [dx, dy] = await fixtureDirections();
    const model = buildModel({ type: 'mlp', hidden: [64] }, [784], 10);
    engine = await OrtEngine.create(model, fixtureData(), { dtype: 'float32', threads: 1 });
  });
  afterAll(async () => {
    await engine.dispose();
  });

  const CASES = [...VARIANTS.map((v) => ({ ...v, convergence: undefined })), { ...VARIANTS[0]!, convergence: 'residual' as const }];
  for (const v of CASES) {
    it(`params ${v.params}, ${v.convergence ?? 'default'} convergence: λmax and λmin on the 5×5 grid to 1e-5 (λmin in units of λmax)`, async () => {
      const path = join(dir, `eig-${v.key}-${v.convergence ?? 'default'}.h5`);
      const { file, stats } = await computeEigenmap({
        engine,
        theta,
        dx,
        dy,
        grid: { x: { min: -1, max: 1, n: 5 }, y: { min: -1, max: 1, n: 5 } },
        path,
        params: v.params,
        convergence: v.convergence,
        context: 'fixture',
      });
      const g = ref.grid[v.key];
      let worstMax = 0;
      let worstMin = 0;
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) {
          const k = i * 5 + j;
          const lmax = g.lambda_max[i][j] as number;
          const lmin = g.lambda_min[i][j] as number;
          worstMax = Math.max(worstMax, Math.abs(file.values.max_eig![k]! - lmax) / lmax);
          worstMin = Math.max(worstMin, Math.abs(file.values.min_eig![k]! - lmin) / lmax);
          expect(file.values.eig_ratio![k]).toBeCloseTo(Math.abs(lmin / lmax), 3);
          expect(file.values.converged![k]).toBe(1);
        }
      }
      expect(worstMax).toBeLessThan(1e-5);
      expect(worstMin).toBeLessThan(1e-5);
      expect(stats.points).toBe(25);
      expect(stats.unconverged).toBe(0);
      // the file: reference layout, [ny, nx] float64 channels, params attribute
      const h = await readH5(path);
      for (const c of ['max_eig', 'min_eig', 'eig_ratio', 'hvps']) expect(h.get(c)!.shape).toEqual([5, 5]);
      expect(Array.from(h.get('xcoordinates')!.value as Float64Array)).toEqual([-1, -0.5, 0, 0.5, 1]);
      expect(h.attrs.params).toBe(v.params);
      expect(h.attrs.convergence).toBe(v.convergence ?? 'eigenvalue');
      expect(h.attrs.tol).toBe(v.convergence === 'residual' ? 1e-5 : 1e-6);
      const hvps = h.get('hvps')!.value as Float64Array;
      expect(Math.max(...hvps)).toBeLessThanOrEqual(200);
      expect(hvps.reduce((a, b) => a + b, 0)).toBe(stats.hvps);
      if (process.env.HESSIAN_VERBOSE) {
        console.log(v.key, { worstMax, worstMin, hvpsPerPoint: stats.hvps / 25, msPerPoint: stats.ms / 25, msPerHvp: stats.hvpMs / stats.hvps });
      }
    }, 600_000);

    it(`params ${v.params}: top-5 and trace at the centre`, async () => {
      const c = ref.center;
      const top = c[`top5_${v.key}`].values as number[];
      const r = await pointEigenvalues(engine, theta, { params: v.params, top: 5, tol: 1e-6 });
      expect(r.dim).toBe(v.dim);
      for (let i = 0; i < 5; i++) expect(Math.abs(r.top![i]! - top[i]!) / top[0]!).toBeLessThan(1e-4);
      const t = c.hutchinson_trace[v.key];
      const tr = await pointTrace(engine, theta, { params: v.params, probes: 150, seed: 9 });
      expect(Math.abs(tr.trace - t.estimate)).toBeLessThan(3 * Math.hypot(tr.stderr, t.standard_error));
    }, 600_000);
  }
});
