/**
 * A saved live session becomes a run folder in the reference layout (docs/run-format.md):
 * manifest.json with the run config of the session's settings, checkpoints.h5 with every kept
 * checkpoint, and per checkpoint the seeded directions re-normalized to it and its landscape,
 * computed by the CLI's engine on the same evaluation subset. The viewer, report and video
 * open it like any run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { LosscapeError } from '../core/errors.js';
import { gridSize } from '../core/grid.js';
import { layoutToJSON } from '../core/layout.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { buildModel } from '../model/zoo.js';
import { resolveConfig } from '../run/config.js';
import { prepareData } from '../run/data.js';
import { checkpointSeed, specAttrs, specPlane } from '../run/directions.js';
import { runEngine } from '../run/engine.js';
import { newManifest, runConfigHash, surfaceGrid } from '../run/pipeline.js';
import { frameFile, RunStore } from '../store/run-store.js';
import { checkCentre, computeSurface } from '../surface/surface.js';
import { runConfigOf } from './config.js';
import { decodeFloats, SessionDoc } from './session-file.js';

/** Parse and check a session document (one line per problem). */
export function parseSession(raw: unknown, what = 'session'): SessionDoc {
  const r = SessionDoc.safeParse(raw);
  if (!r.success) throw new LosscapeError('input', `${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Write the run folder of a session into `dir` (which must be new or empty); returns the manifest's checkpoint count. */
export async function saveSessionRun(doc: SessionDoc, dir: string, progress: ProgressSink = silent): Promise<number> {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new LosscapeError('state', `${dir} exists and is not empty: choose another --out`);
  const last = doc.checkpoints.at(-1)!;
  const cfg = resolveConfig(runConfigOf(doc.config, doc.name, Math.max(1, Math.ceil(last.epoch))), 'session');
  const data = await prepareData(cfg.data);
  const model = buildModel(cfg.model, data.train.inputShape, data.train.outputDim);
  if (model.layout.size !== doc.params)
    throw new LosscapeError('input', `session: ${doc.params} parameters, but its settings build a model with ${model.layout.size}`);
  const thetas = doc.checkpoints.map((c, i) => {
    const theta = decodeFloats(c.theta);
    if (theta.length !== model.layout.size)
      throw new LosscapeError('input', `session: checkpoint ${i} has ${theta.length} weights, the model ${model.layout.size}`);
    return theta;
  });
  const store = new RunStore(dir);
  store.ensureDirs();
  const manifest = newManifest(cfg, runConfigHash(cfg), model, data);
  manifest.checkpoints = doc.checkpoints.map((c, index) => ({ index, step: c.step, epoch: c.epoch, ...c.metrics }));
  manifest.history = doc.history;
  await store.writeCheckpoints(layoutToJSON(model.layout), new Map(doc.checkpoints.map((c, i) => [i, { theta: thetas[i]!, step: c.step, epoch: c.epoch }])));
  store.writeManifest(manifest);
  const engine = await runEngine(cfg, model, data.evalSubset, {}, progress.warn);
  const started = Date.now();
  try {
    for (let i = 0; i < thetas.length; i++) manifest.frames.push(await landscape(store, cfg, engine, i, thetas[i]!, manifest.checkpoints[i]!, progress));
  } finally {
    await engine.dispose();
  }
  manifest.timings.surfaces_s = (Date.now() - started) / 1000;
  manifest.status = 'complete';
  store.writeManifest(manifest);
  return thetas.length;
}

type Cfg = ReturnType<typeof resolveConfig>;

/** Directions and landscape of checkpoint `index`; its frame. */
async function landscape(
  store: RunStore,
  cfg: Cfg,
  engine: LossEngine,
  index: number,
  theta: Float32Array,
  ck: { step: number; epoch: number },
  progress: ProgressSink,
) {
  const grid = surfaceGrid(cfg.surface);
  const seed = checkpointSeed(cfg.directions, index);
  const plane = specPlane(theta, engine.layout, cfg.directions, seed);
  const dirFile = frameFile('directions', index);
  await writeDirectionFile(store.path(dirFile), engine.layout, plane.dx, plane.dy, { ...specAttrs(cfg.directions, seed), cosine: plane.cosine });
  const center = await engine.evaluate(theta);
  checkCentre(center, `checkpoint ${index}`);
  const surfFile = frameFile('surfaces', index);
  const task = progress.task(`landscape ${index + 1}`, gridSize(grid), 'points');
  await computeSurface({
    theta,
    dx: plane.dx,
    dy: plane.dy,
    grid,
    engines: { train: engine },
    path: store.path(surfFile),
    context: { configHash: runConfigHash(cfg), checkpoint: index },
    chunkSize: cfg.surface.chunk,
    attrs: { checkpoint: index, step: ck.step, epoch: ck.epoch, dir_file: dirFile, center_loss: center.loss, center_acc: center.acc, cosine: plane.cosine },
    onProgress: (p) => task.update(p.done),
  });
  task.end();
  return { checkpoint: index, surface: surfFile, directions: dirFile, center_loss: center.loss, center_acc: center.acc, cosine: plane.cosine };
}
