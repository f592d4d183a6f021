/**
 * A finished (or partly finished) run folder opened for a study: its resolved
 * config, data (the same split and evaluation subset the run used), model,
 * checkpoints, engines built the way the run builds them, its direction
 * settings, and where a study of it writes by default.
 */
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import type { Plane } from '../directions/directions.js';
import type { LossEngine } from '../engine/engine.js';
import type { Model } from '../model/model.js';
import { type RunConfig, resolveConfig } from '../run/config.js';
import type { RunData } from '../run/data.js';
import { specAttrs, specPlane } from '../run/directions.js';
import { type EngineChoice, runEngine as engineForRun, runDataAndModel } from '../run/engine.js';
import { type Manifest, RunStore } from '../store/run-store.js';

export interface OpenedRun {
  dir: string;
  store: RunStore;
  manifest: Manifest;
  cfg: RunConfig;
  data: RunData;
  model: Model;
  thetas: Map<number, { theta: Float32Array; step: number; epoch: number }>;
}

export async function openRun(dir: string): Promise<OpenedRun> {
  const store = new RunStore(dir);
  if (!store.exists()) throw new LosscapeError('input', `${dir} is not a run folder (no manifest.json)`);
  const manifest = store.readManifest();
  const cfg = resolveConfig(manifest.config, `${dir}/manifest.json`);
  const thetas = await store.readCheckpoints();
  if (thetas.size === 0) throw new LosscapeError('input', `${dir} has no checkpoints yet`);
  const { data, model } = await runDataAndModel(cfg);
  return { dir, store, manifest, cfg, data, model, thetas };
}

/** Checkpoint `k` (default: the last). */
export function checkpointOf(run: OpenedRun, k?: number): { index: number; theta: Float32Array; step: number; epoch: number } {
  const index = k ?? Math.max(...run.thetas.keys());
  const c = run.thetas.get(index);
  if (!c) throw new LosscapeError('input', `${run.dir} has no checkpoint ${index} (it has ${[...run.thetas.keys()].sort((a, b) => a - b).join(', ')})`);
  return { index, ...c };
}

/** Checkpoints in index order. */
export function orderedCheckpoints(run: OpenedRun): { index: number; theta: Float32Array; step: number; epoch: number }[] {
  return [...run.thetas].sort((a, b) => a[0] - b[0]).map(([index, c]) => ({ index, ...c }));
}

/** An engine over `data` with the run's engine settings (mode: the run's surface mode unless given). */
export function runEngine(run: OpenedRun, data: Dataset, o: EngineChoice = {}, warn?: (l: string) => void): Promise<LossEngine> {
  return engineForRun(run.cfg, run.model, data, o, warn);
}

/** The run's direction settings applied at θ with a given seed (y uses seed + 1). */
export function runPlane(run: OpenedRun, theta: Float32Array, seed = run.cfg.directions.seed): Plane {
  return specPlane(theta, run.model.layout, run.cfg.directions, seed);
}

export function directionAttrs(run: OpenedRun, seed = run.cfg.directions.seed): Record<string, string | number> {
  return specAttrs(run.cfg.directions, seed);
}

/** A study's default output folder: <run>/studies/<name>-ckpt-XXXX. */
export function studyFolder(runDir: string, name: string, checkpoint: number): string {
  return join(runDir, 'studies', `${name}-ckpt-${String(checkpoint).padStart(4, '0')}`);
}
