import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gridPoints, parseAxis } from '../../src/core/grid.js';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { randomPlane } from '../../src/directions/directions.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { buildModel } from '../../src/model/zoo.js';
import { quadraticModel } from '../../src/studies/taylor/model.js';
import { taylorSurface } from '../../src/studies/taylor/study.js';

/** A regression set y = A x + noise (3 inputs, 2 targets). */
function regression(n: number, seed: number): Dataset {
  const rng = new Rng(seed, 'default', 0);
  const x = new Float32Array(n * 3);
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) x[i * 3 + j] = rng.normal();
    y[i * 2] = 0.5 * x[i * 3]! - x[i * 3 + 1]! + 0.3 * rng.normal();
    y[i * 2 + 1] = 2 * x[i * 3 + 2]! + 0.1 + 0.3 * rng.normal();
  }
  return { name: 'linear-regression', inputShape: [3], x, y, task: 'regression', outputDim: 2 };
}

describe('Taylor view', () => {
  it('is exact for a quadratic loss (linear model, MSE), float64 engine', async () => {
    const data = regression(64, 1);
    const model = buildModel({ type: 'mlp', hidden: [] }, [3], 2);
    const engine = await JaxEngine.create(model, data, { dtype: 'float64' });
    const theta = model.init(5);
    const plane = randomPlane(theta, model.layout, { seed: 9, norm: 'filter', ignore: 'none' });
    const grid = { x: parseAxis('-2:2:9'), y: parseAxis('-1.5:1.5:7') };
    const dir = mkdtempSync(join(tmpdir(), 'losscape-taylor-'));
    const r = await taylorSurface({ engine, theta, dx: plane.dx, dy: plane.dy, grid, path: join(dir, 't.h5'), tol: 0.1, context: { t: 1 } });
    expect(r.coefficients.asymmetry).toBeLessThan(1e-10);
    let maxRel = 0;
    for (let i = 0; i < r.loss.length; i++) {
      const e = Math.abs(r.channels.taylor_loss[i]! - r.loss[i]!) / Math.max(1, Math.abs(r.loss[i]!));
      maxRel = Math.max(maxRel, e);
    }
    expect(maxRel).toBeLessThan(1e-6);
    expect(r.summary.agreeFraction).toBe(1);
    expect(r.summary.firstBreak).toBe(Infinity);
    // the landscape is far from flat: the quadratic terms matter
    expect(Math.max(...r.loss) / Math.min(...r.loss)).toBeGreaterThan(1.5);
    // the file holds both, with the mask channel
    const gf = await readGridFile(join(dir, 't.h5'));
    expect([...gf.values.taylor_agree!].every((v) => v === 1)).toBe(true);
    expect(gf.values.taylor_loss![5]).toBeCloseTo(r.channels.taylor_loss[5]!, 12);
    expect(gf.attrs.taylor_tol).toBe(0.1);
    await engine.dispose();
  });

  it('marks where the quadratic picture breaks (cross-entropy MLP, far from the centre)', async () => {
    const rng = new Rng(2, 'default', 0);
    const n = 90;
    const x = Float32Array.from({ length: n * 2 }, () => rng.normal());
    const y = Int32Array.from({ length: n }, (_, i) => (x[2 * i]! * x[2 * i + 1]! > 0 ? 1 : 0));
    const data: Dataset = { name: 'xor', inputShape: [2], x, y, task: 'classification', outputDim: 2 };
    const model = buildModel({ type: 'mlp', hidden: [8], activation: 'tanh' }, [2], 2);
    const engine = await JaxEngine.create(model, data, { dtype: 'float64' });
    const theta = model.init(1);
    const plane = randomPlane(theta, model.layout, { seed: 3 });
    const grid = { x: parseAxis('-3:3:9'), y: parseAxis('-3:3:9') };
    const dir = mkdtempSync(join(tmpdir(), 'losscape-taylor-'));
    const r = await taylorSurface({ engine, theta, dx: plane.dx, dy: plane.dy, grid, path: join(dir, 't.h5'), tol: 0.1 });
    // exact at the centre, and the mask is consistent with the channels
    const pts = gridPoints(grid);
    const centre = 4 * 9 + 4;
    expect(pts[2 * centre]).toBe(0);
    expect(r.channels.taylor_loss[centre]).toBeCloseTo(r.loss[centre]!, 6);
    expect(r.channels.taylor_agree[centre]).toBe(1);
    for (let i = 0; i < r.loss.length; i++) {
      expect(r.channels.taylor_loss[i]).toBeCloseTo(quadraticModel(r.coefficients, pts[2 * i]!, pts[2 * i + 1]!), 12);
      expect(r.channels.taylor_agree[i]).toBe(Math.abs(r.channels.taylor_loss[i]! - r.loss[i]!) <= 0.1 * r.loss[i]! ? 1 : 0);
    }
    expect(r.summary.agreeFraction).toBeLessThan(1);
    expect(r.summary.agreeRadius).toBeLessThan(r.summary.firstBreak);
    await engine.dispose();
  });
});
