/**
 * Sharpness along a run: at each chosen checkpoint, λmax, λmin, tr(H) ± se and
 * ε-sharpness on the run's evaluation subset (sharpness.ts), next to the
 * train/test gap of that checkpoint (full splits, from the manifest).
 */

import { type ProgressSink, silent } from '../core/progress.js';
import type { LossEngine } from '../engine/engine.js';
import type { Backend } from '../engine/registry.js';
import { type SharpnessOptions, type SharpnessResult, sharpness } from '../hessian/sharpness.js';
import type { RunStore } from '../store/run-store.js';
import type { RunConfig } from './config.js';
import { hessianCheckpoints } from './eigenmaps.js';
import { runEvalEngine } from './engine.js';

export interface SharpnessRow extends SharpnessResult {
  checkpoint: number;
  step: number;
  epoch: number;
  /** Full-split metrics of the checkpoint (manifest); NaN where not recorded. */
  trainLoss: number;
  testLoss: number;
  trainAcc: number;
  testAcc: number;
  /** test_loss − train_loss. */
  gapLoss: number;
  /** train_acc − test_acc (points). */
  gapAcc: number;
}

export interface RunSharpnessOptions extends SharpnessOptions {
  engine?: LossEngine;
  checkpoints?: number[];
  /** Every k-th checkpoint (and the last) when no list is given (default 1). */
  every?: number;
  backend?: Backend;
  dtype?: 'float32' | 'float64';
  progress?: ProgressSink;
}

export async function runSharpness(store: RunStore, cfg: RunConfig, opts: RunSharpnessOptions = {}): Promise<SharpnessRow[]> {
  const progress = opts.progress ?? silent;
  const manifest = store.readManifest();
  const thetas = await store.readCheckpoints();
  if (thetas.size === 0) throw new Error(`${store.dir} has no checkpoints yet`);
  const wanted = opts.checkpoints ?? hessianCheckpoints([...thetas.keys()], opts.every ?? 1);
  for (const i of wanted) if (!thetas.has(i)) throw new Error(`${store.dir} has no checkpoint ${i}`);
  let engine = opts.engine;
  const own = !engine;
  if (!engine) {
    engine = await runEvalEngine(cfg, { backend: opts.backend, dtype: opts.dtype }, progress.warn);
  }
  const rows: SharpnessRow[] = [];
  const task = progress.task('sharpness', wanted.length, 'checkpoints');
  try {
    for (const index of wanted) {
      const c = thetas.get(index)!;
      const r = await sharpness(engine, c.theta, opts);
      const ck = manifest.checkpoints.find((x) => x.index === index);
      const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
      const trainLoss = num(ck?.train_loss);
      const testLoss = num(ck?.test_loss);
      const trainAcc = num(ck?.train_acc);
      const testAcc = num(ck?.test_acc);
      rows.push({
        ...r,
        checkpoint: index,
        step: c.step,
        epoch: c.epoch,
        trainLoss,
        testLoss,
        trainAcc,
        testAcc,
        gapLoss: testLoss - trainLoss,
        gapAcc: trainAcc - testAcc,
      });
      task.update(rows.length);
    }
  } finally {
    task.end();
    if (own) await engine.dispose();
  }
  return rows;
}

export const SHARPNESS_CSV_COLUMNS = [
  'checkpoint',
  'step',
  'epoch',
  'loss',
  'lambda_max',
  'lambda_min',
  'trace',
  'trace_stderr',
  'eps_sharpness',
  'train_loss',
  'test_loss',
  'gap_loss',
  'train_acc',
  'test_acc',
  'gap_acc',
  'hvps',
] as const;

export function sharpnessCsv(rows: SharpnessRow[]): string {
  const lines = [SHARPNESS_CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.checkpoint,
        r.step,
        r.epoch,
        r.loss,
        r.lambdaMax,
        r.lambdaMin,
        r.trace,
        r.traceStderr,
        r.epsSharpness,
        r.trainLoss,
        r.testLoss,
        r.gapLoss,
        r.trainAcc,
        r.testAcc,
        r.gapAcc,
        r.hvps,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
