/**
 * Ride along the minimizer: train with checkpoints, and at every checkpoint
 * compute the 2-D landscape around the current θ on the fixed evaluation subset
 * (same seeded directions re-normalized to each checkpoint, or fresh ones).
 * The sequence of landscapes is the movie. Everything is resumable: a rerun of
 * the same config continues where the last one stopped; another config is refused.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { type Grid, gridSize, parseAxis } from '../core/grid.js';
import { canonicalJSON, hashJSON } from '../core/hash.js';
import { layoutToJSON } from '../core/layout.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { createEngine } from '../engine/registry.js';
import { type Shard, shardPath } from '../jobs/shard.js';
import type { Model } from '../model/model.js';
import { frameFile, type Manifest, RUN_FORMAT, RunStore } from '../store/run-store.js';
import { checkCentre, computeSurface } from '../surface/surface.js';
import { stepsPerEpoch } from '../train/loop.js';
import { type Checkpoint, checkpointSteps, type TrainState, train } from '../train/train.js';
import type { RunConfig } from './config.js';
import { prepareData, type RunData } from './data.js';
import { checkpointSeed, specAttrs, specPlane } from './directions.js';
import { checkpointEigenmap, resolveHessianSpec } from './eigenmaps.js';
import { runEngineOptions } from './engine.js';
import { resolveModel } from './model.js';
import { versions } from './versions.js';

export interface PipelineOptions {
  /** Discard an existing run with another config instead of refusing. */
  fresh?: boolean;
  progress?: ProgressSink;
  saveEverySec?: number;
  /**
   * Compute only this shard of every landscape (surfaces/ckpt-k.shard-i-of-n.h5; frames are
   * filled in by `losscape merge <run>`). Training is deterministic and runs in every shard;
   * only shard 0 writes the training files.
   */
  shard?: Shard;
  /** Worker threads for landscapes (default: the config's engine.workers). */
  workers?: number;
}

/**
 * Hash of everything in a config that changes results. Threads and workers only
 * change the speed (results are bit-identical for any worker count), so a run can
 * be resumed with others.
 */
export function runConfigHash(cfg: RunConfig): string {
  const { threads: _t, workers: _w, ...engine } = cfg.engine;
  return hashJSON({ ...cfg, engine });
}

export function surfaceGrid(s: { x: string; y: string | null }): Grid {
  const g: Grid = { x: parseAxis(s.x, 'x') };
  if (s.y) g.y = parseAxis(s.y, 'y');
  return g;
}

/** Top-level config sections that differ (for the refusal message). */
function differingSections(a: unknown, b: unknown): string[] {
  const ka = (a ?? {}) as Record<string, unknown>;
  const kb = (b ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(ka), ...Object.keys(kb)])].filter((k) => canonicalJSON(ka[k]) !== canonicalJSON(kb[k]));
}

export async function runPipeline(cfg: RunConfig, dir: string, opts: PipelineOptions = {}): Promise<Manifest> {
  const progress = opts.progress ?? silent;
  const store = new RunStore(dir);
  const configHash = runConfigHash(cfg);
  if (store.exists()) {
    const old = store.readManifest();
    if (old.configHash !== configHash) {
      if (!opts.fresh) {
        const diff = differingSections(old.config, cfg);
        throw new LosscapeError(
          'state',
          `${dir} holds a run with a different config (${diff.join(', ') || 'details'} differ); rerun with --fresh to discard it, or use another --out`,
        );
      }
      for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    }
  }
  store.ensureDirs();
  const t0 = Date.now();
  const data = await prepareData(cfg.data);
  const { model, theta: initTheta } = await resolveModel(cfg.model, data.train.inputShape, data.train.outputDim);
  const manifest: Manifest = store.exists() ? store.readManifest() : newManifest(cfg, configHash, model, data);
  // in a sharded run only shard 0 writes the training files (the others compute the same)
  const writes = !opts.shard || opts.shard.index === 0;
  if (!store.exists() && writes) store.writeManifest(manifest);
  else progress.log(`resuming the run in ${dir}`);
  manifest.status = 'running';
  delete manifest.error;

  const engineOpts = { ...runEngineOptions(cfg), workers: opts.workers ?? cfg.engine.workers };
  const engines: { train: LossEngine; test?: LossEngine } = {
    train: await createEngine(model, data.evalSubset, engineOpts, progress.warn),
  };
  if (data.testSubset) engines.test = await createEngine(model, data.testSubset, engineOpts, progress.warn);
  const grid = surfaceGrid(cfg.surface);
  const nTrain = data.train.y.length;
  const allSteps = checkpointSteps(cfg.train, nTrain);
  const lastIndex = allSteps.length - 1;
  const wantsSurface = (i: number) => i % cfg.surface.every === 0 || i === lastIndex;
  const thetas = await store.readCheckpoints();
  const hessianSpec = cfg.hessian && !opts.shard ? resolveHessianSpec(cfg) : null;
  const wantsHessian = (i: number) => !!hessianSpec && (i % hessianSpec.every === 0 || i === lastIndex);
  /** λmin/λmax maps on the checkpoint's plane (after its landscape; they add timings.hessian_s). */
  const tHess = { ms: 0 };
  const hessianFor = async (index: number, theta: Float32Array) => {
    if (!wantsHessian(index)) return;
    const f = manifest.frames.find((x) => x.checkpoint === index);
    if (!f?.directions || f.hessian) return;
    const start = Date.now();
    await checkpointEigenmap({
      store,
      cfg,
      spec: hessianSpec!,
      engine: engines.train,
      index,
      theta,
      configHash,
      manifest,
      progress,
      saveEverySec: opts.saveEverySec,
    });
    tHess.ms += Date.now() - start;
  };

  const surfaceFor = async (index: number, theta: Float32Array) => {
    const frameIdx = manifest.frames.findIndex((f) => f.checkpoint === index);
    if (frameIdx >= 0 && manifest.frames[frameIdx]!.surface) return;
    const seed = checkpointSeed(cfg.directions, index);
    const plane = specPlane(theta, model.layout, cfg.directions, seed);
    const dirFile = frameFile('directions', index);
    if (writes) {
      await writeDirectionFile(store.path(dirFile), model.layout, plane.dx, grid.y ? plane.dy : undefined, {
        ...specAttrs(cfg.directions, seed),
        cosine: plane.cosine,
      });
    }
    const ck = manifest.checkpoints.find((c) => c.index === index)!;
    const surfFile = opts.shard ? shardPath(frameFile('surfaces', index), opts.shard) : frameFile('surfaces', index);
    const task = progress.task(`landscape ${index + 1}/${lastIndex + 1}`, gridSize(grid), 'points');
    const center = await engines.train.evaluate(theta);
    checkCentre(center, `checkpoint ${index}`);
    const gf = await computeSurface({
      theta,
      dx: plane.dx,
      dy: grid.y ? plane.dy : undefined,
      grid,
      engines,
      path: store.path(surfFile),
      context: { configHash, checkpoint: index },
      chunkSize: cfg.surface.chunk,
      shard: opts.shard,
      saveEverySec: opts.saveEverySec,
      attrs: {
        checkpoint: index,
        step: ck.step,
        epoch: ck.epoch,
        dir_file: dirFile,
        center_loss: center.loss,
        center_acc: center.acc,
        cosine: plane.cosine,
      },
      onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
    });
    task.end();
    if (opts.shard) return; // frames: losscape merge
    warnNonFinite(gf.values.train_loss!, index, progress);
    const old = manifest.frames.find((f) => f.checkpoint === index);
    const frame = {
      ...old,
      checkpoint: index,
      surface: surfFile,
      directions: dirFile,
      center_loss: center.loss,
      center_acc: center.acc,
      cosine: plane.cosine,
    };
    manifest.frames = [...manifest.frames.filter((f) => f.checkpoint !== index), frame].sort((a, b) => a.checkpoint - b.checkpoint);
    store.writeManifest(manifest);
  };

  const tSurf = { ms: 0 };
  const timed = async (fn: () => Promise<void>) => {
    const s = Date.now();
    await fn();
    tSurf.ms += Date.now() - s;
  };

  // 1. finish landscapes of checkpoints that were saved before an interruption
  for (const [index, c] of [...thetas].sort((a, b) => a[0] - b[0])) {
    if (wantsSurface(index)) await timed(() => surfaceFor(index, c.theta));
    await hessianFor(index, c.theta);
  }

  // 2. train (or continue training), one landscape per checkpoint
  const lastSaved = thetas.size ? Math.max(...thetas.keys()) : -1;
  if (lastSaved < lastIndex) {
    let resume: TrainState | undefined;
    if (lastSaved >= 0) {
      const st = await store.readTrainState();
      if (!st || st.nextIndex !== lastSaved + 1) throw new Error(`${dir}: the training state is missing or inconsistent; rerun with --fresh`);
      resume = { step: st.step, theta: thetas.get(lastSaved)!.theta, optState: st.optState, nextIndex: st.nextIndex };
      progress.log(`continuing training from checkpoint ${lastSaved} (step ${st.step})`);
    }
    const total = stepsPerEpoch(nTrain, cfg.train.batchSize) * cfg.train.epochs;
    const task = progress.task('training', total, 'steps');
    const tTrain = Date.now();
    await train({
      model,
      train: data.train,
      test: data.test,
      spec: cfg.train,
      resume,
      initTheta,
      onStep: (s, _t, loss) => task.update(s, `loss ${loss.toFixed(4)}`),
      onCheckpoint: async (c: Checkpoint, state: TrainState) => {
        thetas.set(c.index, { theta: c.theta, step: c.step, epoch: c.epoch });
        if (writes) await store.writeCheckpoints(layoutToJSON(model.layout), thetas);
        if (writes) await store.writeTrainState(state.step, state.nextIndex, state.optState);
        const info = { index: c.index, step: c.step, epoch: c.epoch, ...c.metrics };
        manifest.checkpoints = [...manifest.checkpoints.filter((x) => x.index !== c.index), info];
        manifest.history = [...manifest.history.filter((x) => x.step !== c.step), { step: c.step, epoch: c.epoch, ...c.metrics }];
        if (writes) store.writeManifest(manifest);
        if (wantsSurface(c.index)) await timed(() => surfaceFor(c.index, c.theta));
        await hessianFor(c.index, c.theta);
      },
    });
    task.end();
    manifest.timings.train_s = (manifest.timings.train_s ?? 0) + (Date.now() - tTrain - tSurf.ms - tHess.ms) / 1000;
  }
  manifest.timings.surfaces_s = (manifest.timings.surfaces_s ?? 0) + tSurf.ms / 1000;
  manifest.timings.total_s = (manifest.timings.total_s ?? 0) + (Date.now() - t0) / 1000;
  manifest.status = 'complete';
  if (writes) store.writeManifest(manifest);
  await engines.train.dispose();
  await engines.test?.dispose();
  return manifest;
}

function warnNonFinite(loss: Float64Array, index: number, progress: ProgressSink): void {
  let bad = 0;
  for (const v of loss) if (!Number.isFinite(v)) bad++;
  if (bad) progress.warn(`checkpoint ${index}: ${bad} grid points have a non-finite loss (stored as NaN/Inf; the grid may reach too far)`);
}

function newManifest(cfg: RunConfig, configHash: string, model: Model, data: RunData): Manifest {
  const now = new Date().toISOString();
  return {
    format: RUN_FORMAT,
    name: cfg.name,
    created: now,
    updated: now,
    status: 'running',
    versions: versions(),
    config: cfg,
    configHash,
    model: { name: model.name, params: model.layout.size, layout: layoutToJSON(model.layout) },
    data: {
      name: data.all.name,
      train: data.train.y.length,
      test: data.test.y.length,
      inputShape: data.train.inputShape,
      classes: data.train.outputDim,
      task: data.train.task,
      subset: data.subset,
      testSubset: data.testSubsetInfo,
    },
    history: [],
    checkpoints: [],
    frames: [],
    timings: {},
  };
}
