/**
 * data.subset.errorBars: every landscape's centre row and column evaluated on K other subsets
 * (seeds seed+1 … seed+K), stored in spread/ckpt-XXXX.h5 and listed in the manifest.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pointWeights } from '../../src/core/plane.js';
import { take } from '../../src/data/dataset.js';
import { subsetIndices } from '../../src/data/subset.js';
import { readDirectionFile } from '../../src/directions/file.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { asFloat64, readH5 } from '../../src/io/h5.js';
import { buildModel } from '../../src/model/zoo.js';
import { resolveConfig } from '../../src/run/config.js';
import { prepareData } from '../../src/run/data.js';
import { runPipeline } from '../../src/run/pipeline.js';
import { centreLines, columnStd } from '../../src/run/subset-spread.js';
import { RunStore } from '../../src/store/run-store.js';
import { tinyConfig } from '../helpers/cli.js';

describe('subset error bars', () => {
  it('centre lines: the row nearest β = 0 and the column nearest α = 0', () => {
    const l = centreLines({ x: { min: -1, max: 1, n: 5 }, y: { min: -0.3, max: 0.9, n: 5 } });
    expect(l.rowY).toBeCloseTo(0); // -0.3, 0, 0.3, …
    expect(l.colX).toBe(0);
    expect(Array.from(l.row.filter((_, k) => k % 2 === 0))).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(Array.from(l.col!.filter((_, k) => k % 2 === 0))).toEqual([0, 0, 0, 0, 0]);
    expect(centreLines({ x: { min: -1, max: 1, n: 3 } }).col).toBeNull();
    // sample standard deviation per column of a [K, n] array
    expect(Array.from(columnStd(Float64Array.from([1, 10, 3, 10]), 2, 2))).toEqual([Math.SQRT2, 0]);
  });

  it('a run with errorBars: 3 stores the centre row and column on 3 other subsets for every landscape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'losscape-spread-'));
    const raw = tinyConfig({ train: { epochs: 1, batchSize: 64, optimizer: { type: 'adam', lr: 0.01 }, seed: 3 } });
    (raw.data as { subset: Record<string, number> }).subset.errorBars = 3;
    const cfg = resolveConfig(raw);
    const m = await runPipeline(cfg, dir);
    expect(m.frames.length).toBeGreaterThan(1);
    const store = new RunStore(dir);
    const thetas = await store.readCheckpoints();
    const data = await prepareData(cfg.data);
    const model = buildModel(cfg.model, data.train.inputShape, data.train.outputDim);
    const other = take(data.train, subsetIndices(data.train, { size: 120, seed: 2 }));
    const engine = await JaxEngine.create(model, other);
    for (const f of m.frames) {
      expect(f.spread).toBe(`spread/ckpt-${String(f.checkpoint).padStart(4, '0')}.h5`);
      const h = await readH5(store.path(f.spread!));
      expect(h.get('row_loss')!.shape).toEqual([3, 9]);
      expect(h.get('col_loss')!.shape).toEqual([3, 7]);
      expect(Array.from(asFloat64(h.get('seeds')!.value, 'seeds'))).toEqual([2, 3, 4]);
      expect(h.attrs.row_y).toBeCloseTo(0, 12);
      expect(h.attrs.col_x).toBeCloseTo(0, 12);
      const row = asFloat64(h.get('row_loss')!.value, 'row_loss');
      expect(Array.from(asFloat64(h.get('row_std')!.value, 'row_std'))).toEqual(Array.from(columnStd(row, 3, 9)));
      // the first other subset (seed 2) at α = 1, β = 0, evaluated here independently
      const dirs = await readDirectionFile(store.path(f.directions!), model.layout);
      const w = new Float32Array(model.layout.size);
      pointWeights(thetas.get(f.checkpoint)!.theta, dirs.dx, dirs.dy!, 1, 0, w);
      const ref = (await engine.evaluate(w)).loss;
      expect(Math.abs(row[8]! - ref) / ref).toBeLessThan(1e-5);
      // the other subsets differ from each other
      expect(row[8]).not.toBe(row[9 + 8]);
    }
    engine.dispose();
    // a rerun computes nothing new and keeps the files
    const again = await runPipeline(cfg, dir);
    expect(again.frames.map((f) => f.spread)).toEqual(m.frames.map((f) => f.spread));
  }, 120_000);
});
