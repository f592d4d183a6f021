import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { hessianOperator } from '../../src/hessian/operator.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { lanczos } from '../../src/linalg/lanczos.js';
import { buildModel } from '../../src/model/zoo.js';
import { resolveConfig } from '../../src/run/config.js';
import { prepareData } from '../../src/run/data.js';
import { RunStore } from '../../src/store/run-store.js';
import { cli, tinyConfig } from '../helpers/cli.js';

describe('a run config with a hessian section', () => {
  it('writes λmin/λmax maps next to the landscapes at every k-th checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'losscape-hrun-'));
    const cfgPath = join(dir, 'h.json');
    writeFileSync(cfgPath, JSON.stringify(tinyConfig({ hessian: { x: '-1:1:3', y: '-1:1:3', every: 2 } })));
    const run = join(dir, 'run');
    const r = cli(['run', cfgPath, '--out', run, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const store = new RunStore(run);
    const m = store.readManifest();
    expect(m.frames.map((f) => Boolean(f.hessian))).toEqual([true, false, true]);
    expect(m.frames.every((f) => f.surface)).toBe(true);
    const h = await readGridFile(join(run, m.frames[2]!.hessian!));
    expect(h.grid).toEqual({ x: { min: -1, max: 1, n: 3 }, y: { min: -1, max: 1, n: 3 } });
    const mx = h.values.max_eig!;
    const mn = h.values.min_eig!;
    for (let k = 0; k < 9; k++) {
      expect(mn[k]!).toBeLessThanOrEqual(mx[k]!);
      expect(h.values.eig_ratio![k]).toBeCloseTo(Math.abs(mn[k]! / mx[k]!), 12);
    }
    // the centre agrees with an independent Lanczos run on the jax-js engine
    const cfg = resolveConfig(m.config);
    const d = await prepareData(cfg.data);
    const model = buildModel(cfg.model, d.train.inputShape, d.train.outputDim);
    const theta = (await store.readCheckpoints()).get(2)!.theta;
    const e = await JaxEngine.create(model, d.evalSubset);
    const ref = await lanczos(hessianOperator(e, theta, 'all'), { tol: 1e-8, seed: 7 });
    expect(Math.abs(mx[4]! - ref.lambdaMax) / ref.lambdaMax).toBeLessThan(1e-3);
    expect(Math.abs(mn[4]! - ref.lambdaMin) / ref.lambdaMax).toBeLessThan(1e-3);
    e.dispose();
    // a rerun of the complete run computes nothing new
    const again = cli(['run', cfgPath, '--out', run]);
    expect(again.code).toBe(0);
    expect(store.readManifest().frames).toEqual(m.frames);
  });
});
