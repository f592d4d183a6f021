/**
 * The live session in Node: the same data, directions and landscape values as the CLI's
 * run pieces, settings that continue from the current weights, the URL round trip, and a
 * saved session that becomes a run folder whose surfaces equal the session's (1e-5).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridPoints } from '../../src/core/grid.js';
import type { TrainTest } from '../../src/data/dataset.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { readH5 } from '../../src/io/h5.js';
import { configFromQuery, configToQuery, LiveConfig, runConfigOf } from '../../src/live/config.js';
import { DIGIT_SIZES, type DigitSet, decodeDigits, encodeDigits, setDigitLoader } from '../../src/live/digits.js';
import { parseSession, saveSessionRun } from '../../src/live/save.js';
import { LiveSession, type LiveSurface, landscapeAt } from '../../src/live/session.js';
import { decodeFloats, encodeFloats, sessionDoc } from '../../src/live/session-file.js';
import type { ModelSpec } from '../../src/model/spec.js';
import { buildModel } from '../../src/model/zoo.js';
import { resolveConfig } from '../../src/run/config.js';
import { prepareData } from '../../src/run/data.js';
import { specPlane } from '../../src/run/directions.js';
import { RunStore } from '../../src/store/run-store.js';

const CONFIG = LiveConfig.parse({ n: 400, hidden: [16, 16], grid: 9, hessianGrid: 3, checkpointEvery: 10, lr: 0.1 });

let session: LiveSession;
let surface: LiveSurface;

beforeAll(async () => {
  session = await LiveSession.create(CONFIG);
  await session.train(25);
  surface = await session.surface();
});

afterAll(() => session?.dispose());

describe('live session', () => {
  it('uses the data split and evaluation subset of the equivalent run config', async () => {
    const cfg = resolveConfig(runConfigOf(CONFIG, 'live', 1));
    const data = await prepareData(cfg.data);
    expect(session.data.subset.indices).toEqual(data.subset.indices);
    expect(session.data.evalSubset.x).toEqual(data.evalSubset.x);
    expect(session.data.train.y.length).toBe(320);
    expect(session.data.evalSubset.y.length).toBe(80);
  });

  it("evaluates the run config's plane with the engine's values", async () => {
    const cfg = resolveConfig(runConfigOf(CONFIG, 'live', 1));
    const plane = specPlane(surface.theta, session.model.layout, cfg.directions);
    expect(surface.plane.dx).toEqual(plane.dx);
    expect(surface.plane.dy).toEqual(plane.dy);
    const ref = await session.engine.evaluatePlane(surface.theta, plane.dx, plane.dy, gridPoints(surface.grid));
    expect(surface.values.loss).toEqual(ref.loss);
    const centre = await session.engine.evaluate(surface.theta);
    expect(surface.values.loss[40]).toBeCloseTo(centre.loss, 12);
  });

  it('keeps checkpoints at every checkpointEvery steps with full-split metrics', () => {
    expect(session.checkpoints.map((c) => c.step)).toEqual([0, 10, 20]);
    expect(session.history.at(-1)!.step).toBe(20);
    expect(session.checkpoints[2]!.metrics.train_loss).toBeLessThan(session.checkpoints[0]!.metrics.train_loss);
  });

  it('continues from the current weights when the optimizer, learning rate or batch size change', async () => {
    const s = await LiveSession.create(CONFIG);
    try {
      await s.train(3);
      const before = await s.theta();
      await s.reconfigure({ ...CONFIG, optimizer: 'adam', lr: 0.01, batchSize: 16 });
      expect(await s.theta()).toEqual(before);
      await s.train(2);
      expect(s.step).toBe(5);
      expect(await s.theta()).not.toEqual(before);
      await expect(s.reconfigure({ ...s.config, hidden: [8] })).rejects.toThrow(/start a new session/);
    } finally {
      s.dispose();
    }
  });

  it('trains an MLP with skip connections: the run config builds the same network and landscape', async () => {
    const c = { ...CONFIG, skip: true };
    const s = await LiveSession.create(c);
    try {
      expect(s.model.name).toBe('mlp 2-16-16-3 relu skip');
      await s.train(20);
      expect(s.history.at(-1)!.train_loss).toBeLessThan(s.history[0]!.train_loss);
      const cfg = resolveConfig(runConfigOf(c, 'live', 1));
      expect(cfg.model).toMatchObject({ type: 'mlp', skip: true });
      const model = buildModel(cfg.model as ModelSpec, [2], 3);
      expect(model.name).toBe(s.model.name);
      const sf = await s.surface();
      const engine = await JaxEngine.create(model, s.data.evalSubset, { conv: 'lax' });
      const ref = await engine.evaluatePlane(sf.theta, sf.plane.dx, sf.plane.dy, gridPoints(sf.grid));
      engine.dispose();
      expect(sf.values.loss).toEqual(ref.loss);
    } finally {
      s.dispose();
    }
  });

  it('gives Hessian extremes at plane points (λmax ≥ |λmin| ratio in [0, 1])', async () => {
    const e = await session.eigenAt(surface.theta, surface.plane, 0, 0);
    expect(e.lambdaMax).toBeGreaterThan(0);
    expect(e.lambdaMin).toBeLessThanOrEqual(e.lambdaMax);
    expect(e.ratio).toBeCloseTo(Math.abs(e.lambdaMin / e.lambdaMax), 12);
  });

  it("evaluates a landscape in bands of rows (the page's workers) with the same values", async () => {
    const whole = await landscapeAt(session.engine, session.model, CONFIG, surface.theta, 25);
    const top = await landscapeAt(session.engine, session.model, CONFIG, surface.theta, 25, [0, 4]);
    const bottom = await landscapeAt(session.engine, session.model, CONFIG, surface.theta, 25, [4, 9]);
    expect(whole.values.loss).toEqual(surface.values.loss);
    expect([...top.values.loss, ...bottom.values.loss]).toEqual([...whole.values.loss]);
  });

  it('decision boundary: class probabilities that sum to one', async () => {
    const p = await session.boundary(8, session.dataBox());
    expect(p.length).toBe(8 * 8 * 3);
    for (let k = 0; k < 64; k++) expect(p[3 * k]! + p[3 * k + 1]! + p[3 * k + 2]!).toBeCloseTo(1, 5);
  });
});

describe('live image data (bundled MNIST / Fashion-MNIST subsets) and the digit CNN', () => {
  // in Node the bundle's source: the CLI's own data pipeline (what bundle-digits.ts encodes)
  const cliSplits = async (set: DigitSet): Promise<TrainTest> => {
    const data = await prepareData(resolveConfig(runConfigOf(LiveConfig.parse({ data: set }), 'live', 1)).data);
    return { train: data.train, test: data.test };
  };

  it("bundles the CLI's train and test subsets exactly", async () => {
    const tt = await cliSplits('mnist');
    expect(tt.train.y.length).toBe(DIGIT_SIZES.train);
    expect(tt.test.y.length).toBe(DIGIT_SIZES.test);
    const text = await encodeDigits('mnist', tt);
    expect(text.length).toBeLessThan(700_000);
    const back = await decodeDigits(text);
    expect(back.train.x).toEqual(tt.train.x);
    expect(back.train.y).toEqual(tt.train.y);
    expect(back.test.x).toEqual(tt.test.x);
    expect(back.train.inputShape).toEqual(tt.train.inputShape);
  });

  it("trains the digit CNN (the loss falls); its landscape equals the CLI engine's and the saved run's (1e-5)", async () => {
    setDigitLoader(async (set) => decodeDigits(await encodeDigits(set, await cliSplits(set))));
    const c = LiveConfig.parse({ data: 'mnist', model: 'cnn', subset: 0.02, grid: 5, hessianGrid: 1, optimizer: 'adam', lr: 0.01, checkpointEvery: 10 });
    const s = await LiveSession.create(c);
    try {
      expect(s.model.name).toMatch(/^cnn conv5\[4,8\]/);
      const before = s.history[0]!.train_loss;
      await s.train(15);
      expect((await s.measure()).train_loss).toBeLessThan(before - 0.2);
      const sf = await s.surface();
      const cfg = resolveConfig(runConfigOf(c, 'live', 1));
      const data = await prepareData(cfg.data);
      expect(s.data.evalSubset.x).toEqual(data.evalSubset.x);
      const model = buildModel(cfg.model as ModelSpec, data.train.inputShape, data.train.outputDim);
      const plane = specPlane(sf.theta, model.layout, cfg.directions);
      const engine = await JaxEngine.create(model, data.evalSubset); // the CLI's jax engine (im2col convolutions)
      try {
        const ref = await engine.evaluatePlane(sf.theta, plane.dx, plane.dy, gridPoints(sf.grid));
        for (let k = 0; k < 25; k++) expect(Math.abs(ref.loss[k]! - sf.values.loss[k]!)).toBeLessThan(1e-5 * ref.loss[k]!);
      } finally {
        engine.dispose();
      }
      // saved, it is a run folder the CLI reads: the same images, model and landscape
      const dir = join(mkdtempSync(join(tmpdir(), 'losscape-live-digits-')), 'run');
      expect(await saveSessionRun(parseSession(JSON.parse(JSON.stringify(await sessionDoc(s, 'digits')))), dir)).toBe(3);
      const store = new RunStore(dir);
      expect(store.readManifest().checkpoints.map((k) => k.step)).toEqual([0, 10, 15]);
      const saved = (await readH5(store.path('surfaces/ckpt-0002.h5'))).get('train_loss')!.value as Float32Array;
      for (let k = 0; k < 25; k++) expect(Math.abs(saved[k]! - sf.values.loss[k]!)).toBeLessThan(1e-5 * sf.values.loss[k]!);
    } finally {
      s.dispose();
    }
  });
});

describe('live settings in the URL', () => {
  it('round-trips every setting and leaves defaults out', () => {
    const c = LiveConfig.parse({ data: 'moons', hidden: [32, 8], activation: 'tanh', batchNorm: true, skip: true, optimizer: 'adam', lr: 0.003, seed: 4 });
    const q = configToQuery(c, { autoplay: true });
    expect(q).toBe('data=moons&hidden=32%2C8&act=tanh&bn=1&skip=1&opt=adam&lr=0.003&seed=4&autoplay');
    const back = configFromQuery(`?${q}`);
    expect(back.config).toEqual(c);
    expect(back.autoplay).toBe(true);
    expect(configFromQuery('').config).toEqual(LiveConfig.parse({}));
  });

  it('reports invalid values and keeps the defaults for them', () => {
    const r = configFromQuery('?lr=-1&data=cifar10&grid=99&bs=8');
    expect(r.config.lr).toBe(0.1);
    expect(r.config.batchSize).toBe(8);
    expect(r.problems).toHaveLength(3);
    expect(r.problems[0]).toMatch(/^data=cifar10/);
  });
});

describe('saving a live session', () => {
  it('encodes weights losslessly', () => {
    const v = Float32Array.from([1.5, -0, Number.MIN_VALUE, 3.4e38, Math.PI]);
    expect(decodeFloats(encodeFloats(v))).toEqual(v);
  });

  it('writes a run folder whose checkpoints and surfaces are the session’s', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'losscape-live-')), 'run');
    const doc = JSON.parse(JSON.stringify(await sessionDoc(session, 'live-test')));
    const n = await saveSessionRun(parseSession(doc), dir);
    expect(n).toBe(4); // steps 0, 10, 20 and the current step 25
    const store = new RunStore(dir);
    const m = store.readManifest();
    expect(m.status).toBe('complete');
    expect(m.checkpoints.map((c) => c.step)).toEqual([0, 10, 20, 25]);
    expect(m.frames).toHaveLength(4);
    const thetas = await store.readCheckpoints();
    expect(thetas.get(3)!.theta).toEqual(surface.theta);
    const h = await readH5(store.path('surfaces/ckpt-0003.h5'));
    const loss = h.get('train_loss')!.value as Float32Array | Float64Array;
    expect(h.get('train_loss')!.shape).toEqual([9, 9]);
    for (let k = 0; k < 81; k++) expect(Math.abs(loss[k]! - surface.values.loss[k]!)).toBeLessThan(1e-5 * surface.values.loss[k]!);
    await expect(saveSessionRun(parseSession(doc), dir)).rejects.toThrow(/not empty/);
  });

  it('refuses a session whose weights do not fit its settings', async () => {
    const doc = JSON.parse(JSON.stringify(await sessionDoc(session, 'bad')));
    doc.checkpoints[0].theta = encodeFloats(new Float32Array(5));
    const dir = join(mkdtempSync(join(tmpdir(), 'losscape-live-')), 'run');
    await expect(saveSessionRun(parseSession(doc), dir)).rejects.toThrow(/checkpoint 0 has 5 weights/);
    expect(() => parseSession({ format: 'x' })).toThrow(/format/);
  });
});
