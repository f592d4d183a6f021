/**
 * Run-level eigenvalue maps: hessian/ckpt-XXXX.h5 on each checkpoint's plane,
 * the manifest (frames[k].hessian, manifest.hessian), resuming, the pipeline's
 * way of calling (its engine and in-memory manifest), and the sharpness table.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/registry.js';
import { readH5 } from '../../src/io/h5.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { buildModel } from '../../src/model/zoo.js';
import { type RunConfig, resolveConfig } from '../../src/run/config.js';
import { prepareData } from '../../src/run/data.js';
import { checkpointEigenmap, computeRunEigenmaps, hessianCheckpoints, resolveHessianSpec } from '../../src/run/eigenmaps.js';
import { runPipeline } from '../../src/run/pipeline.js';
import { runSharpness, SHARPNESS_CSV_COLUMNS, sharpnessCsv } from '../../src/run/sharpness.js';
import { RunStore } from '../../src/store/run-store.js';
import { tinyConfig } from '../helpers/cli.js';

describe('hessianCheckpoints', () => {
  it('every k-th index and the last', () => {
    expect(hessianCheckpoints([0, 1, 2, 3, 4], 2)).toEqual([0, 2, 4]);
    expect(hessianCheckpoints([4, 0, 1, 2, 3, 5], 2)).toEqual([0, 2, 4, 5]);
    expect(hessianCheckpoints([0, 1, 2], 1)).toEqual([0, 1, 2]);
  });
  it('without the initial weights (hessian.initial: false), unless checkpoint 0 is the last', () => {
    expect(hessianCheckpoints([0, 1, 2, 3, 4], 2, false)).toEqual([2, 4]);
    expect(hessianCheckpoints([0], 3, false)).toEqual([0]);
  });
});

describe('eigenvalue maps of a run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-run-hessian-'));
  let cfg: RunConfig;
  let store: RunStore;

  beforeAll(async () => {
    cfg = resolveConfig(tinyConfig({ hessian: { x: '-1:1:3', y: '-1:1:3', every: 2, tol: 1e-5 } }));
    await runPipeline(cfg, dir);
    store = new RunStore(dir);
  }, 300_000);

  it('maps every `every`-th checkpoint and the last; lists them in the manifest', async () => {
    const m0 = store.readManifest();
    const indices = m0.checkpoints.map((c) => c.index);
    const expected = hessianCheckpoints(indices, 2);
    const r = await computeRunEigenmaps(store, cfg);
    expect(r.frames.map((f) => f.checkpoint)).toEqual(expected);
    expect(r.skipped).toEqual([]);
    const m = store.readManifest();
    expect(m.hessian).toEqual({ params: 'all', grid: '-1:1:3 × -1:1:3' });
    expect(m.timings.hessian_s).toBeGreaterThan(0);
    for (const f of m.frames) {
      if (expected.includes(f.checkpoint)) {
        expect(f.hessian).toBe(`hessian/ckpt-${String(f.checkpoint).padStart(4, '0')}.h5`);
        expect(f.surface).toBeDefined(); // the surface entry is kept
        const h = await readH5(store.path(f.hessian!));
        expect(h.get('max_eig')!.shape).toEqual([3, 3]);
        expect(h.attrs.params).toBe('all');
        expect(h.attrs.checkpoint).toBe(f.checkpoint);
        expect(h.attrs.dir_file).toBe(f.directions);
        const g = await readGridFile(store.path(f.hessian!));
        expect(Array.from(g.done).every((d) => d === 1)).toBe(true);
        for (let k = 0; k < 9; k++) expect(g.values.max_eig![k]!).toBeGreaterThanOrEqual(g.values.min_eig![k]!);
        // hessian.certify defaults on: every point checked and certified
        expect(Array.from(g.values.certified!)).toEqual(new Array(9).fill(1));
        expect(h.attrs.certify_tol).toBe(1e-5);
      } else {
        expect(f.hessian).toBeUndefined();
      }
    }
    // a rerun computes nothing
    const again = await computeRunEigenmaps(store, cfg);
    expect(again.frames.reduce((a, f) => a + f.stats.points, 0)).toBe(0);
  }, 300_000);

  it("the pipeline's call: its engine and in-memory manifest, same fingerprint as the CLI's", async () => {
    const m = store.readManifest();
    const data = await prepareData(cfg.data);
    const model = buildModel(cfg.model, data.train.inputShape, data.train.outputDim);
    const engine = await createEngine(model, data.evalSubset, { backend: cfg.engine.backend, mode: cfg.surface.mode });
    const thetas = await store.readCheckpoints();
    const last = Math.max(...thetas.keys());
    const spec = resolveHessianSpec(cfg);
    const r = await checkpointEigenmap({ store, cfg, spec, engine, index: last, theta: thetas.get(last)!.theta, configHash: m.configHash, manifest: m });
    await engine.dispose();
    expect(r!.stats.points).toBe(0); // already computed by computeRunEigenmaps: resumed, not refused
    expect(r!.stats.resumed).toBe(9);
    expect(m.frames.find((f) => f.checkpoint === last)!.hessian).toBe(r!.file);
  }, 300_000);

  it('a checkpoint without a directions file is skipped with a warning', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'losscape-run-hessian-nodir-'));
    const cfg2 = resolveConfig(tinyConfig({ surface: { x: '-1:1:3', y: '-1:1:3', every: 2 }, hessian: { x: '-1:1:3', y: null } }));
    await runPipeline(cfg2, d2);
    const s2 = new RunStore(d2);
    const warnings: string[] = [];
    const r = await computeRunEigenmaps(s2, cfg2, {
      progress: { task: () => ({ update() {}, end() {} }), log() {}, warn: (l) => warnings.push(l) },
    });
    expect(r.skipped).toEqual([1]);
    expect(warnings.join('\n')).toMatch(/checkpoint 1: no directions\/ckpt-0001\.h5/);
    const h = await readH5(s2.path('hessian/ckpt-0000.h5'));
    expect(h.get('min_eig')!.shape).toEqual([3]);
    expect(existsSync(s2.path('hessian/ckpt-0001.h5'))).toBe(false);
  }, 300_000);

  it('hessian.certify: false skips the check: points converged, none certified, a map of its own', async () => {
    const off = resolveConfig(tinyConfig({ hessian: { x: '-1:1:3', y: '-1:1:3', every: 2, tol: 1e-5, certify: false } }));
    const spec = resolveHessianSpec(off);
    expect(spec).toMatchObject({ certify: false });
    const m = store.readManifest();
    const last = Math.max(...m.checkpoints.map((c) => c.index));
    const r = await computeRunEigenmaps(store, off, { checkpoints: [last], fresh: true });
    expect(r.frames[0]!.stats.points).toBe(9);
    expect(r.frames[0]!.stats.certifyHvps).toBe(0);
    const g = await readGridFile(store.path(r.frames[0]!.file));
    expect(Array.from(g.values.converged!)).toEqual(new Array(9).fill(1));
    expect(Array.from(g.values.certified!)).toEqual(new Array(9).fill(0));
    expect((await readH5(store.path(r.frames[0]!.file))).attrs.certify_tol).toBe(0);
    // the default config's map has another fingerprint: refused as stale, recomputed with fresh
    await expect(computeRunEigenmaps(store, cfg, { checkpoints: [last] })).rejects.toThrow(/certify_tol|stale|settings|fresh/i);
    const on = await computeRunEigenmaps(store, cfg, { checkpoints: [last], fresh: true });
    expect(on.frames[0]!.stats.certifyHvps).toBeGreaterThan(0);
  }, 300_000);

  it('sharpness per checkpoint with the train/test gap', async () => {
    const rows = await runSharpness(store, cfg, { traceProbes: 10 });
    const m = store.readManifest();
    expect(rows.map((r) => r.checkpoint)).toEqual(m.checkpoints.map((c) => c.index));
    for (const r of rows) {
      const ck = m.checkpoints.find((c) => c.index === r.checkpoint)!;
      expect(r.gapLoss).toBeCloseTo(ck.test_loss! - ck.train_loss, 12);
      expect(r.gapAcc).toBeCloseTo(ck.train_acc - ck.test_acc!, 12);
      expect(r.lambdaMax).toBeGreaterThan(r.lambdaMin);
      expect(r.epsSharpness).toBeGreaterThanOrEqual(0);
    }
    const csv = sharpnessCsv(rows).trim().split('\n');
    expect(csv[0]).toBe(SHARPNESS_CSV_COLUMNS.join(','));
    expect(csv).toHaveLength(rows.length + 1);
  }, 300_000);
});
