import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm, { type Dataset as H5Dataset } from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { buildModel } from '../../src/model/zoo.js';
import { resolveConfig } from '../../src/run/config.js';
import { prepareData } from '../../src/run/data.js';
import { RunStore } from '../../src/store/run-store.js';
import { cli, tinyConfig } from '../helpers/cli.js';

describe('1-D slices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-interp-'));
  const cfgPath = join(dir, 'tiny.json');
  writeFileSync(cfgPath, JSON.stringify(tinyConfig()));
  const run = join(dir, 'run');

  it('interpolates init → final beyond [0, 1], with the checkpoints at α = 0 and α = 1', async () => {
    expect(cli(['run', cfgPath, '--out', run, '--quiet']).code).toBe(0);
    const out = join(dir, 'interp.h5');
    const r = cli(['interpolate', run, '--from', '0', '--to', 'last', '--x', '-0.5:1.5:9', '--backend', 'jax', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/loss .* at α = 0, .* at α = 1/);
    await h5wasm.ready;
    const f = new h5wasm.File(out, 'r');
    const xs = (f.get('xcoordinates') as H5Dataset).value as Float64Array;
    const ds = f.get('train_loss') as H5Dataset;
    expect(ds.shape).toEqual([9]);
    expect(f.get('ycoordinates')).toBeNull();
    const loss = ds.value as Float64Array;
    f.close();
    expect([...xs]).toEqual([-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5]);
    const cfg = resolveConfig(new RunStore(run).readManifest().config);
    const d = await prepareData(cfg.data);
    const model = buildModel(cfg.model, d.train.inputShape, d.train.outputDim);
    const thetas = await new RunStore(run).readCheckpoints();
    const e = await JaxEngine.create(model, d.evalSubset);
    expect(loss[2]).toBe((await e.evaluate(thetas.get(0)!.theta)).loss);
    expect(loss[6]).toBeCloseTo((await e.evaluate(thetas.get(2)!.theta)).loss, 6);
    expect(loss[6]!).toBeLessThan(loss[2]!);
    e.dispose();
  });

  it('a random 1-D slice: surface without --y', async () => {
    const out = join(dir, 'slice.h5');
    expect(cli(['surface', run, '--x', '-1:1:7', '--out', out, '--quiet']).code).toBe(0);
    const f = new h5wasm.File(out, 'r');
    expect((f.get('train_loss') as H5Dataset).shape).toEqual([7]);
    expect((f.get('test_loss') as H5Dataset).shape).toEqual([7]);
    f.close();
  });

  it('bad interpolation flags: one line', () => {
    const r = cli(['interpolate', run, '--to', '9', '--out', join(dir, 'x.h5')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no checkpoint 9/);
  });
});
