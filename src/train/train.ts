/**
 * Training with checkpoints: the minibatch loop (loop.ts) with SGD or Adam over the configured
 * epochs and learning-rate schedule, a checkpoint (weights, optimizer state, full-split
 * metrics) at every checkpoint step. Deterministic in the seed: epoch e shuffles with
 * (seed, 'shuffle', e), step s draws dropout masks from (seed, 'dropout', s), so a run resumed
 * from a checkpoint continues exactly as the uninterrupted one. The step runs natively
 * (onnxruntime, native.ts) or in jax-js (`backend`); both follow the same trajectory up to
 * float rounding.
 */
import { z } from 'zod';
import { LosscapeError } from '../core/errors.js';
import { AugmentSpec } from '../data/augment.js';
import { count, type Dataset } from '../data/dataset.js';
import { createEngine } from '../engine/registry.js';
import type { Model } from '../model/model.js';
import { stepsPerEpoch } from './loop.js';
import { type Metrics4, SplitMetrics } from './metrics.js';
import { createTrainLoop, TRAIN_BACKENDS, type TrainLoop } from './native.js';
import { OptimizerSpec } from './optimizer.js';
import { ScheduleSpec, scheduledRate } from './schedule.js';

export const TrainSpec = z
  .object({
    epochs: z.number().int().min(0).default(8),
    batchSize: z.number().int().positive().default(64),
    optimizer: OptimizerSpec.prefault({ type: 'sgd' }),
    /** Learning-rate schedule over all steps: constant, cosine or { type: step, milestones, gamma } (schedule.ts). */
    schedule: ScheduleSpec.default('constant'),
    /** Augmentation of image batches: { crop: 4, flip: true } is the usual CIFAR recipe (data/augment.ts). */
    augment: AugmentSpec.optional(),
    /** Seed of initialization, shuffling and dropout masks. */
    seed: z.number().int().min(0).default(0),
    /** Checkpoint cadence: 'epoch', or every N optimizer steps. The initial weights are checkpoint 0. */
    checkpointEvery: z.union([z.literal('epoch'), z.number().int().positive()]).default('epoch'),
    /** Who runs the optimizer step: onnxruntime (native.ts), jax-js, or auto (onnxruntime, falling back to jax-js with a warning). */
    backend: z.enum(TRAIN_BACKENDS).default('auto'),
  })
  .strict();
export type TrainSpec = z.infer<typeof TrainSpec>;

export interface Checkpoint {
  index: number;
  step: number;
  epoch: number;
  theta: Float32Array;
  metrics: Metrics4;
}

/** Where to continue from (a saved checkpoint plus the optimizer state). */
export interface TrainState {
  step: number;
  theta: Float32Array;
  optState: Float32Array[];
  nextIndex: number;
}

export interface TrainOptions {
  model: Model;
  train: Dataset;
  test?: Dataset;
  spec: TrainSpec;
  resume?: TrainState;
  /** Start from these weights instead of `model.init(seed)`. */
  initTheta?: Float32Array;
  /** onnxruntime intra-op threads of the native step and of the checkpoints' metrics (default: all cores). */
  threads?: number;
  /** Called for every checkpoint, with the optimizer state to save for resuming. */
  onCheckpoint(c: Checkpoint, state: TrainState): Promise<void>;
  onStep?(step: number, totalSteps: number, loss: number): void;
  /** One-line warnings (the native step falling back to jax-js). */
  warn?(line: string): void;
}

/** Steps at which checkpoints are taken (step 0 = the initialization). */
export function checkpointSteps(spec: TrainSpec, n: number): number[] {
  const per = stepsPerEpoch(n, spec.batchSize);
  const total = per * spec.epochs;
  const every = spec.checkpointEvery === 'epoch' ? per : spec.checkpointEvery;
  const out = [0];
  for (let s = every; s < total; s += every) out.push(s);
  if (out[out.length - 1] !== total) out.push(total);
  return out;
}

/** Train from the initialization (or from `resume`), handing every checkpoint to `onCheckpoint`. */
export async function train(opts: TrainOptions): Promise<void> {
  const { model, spec } = opts;
  const loop = await createTrainLoop(
    {
      model,
      data: opts.train,
      optimizer: spec.optimizer,
      batchSize: spec.batchSize,
      seed: spec.seed,
      theta: opts.resume?.theta ?? opts.initTheta ?? model.init(spec.seed),
      optState: opts.resume?.optState,
      augment: spec.augment,
      threads: opts.threads,
    },
    spec.backend,
    opts.warn,
  );
  let metrics: SplitMetrics | undefined;
  try {
    // the checkpoints' full-split metrics on the engine of the step's backend (onnxruntime unless jax-js is asked for)
    metrics = await SplitMetrics.create(model, opts.train, opts.test, (m, d) =>
      createEngine(m, d, { backend: spec.backend, threads: opts.threads }, opts.warn),
    );
    await trainSteps(loop, metrics, opts);
  } finally {
    loop.dispose();
    metrics?.dispose();
  }
}

/** The optimizer steps of `train`, from the start or the resumed state, with checkpoints at their steps. */
async function trainSteps(loop: TrainLoop, metrics: SplitMetrics, opts: TrainOptions): Promise<void> {
  const { spec } = opts;
  const n = count(opts.train);
  const per = stepsPerEpoch(n, spec.batchSize);
  const total = per * spec.epochs;
  const ckSteps = new Set(checkpointSteps(spec, n));
  let step = opts.resume?.step ?? 0;
  let index = opts.resume?.nextIndex ?? 0;
  const checkpoint = async () => {
    await takeCheckpoint(loop, metrics, opts, index, step, per);
    index++;
  };
  if (!opts.resume && ckSteps.has(0)) await checkpoint();
  while (step < total) {
    const loss = await loop.step(step, scheduledRate(spec.schedule, spec.optimizer.lr, step, total, per));
    step++;
    if (!Number.isFinite(loss)) {
      throw new LosscapeError('failed', `training diverged at step ${step} (loss ${loss}); lower the learning rate. Checkpoints up to ${index - 1} are kept`);
    }
    opts.onStep?.(step, total, loss);
    if (ckSteps.has(step)) await checkpoint();
  }
}

/** Checkpoint `index` at `step`: finite weights, their full-split metrics, handed to onCheckpoint. */
async function takeCheckpoint(loop: TrainLoop, metrics: SplitMetrics, opts: TrainOptions, index: number, step: number, per: number): Promise<void> {
  const theta = await loop.theta();
  const optState = await loop.optState();
  if (!theta.every(Number.isFinite)) throw new LosscapeError('failed', `training diverged before step ${step}: the weights contain NaN/Inf`);
  const epoch = step / per;
  await opts.onCheckpoint({ index, step, epoch, theta, metrics: await metrics.at(theta) }, { step, theta, optState, nextIndex: index + 1 });
}
