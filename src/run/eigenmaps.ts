/**
 * Eigenvalue maps for the checkpoints of a run (docs/run-format.md): at every
 * `every`-th checkpoint (and the last), the map of λmax, λmin, |λmin/λmax|
 * over the run's plane of that checkpoint (directions/ckpt-XXXX.h5), written to
 * hessian/ckpt-XXXX.h5 and recorded in the manifest (frames[k].hessian,
 * manifest.hessian = {params, grid}, timings.hessian_s).
 *
 * The pipeline calls `checkpointEigenmap` right after a checkpoint's surface
 * (its directions file then exists), passing its engine and its in-memory
 * manifest; `losscape hessian RUN --all-checkpoints` calls
 * `computeRunEigenmaps`, which re-reads the manifest before every write.
 * Both fingerprint a map with the run's config hash and the checkpoint, so
 * either can resume or skip what the other computed with the same settings.
 */

import { existsSync } from 'node:fs';
import { type Grid, parseAxis } from '../core/grid.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { readDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import type { Backend } from '../engine/registry.js';
import { computeEigenmap, type EigenmapStats } from '../hessian/eigenmap.js';
import { defaultTol } from '../linalg/lanczos.js';
import { frameFile, type Manifest, type RunStore } from '../store/run-store.js';
import { HessianSpec, type RunConfig } from './config.js';
import { runEvalEngine } from './engine.js';

export interface RunEigenmapFrame {
  checkpoint: number;
  /** Relative to the run folder. */
  file: string;
  stats: EigenmapStats;
}

export interface CheckpointEigenmapArgs {
  store: RunStore;
  cfg: RunConfig;
  /** The resolved hessian settings (resolveHessianSpec). */
  spec: HessianSpec;
  /** An engine on the run's evaluation subset (the surfaces' engine). */
  engine: LossEngine;
  index: number;
  theta: Float32Array;
  /** The run's config hash (manifest.configHash). */
  configHash: string;
  /** Update this manifest object (the pipeline's) instead of re-reading the file. */
  manifest?: Manifest;
  progress?: ProgressSink;
  fresh?: boolean;
  saveEverySec?: number;
  seed?: number;
  warmStart?: boolean;
}

/** The run config's hessian section (defaults where absent) with overrides (e.g. CLI flags) applied. */
export function resolveHessianSpec(cfg: RunConfig, overrides: Partial<HessianSpec> = {}): HessianSpec {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const base: Partial<HessianSpec> = { ...(cfg.hessian ?? {}) };
  // another convergence test without a tolerance of its own gets that test's default tolerance
  if (overrides.convergence !== undefined && overrides.convergence !== base.convergence && overrides.tol === undefined) delete base.tol;
  return HessianSpec.parse({ ...base, ...defined });
}

export function hessianGrid(spec: Pick<HessianSpec, 'x' | 'y'>): Grid {
  const g: Grid = { x: parseAxis(spec.x, 'hessian.x') };
  if (spec.y) g.y = parseAxis(spec.y, 'hessian.y');
  return g;
}

/** Checkpoints that get a map: every `every`-th index and the last one (checkpoint 0 only with `initial`). */
export function hessianCheckpoints(indices: readonly number[], every: number, initial = true): number[] {
  const sorted = [...indices].sort((a, b) => a - b);
  const last = sorted[sorted.length - 1];
  return sorted.filter((i) => i === last || (i % every === 0 && (initial || i !== 0)));
}

/**
 * The eigenvalue map of one checkpoint on the plane of its directions file.
 * Returns null (with a warning) when the checkpoint has no directions file yet.
 */
export async function checkpointEigenmap(a: CheckpointEigenmapArgs): Promise<RunEigenmapFrame | null> {
  const progress = a.progress ?? silent;
  const dirFile = frameFile('directions', a.index);
  if (!existsSync(a.store.path(dirFile))) {
    progress.warn(`checkpoint ${a.index}: no ${dirFile} (no landscape there); no eigenvalue map`);
    return null;
  }
  const grid = hessianGrid(a.spec);
  const dirs = await readDirectionFile(a.store.path(dirFile), a.engine.layout);
  if (grid.y && !dirs.dy) throw new Error(`${dirFile} has no ydirection, but the hessian grid is 2-D (set hessian.y to null for 1-D)`);
  const file = frameFile('hessian', a.index);
  const m0 = a.manifest ?? a.store.readManifest();
  const ck = m0.checkpoints.find((c) => c.index === a.index);
  const n = grid.x.n * (grid.y?.n ?? 1);
  const task = progress.task(`hessian ${a.index}`, n, 'points');
  const t0 = Date.now();
  let result: Awaited<ReturnType<typeof computeEigenmap>>;
  try {
    result = await computeEigenmap({
      engine: a.engine,
      theta: a.theta,
      dx: dirs.dx,
      dy: grid.y ? dirs.dy : undefined,
      grid,
      path: a.store.path(file),
      params: a.spec.params,
      convergence: a.spec.convergence,
      tol: a.spec.tol,
      maxIter: a.spec.maxIter,
      certify: a.spec.certify,
      certifyTol: a.spec.certifyTol,
      seed: a.seed,
      warmStart: a.warmStart,
      context: { run: a.configHash, checkpoint: a.index },
      fresh: a.fresh,
      saveEverySec: a.saveEverySec,
      attrs: {
        checkpoint: a.index,
        ...(ck ? { step: ck.step, epoch: ck.epoch } : {}),
        dir_file: dirFile,
      },
      onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
    });
  } finally {
    task.end();
  }
  if (result.stats.unconverged) {
    const why = a.spec.certify !== false ? ', or the check could not certify them' : '';
    progress.warn(
      `checkpoint ${a.index}: ${result.stats.unconverged} points not converged: maxIter (${a.spec.maxIter}) reached before the ${a.spec.convergence} test at tol ${a.spec.tol ?? defaultTol(a.spec.convergence)}${why} (see the converged and certified channels)`,
    );
  }
  const m = a.manifest ?? a.store.readManifest();
  const old = m.frames.find((f) => f.checkpoint === a.index);
  const frame = { ...(old ?? { checkpoint: a.index, directions: dirFile }), hessian: file };
  m.frames = [...m.frames.filter((f) => f.checkpoint !== a.index), frame].sort((p, q) => p.checkpoint - q.checkpoint);
  m.hessian = { params: a.spec.params, grid: grid.y ? `${a.spec.x} × ${a.spec.y}` : a.spec.x };
  m.timings.hessian_s = (m.timings.hessian_s ?? 0) + (Date.now() - t0) / 1000;
  a.store.writeManifest(m);
  return { checkpoint: a.index, file, stats: result.stats };
}

export interface RunEigenmapOptions {
  /** An engine on the run's evaluation subset; default: built from the config (and disposed). */
  engine?: LossEngine;
  /** Overrides of the config's hessian section. */
  spec?: Partial<HessianSpec>;
  /** These checkpoints instead of every `every`-th and the last. */
  checkpoints?: number[];
  /** Engine settings when the engine is built here (default: the run's backend, float32). */
  backend?: Backend;
  dtype?: 'float32' | 'float64';
  progress?: ProgressSink;
  fresh?: boolean;
  saveEverySec?: number;
  seed?: number;
  warmStart?: boolean;
}

export interface RunEigenmapsResult {
  spec: HessianSpec;
  frames: RunEigenmapFrame[];
  /** Checkpoints without a directions file. */
  skipped: number[];
}

/** Eigenvalue maps for the run's checkpoints (see the file comment). */
export async function computeRunEigenmaps(store: RunStore, cfg: RunConfig, opts: RunEigenmapOptions = {}): Promise<RunEigenmapsResult> {
  const release = store.lock('losscape hessian --all-checkpoints');
  try {
    return await eigenmapsOfRun(store, cfg, opts);
  } finally {
    release();
  }
}

async function eigenmapsOfRun(store: RunStore, cfg: RunConfig, opts: RunEigenmapOptions): Promise<RunEigenmapsResult> {
  const manifest = store.readManifest();
  const spec = resolveHessianSpec(cfg, opts.spec);
  const thetas = await store.readCheckpoints();
  if (thetas.size === 0) throw new Error(`${store.dir} has no checkpoints yet`);
  const wanted = opts.checkpoints ?? hessianCheckpoints([...thetas.keys()], spec.every, spec.initial ?? true);
  for (const i of wanted) if (!thetas.has(i)) throw new Error(`${store.dir} has no checkpoint ${i}`);
  let engine = opts.engine;
  const own = !engine;
  if (!engine) {
    engine = await runEvalEngine(cfg, { backend: opts.backend, dtype: opts.dtype }, opts.progress?.warn);
  }
  const frames: RunEigenmapFrame[] = [];
  const skipped: number[] = [];
  try {
    for (const index of wanted) {
      const r = await checkpointEigenmap({
        store,
        cfg,
        spec,
        engine,
        index,
        theta: thetas.get(index)!.theta,
        configHash: manifest.configHash,
        progress: opts.progress,
        fresh: opts.fresh,
        saveEverySec: opts.saveEverySec,
        seed: opts.seed,
        warmStart: opts.warmStart,
      });
      if (r) frames.push(r);
      else skipped.push(index);
    }
  } finally {
    if (own) await engine.dispose();
  }
  return { spec, frames, skipped };
}
