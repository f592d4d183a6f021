/**
 * Ride along the minimizer: train with checkpoints, and at every checkpoint
 * compute the 2-D landscape around the current θ on the fixed evaluation subset
 * (same seeded directions re-normalized to each checkpoint, or fresh ones).
 * The sequence of landscapes is the movie. Everything is resumable: a rerun of
 * the same config continues where the last one stopped; another config is refused.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
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
import { isLockFile } from '../store/lock.js';
import { type FrameInfo, frameFile, type Manifest, RUN_FORMAT, RunStore } from '../store/run-store.js';
import { checkCentre, computeSurface } from '../surface/surface.js';
import { stepsPerEpoch } from '../train/loop.js';
import { type Checkpoint, checkpointSteps, type TrainState, train } from '../train/train.js';
import type { HessianSpec, RunConfig } from './config.js';
import { prepareData, type RunData } from './data.js';
import { checkpointSeed } from './directions.js';
import { checkpointEigenmap, resolveHessianSpec } from './eigenmaps.js';
import { runEngineOptions } from './engine.js';
import { resolveModel } from './model.js';
import { checkpointPlane, planeReport, reportsCurvature, writeRunTrajectory } from './planes.js';
import { SubsetEngines, writeSubsetSpread } from './subset-spread.js';
import { checkpointCurvature } from './timeline.js';
import { versions } from './versions.js';

/** Saved checkpoints by index (checkpoints.h5). */
type SavedCheckpoints = Map<number, { theta: Float32Array; step: number; epoch: number }>;

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

/** Engines of a run's landscapes: on the evaluation subset, and on the test subset if any. */
interface RunEngines {
  train: LossEngine;
  test?: LossEngine;
  /** On the other subsets of data.subset.errorBars (made on first use). */
  subsets?: SubsetEngines;
}

/** What the stages of one run share. */
interface RunContext {
  cfg: RunConfig;
  dir: string;
  opts: PipelineOptions;
  progress: ProgressSink;
  store: RunStore;
  configHash: string;
  data: RunData;
  model: Model;
  /** Initial weights the model brings (ONNX with init 'file'). */
  initTheta?: Float32Array;
  manifest: Manifest;
  /** Whether this process writes the training files (in a sharded run only shard 0 does). */
  writes: boolean;
  grid: Grid;
  /** Index of the last checkpoint. */
  lastIndex: number;
  hessianSpec: HessianSpec | null;
  /** Milliseconds spent on landscapes and on eigenvalue maps in this call. */
  spent: { surfaces: number; hessian: number };
  /** When this call started (Date.now()). */
  started: number;
}

/**
 * Train with checkpoints and compute every checkpoint's landscape (and eigenvalue map), or
 * continue the run in `dir` where it stopped. When a stage fails, the manifest records
 * status 'failed' and the error; a rerun resumes.
 */
export async function runPipeline(cfg: RunConfig, dir: string, opts: PipelineOptions = {}): Promise<Manifest> {
  const created = !existsSync(dir);
  const store = new RunStore(dir);
  const release = store.lock('losscape run', opts.shard && `shard-${opts.shard.index}-of-${opts.shard.count}`);
  try {
    const run = await prepareRun(cfg, dir, opts).catch((e) => {
      // a folder this call made and left without a manifest holds nothing: remove it
      if (created && !store.exists()) rmSync(dir, { recursive: true, force: true });
      throw e;
    });
    try {
      await withRunEngines(run, async (engines) => {
        const thetas = await run.store.readCheckpoints();
        await finishSavedCheckpoints(run, engines, thetas);
        await trainRemaining(run, engines, thetas);
      });
      if (run.writes && !opts.shard) await writeRunTrajectory(run.store, run.model.layout, run.manifest);
    } catch (e) {
      recordFailure(run, e);
      throw e;
    }
    return finishRun(run);
  } finally {
    release();
  }
}

/** Open (or create) the run folder: refuse another config unless `fresh`; the data, the model and the manifest. */
async function prepareRun(cfg: RunConfig, dir: string, opts: PipelineOptions): Promise<RunContext> {
  const progress = opts.progress ?? silent;
  const store = new RunStore(dir);
  const configHash = runConfigHash(cfg);
  if (store.exists()) checkSameConfig(store, cfg, configHash, dir, opts.fresh);
  store.ensureDirs();
  const started = Date.now();
  const data = await prepareData(cfg.data);
  const { model, theta: initTheta } = await resolveModel(cfg.model, data.train.inputShape, data.train.outputDim);
  const resuming = store.exists();
  const manifest: Manifest = resuming ? store.readManifest() : newManifest(cfg, configHash, model, data);
  const writes = !opts.shard || opts.shard.index === 0;
  if (!resuming && writes) store.writeManifest(manifest);
  else progress.log(`resuming the run in ${dir}`);
  manifest.status = 'running';
  delete manifest.error;
  const allSteps = checkpointSteps(cfg.train, data.train.y.length);
  return {
    cfg,
    dir,
    opts,
    progress,
    store,
    configHash,
    data,
    model,
    initTheta,
    manifest,
    writes,
    grid: surfaceGrid(cfg.surface),
    lastIndex: allSteps.length - 1,
    hessianSpec: cfg.hessian && !opts.shard ? resolveHessianSpec(cfg) : null,
    spent: { surfaces: 0, hessian: 0 },
    started,
  };
}

/** A run folder with another config is refused, or emptied with `fresh`. */
function checkSameConfig(store: RunStore, cfg: RunConfig, configHash: string, dir: string, fresh: boolean | undefined): void {
  const old = store.readManifest();
  if (old.configHash === configHash) return;
  if (!fresh) {
    const diff = differingSections(old.config, cfg);
    throw new LosscapeError(
      'state',
      `${dir} holds a run with a different config (${diff.join(', ') || 'details'} differ); rerun with --fresh to discard it, or use another --out`,
    );
  }
  for (const f of readdirSync(dir)) if (!isLockFile(f)) rmSync(join(dir, f), { recursive: true, force: true });
}

/** Create the run's landscape engines, run `stages` with them, and dispose of them whatever happens. */
async function withRunEngines(run: RunContext, stages: (engines: RunEngines) => Promise<void>): Promise<void> {
  const engineOpts = { ...runEngineOptions(run.cfg), workers: run.opts.workers ?? run.cfg.engine.workers };
  const warn = run.progress.warn;
  let train: LossEngine | undefined;
  let test: LossEngine | undefined;
  const subsets = (run.cfg.data.subset.errorBars ?? 0) > 0 && !run.opts.shard ? new SubsetEngines(run.cfg, run.model, run.data, warn) : undefined;
  try {
    train = await createEngine(run.model, run.data.evalSubset, engineOpts, warn);
    if (run.data.testSubset) test = await createEngine(run.model, run.data.testSubset, engineOpts, warn);
    await stages({ train, ...(test ? { test } : {}), ...(subsets ? { subsets } : {}) });
  } finally {
    await train?.dispose();
    await test?.dispose();
    await subsets?.dispose();
  }
}

/** Landscapes and eigenvalue maps of checkpoints saved before an interruption. */
async function finishSavedCheckpoints(run: RunContext, engines: RunEngines, thetas: SavedCheckpoints): Promise<void> {
  for (const [index, c] of [...thetas].sort((a, b) => a[0] - b[0])) await checkpointStages(run, engines, index, c.theta);
}

/** Train from the start or from the last saved checkpoint to the end, each checkpoint saved and mapped. */
async function trainRemaining(run: RunContext, engines: RunEngines, thetas: SavedCheckpoints): Promise<void> {
  const lastSaved = thetas.size ? Math.max(...thetas.keys()) : -1;
  if (lastSaved >= run.lastIndex) return;
  const { cfg, progress } = run;
  const resume = lastSaved >= 0 ? await resumeState(run, thetas, lastSaved) : undefined;
  const total = stepsPerEpoch(run.data.train.y.length, cfg.train.batchSize) * cfg.train.epochs;
  const task = progress.task('training', total, 'steps');
  const started = Date.now();
  const spentBefore = run.spent.surfaces + run.spent.hessian;
  await train({
    model: run.model,
    train: run.data.train,
    test: run.data.test,
    spec: cfg.train,
    resume,
    initTheta: run.initTheta,
    threads: cfg.engine.threads,
    onStep: (s, _t, loss) => task.update(s, `loss ${loss.toFixed(4)}`),
    warn: run.progress.warn,
    onCheckpoint: async (c: Checkpoint, state: TrainState) => {
      await saveCheckpoint(run, thetas, c, state);
      await curvatureTimeline(run, engines, c, state);
      await checkpointStages(run, engines, c.index, c.theta);
    },
  });
  task.end();
  const mapped = run.spent.surfaces + run.spent.hessian - spentBefore;
  run.manifest.timings.train_s = (run.manifest.timings.train_s ?? 0) + (Date.now() - started - mapped) / 1000;
}

/** Where training continues: the last saved checkpoint with the saved optimizer state. */
async function resumeState(run: RunContext, thetas: SavedCheckpoints, lastSaved: number): Promise<TrainState> {
  const st = await run.store.readTrainState();
  if (!st || st.nextIndex !== lastSaved + 1) throw new Error(`${run.dir}: the training state is missing or inconsistent; rerun with --fresh`);
  run.progress.log(`continuing training from checkpoint ${lastSaved} (step ${st.step})`);
  return { step: st.step, theta: thetas.get(lastSaved)!.theta, optState: st.optState, nextIndex: st.nextIndex };
}

/** Checkpoint files, optimizer state and the manifest's checkpoint and history rows. */
async function saveCheckpoint(run: RunContext, thetas: SavedCheckpoints, c: Checkpoint, state: TrainState): Promise<void> {
  const { store, manifest } = run;
  thetas.set(c.index, { theta: c.theta, step: c.step, epoch: c.epoch });
  if (run.writes) await store.writeCheckpoints(layoutToJSON(run.model.layout), thetas);
  if (run.writes) await store.writeTrainState(state.step, state.nextIndex, state.optState);
  const info = { index: c.index, step: c.step, epoch: c.epoch, ...c.metrics };
  manifest.checkpoints = [...manifest.checkpoints.filter((x) => x.index !== c.index), info];
  manifest.history = [...manifest.history.filter((x) => x.step !== c.step), { step: c.step, epoch: c.epoch, ...c.metrics }];
  if (run.writes) store.writeManifest(manifest);
}

/** The checkpoint's curvature timeline point (config curvature.timeline), in its manifest row. */
async function curvatureTimeline(run: RunContext, engines: RunEngines, c: Checkpoint, state: TrainState): Promise<void> {
  if (!run.cfg.curvature?.timeline) return;
  const row = run.manifest.checkpoints.find((x) => x.index === c.index)!;
  if (row.curvature) return;
  const start = Date.now();
  row.curvature = await checkpointCurvature(engines.train, run.model.layout, run.cfg.train, run.data.train.y.length, c, state.optState);
  run.spent.hessian += Date.now() - start;
  if (run.writes) run.store.writeManifest(run.manifest);
}

/** The landscape of a checkpoint (every `surface.every`-th and the last), then its eigenvalue map. */
async function checkpointStages(run: RunContext, engines: RunEngines, index: number, theta: Float32Array): Promise<void> {
  if (index % run.cfg.surface.every === 0 || index === run.lastIndex) {
    const start = Date.now();
    await landscape(run, engines, index, theta);
    await subsetSpread(run, engines, index, theta);
    run.spent.surfaces += Date.now() - start;
  }
  await eigenvalueMap(run, engines, index, theta);
}

/** Directions and surface of checkpoint `index` (skipped when its surface is done); its frame in the manifest. */
async function landscape(run: RunContext, engines: RunEngines, index: number, theta: Float32Array): Promise<void> {
  const { cfg, store, manifest, progress, grid, opts } = run;
  if (manifest.frames.find((f) => f.checkpoint === index)?.surface) return;
  const seed = checkpointSeed(cfg.directions, index);
  const plane = await checkpointPlane(cfg.directions, run.model.layout, engines.train, theta, seed);
  const dirFile = frameFile('directions', index);
  if (run.writes) {
    await writeDirectionFile(store.path(dirFile), run.model.layout, plane.dx, grid.y ? plane.dy : undefined, { ...plane.attrs, cosine: plane.cosine });
  }
  const ck = manifest.checkpoints.find((c) => c.index === index)!;
  const surfFile = opts.shard ? shardPath(frameFile('surfaces', index), opts.shard) : frameFile('surfaces', index);
  const task = progress.task(`landscape ${index + 1}/${run.lastIndex + 1}`, gridSize(grid), 'points');
  const center = await engines.train.evaluate(theta);
  checkCentre(center, `checkpoint ${index}`);
  const gf = await computeSurface({
    theta,
    dx: plane.dx,
    dy: grid.y ? plane.dy : undefined,
    grid,
    engines,
    path: store.path(surfFile),
    context: { configHash: run.configHash, checkpoint: index },
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
  const frame: FrameInfo = {
    ...manifest.frames.find((f) => f.checkpoint === index),
    checkpoint: index,
    surface: surfFile,
    directions: dirFile,
    center_loss: center.loss,
    center_acc: center.acc,
    cosine: plane.cosine,
  };
  if (reportsCurvature(cfg) && grid.y) frame.curvature = await planeReport(cfg, engines.train, theta, plane);
  manifest.frames = [...manifest.frames.filter((f) => f.checkpoint !== index), frame].sort((a, b) => a.checkpoint - b.checkpoint);
  store.writeManifest(manifest);
}

/** The landscape's centre row and column on the other subsets (data.subset.errorBars), after its landscape. */
async function subsetSpread(run: RunContext, engines: RunEngines, index: number, theta: Float32Array): Promise<void> {
  const { cfg, store, manifest, grid } = run;
  const frame = manifest.frames.find((f) => f.checkpoint === index);
  if (!engines.subsets || !frame?.surface || frame.spread) return;
  const plane = await checkpointPlane(cfg.directions, run.model.layout, engines.train, theta, checkpointSeed(cfg.directions, index));
  const file = frameFile('spread', index);
  const task = run.progress.task(`subset error bars ${index + 1}/${run.lastIndex + 1}`, 1, 'landscapes');
  await writeSubsetSpread(
    store.path(file),
    await engines.subsets.all(),
    engines.subsets.seeds,
    { theta, dx: plane.dx, dy: grid.y ? plane.dy : undefined },
    grid,
  );
  task.end();
  frame.spread = file;
  store.writeManifest(manifest);
}

/** λmin/λmax maps on the plane of checkpoint `index` (every `hessian.every`-th and the last; 0 unless `hessian.initial: false`), after its landscape. */
async function eigenvalueMap(run: RunContext, engines: RunEngines, index: number, theta: Float32Array): Promise<void> {
  const spec = run.hessianSpec;
  if (!spec || (index !== run.lastIndex && (index % spec.every !== 0 || (index === 0 && spec.initial === false)))) return;
  const f = run.manifest.frames.find((x) => x.checkpoint === index);
  if (!f?.directions || f.hessian) return;
  const start = Date.now();
  await checkpointEigenmap({
    store: run.store,
    cfg: run.cfg,
    spec,
    engine: engines.train,
    index,
    theta,
    configHash: run.configHash,
    manifest: run.manifest,
    progress: run.progress,
    saveEverySec: run.opts.saveEverySec,
  });
  run.spent.hessian += Date.now() - start;
}

/** Timings and status 'complete'. */
function finishRun(run: RunContext): Manifest {
  const { manifest } = run;
  manifest.timings.surfaces_s = (manifest.timings.surfaces_s ?? 0) + run.spent.surfaces / 1000;
  manifest.timings.total_s = (manifest.timings.total_s ?? 0) + (Date.now() - run.started) / 1000;
  manifest.status = 'complete';
  if (run.writes) run.store.writeManifest(manifest);
  return manifest;
}

/** Status 'failed' and the error's first line in the manifest (a rerun resumes). */
function recordFailure(run: RunContext, e: unknown): void {
  if (!run.writes) return;
  run.manifest.status = 'failed';
  run.manifest.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  try {
    run.store.writeManifest(run.manifest);
  } catch {
    // the run's own error is the one to report
  }
}

function warnNonFinite(loss: Float64Array, index: number, progress: ProgressSink): void {
  let bad = 0;
  for (const v of loss) if (!Number.isFinite(v)) bad++;
  if (bad) progress.warn(`checkpoint ${index}: ${bad} grid points have a non-finite loss (stored as NaN/Inf; the grid may reach too far)`);
}

/** The manifest of a new run folder (status running, no checkpoints yet). */
export function newManifest(cfg: RunConfig, configHash: string, model: Model, data: RunData): Manifest {
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
