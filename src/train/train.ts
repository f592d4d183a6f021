/**
 * Training with checkpoints: minibatch SGD/Adam on a zoo model in jax-js
 * (gradient + update jitted together). Deterministic in the seed: epoch e
 * shuffles with stream (seed, e), step s draws dropout masks from (seed, s), so a
 * run resumed from a checkpoint continues exactly as the uninterrupted one.
 */
import { jit, numpy as np, valueAndGrad } from '@jax-js/jax';
import { z } from 'zod';
import { LosscapeError } from '../core/errors.js';
import { isLearnable } from '../core/layout.js';
import { Rng } from '../core/rng.js';
import { count, type Dataset, sampleSize } from '../data/dataset.js';
import { targetMatrix } from '../engine/batches.js';
import { JaxEngine } from '../engine/jax/engine.js';
import { lossSum } from '../engine/loss.js';
import { ensureJax } from '../model/jax.js';
import { BN_MOMENTUM } from '../model/layers.js';
import type { Model } from '../model/model.js';
import { applyUpdate, OptimizerSpec, stateSlots } from './optimizer.js';

type Arr = np.Array;

export const TrainSpec = z
  .object({
    epochs: z.number().int().min(0).default(8),
    batchSize: z.number().int().positive().default(64),
    optimizer: OptimizerSpec.prefault({ type: 'sgd' }),
    /** Learning-rate schedule over all steps. */
    schedule: z.enum(['constant', 'cosine']).default('constant'),
    /** Seed of initialization, shuffling and dropout masks. */
    seed: z.number().int().min(0).default(0),
    /** Checkpoint cadence: 'epoch', or every N optimizer steps. The initial weights are checkpoint 0. */
    checkpointEvery: z.union([z.literal('epoch'), z.number().int().positive()]).default('epoch'),
  })
  .strict();
export type TrainSpec = z.infer<typeof TrainSpec>;

export interface Metrics4 {
  train_loss: number;
  train_acc: number;
  test_loss?: number;
  test_acc?: number;
}

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
  /** Called for every checkpoint, with the optimizer state to save for resuming. */
  onCheckpoint(c: Checkpoint, state: TrainState): Promise<void>;
  onStep?(step: number, totalSteps: number, loss: number): void;
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
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

export function learningRate(spec: TrainSpec, step: number, total: number): number {
  const lr = spec.optimizer.lr;
  if (spec.schedule === 'cosine') return 0.5 * lr * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
  return lr;
}

/** Full-split metrics (eval mode) with engines compiled once. */
export class SplitMetrics {
  private constructor(private readonly engines: [string, JaxEngine][]) {}
  static async create(model: Model, train: Dataset, test?: Dataset): Promise<SplitMetrics> {
    const engines: [string, JaxEngine][] = [['train', await JaxEngine.create(model, train)]];
    if (test) engines.push(['test', await JaxEngine.create(model, test)]);
    return new SplitMetrics(engines);
  }
  async at(theta: Float32Array): Promise<Metrics4> {
    const out: Metrics4 = { train_loss: 0, train_acc: 0 };
    for (const [name, e] of this.engines) {
      const m = await e.evaluate(theta);
      out[`${name}_loss` as 'train_loss'] = m.loss;
      out[`${name}_acc` as 'train_acc'] = m.acc;
    }
    return out;
  }
  dispose(): void {
    for (const [, e] of this.engines) e.dispose();
  }
}

export async function train(opts: TrainOptions): Promise<void> {
  await ensureJax();
  const { model, spec } = opts;
  const layout = model.layout;
  const n = count(opts.train);
  const d = sampleSize(opts.train);
  const c = opts.train.outputDim;
  const per = stepsPerEpoch(n, spec.batchSize);
  const total = per * spec.epochs;
  const ckSteps = new Set(checkpointSteps(spec, n));
  const learnable = layout.entries.map((e) => isLearnable(e.role));
  const kind = opts.train.task === 'regression' ? 'mse' : 'cross_entropy';
  const targets = targetMatrix(opts.train);
  const slots = stateSlots(spec.optimizer);

  // mean loss over the batch; running statistics come back as aux
  const lossFn = (params: Arr[], x: Arr, t: Arr, masks: Arr[]): [Arr, Arr[]] => {
    const nb = x.shape[0]!;
    const r = model.apply(params, x, { train: true, dropoutMasks: masks });
    return [lossSum(r.out, t, kind).mul(1 / nb), r.batchStats];
  };
  const step = jit((params: Arr[], state: Arr[], x: Arr, t: Arr, masks: Arr[], lr: Arr, tstep: Arr) => {
    const nb = x.shape[0]!;
    const [[loss, stats], grads] = valueAndGrad(lossFn, { hasAux: true })(
      params.map((p) => p.ref),
      x,
      t,
      masks,
    ) as unknown as [[Arr, Arr[]], Arr[]];
    const [np2, ns] = applyUpdate(spec.optimizer, params, grads, state, learnable, lr, tstep);
    // running statistics (PyTorch: unbiased batch variance in the running estimate)
    model.batchNorms.forEach((bn, i) => {
      const mean = stats[2 * i]!;
      const variance = stats[2 * i + 1]!;
      np2[bn.mean] = np2[bn.mean]!.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM));
      np2[bn.var] = np2[bn.var]!.mul(1 - BN_MOMENTUM).add(variance.mul((BN_MOMENTUM * nb) / Math.max(1, nb - 1)));
    });
    return [np2, ns, loss];
  });

  const metricsOf = await SplitMetrics.create(model, opts.train, opts.test);
  let stepNo = opts.resume?.step ?? 0;
  let index = opts.resume?.nextIndex ?? 0;
  const theta0 = opts.resume?.theta ?? opts.initTheta ?? model.init(spec.seed);
  let params = layout.entries.map((e) => np.array(theta0.slice(e.offset, e.offset + e.size)).reshape(e.shape));
  let state: Arr[] = opts.resume
    ? opts.resume.optState.map((s, i) => np.array(s.slice()).reshape(layout.entries[Math.floor(i / slots)]!.shape))
    : layout.entries.flatMap((e) => Array.from({ length: slots }, () => np.zeros(e.shape)));

  const snapshot = async (): Promise<[Float32Array, Float32Array[]]> => {
    const theta = new Float32Array(layout.size);
    for (let k = 0; k < params.length; k++) theta.set(await params[k]!.ref.data(), layout.entries[k]!.offset);
    const st: Float32Array[] = [];
    for (const s of state) st.push(Float32Array.from(await s.ref.data()));
    return [theta, st];
  };
  const checkpoint = async () => {
    const [theta, optState] = await snapshot();
    for (let i = 0; i < theta.length; i++) {
      if (!Number.isFinite(theta[i]!)) {
        throw new LosscapeError('failed', `training diverged before step ${stepNo}: the weights contain NaN/Inf`);
      }
    }
    const metrics = await metricsOf.at(theta);
    const epoch = stepNo / per;
    await opts.onCheckpoint({ index, step: stepNo, epoch, theta, metrics }, { step: stepNo, theta, optState, nextIndex: index + 1 });
    index++;
  };

  if (!opts.resume && ckSteps.has(0)) await checkpoint();
  const xb = new Float32Array(spec.batchSize * d);
  const tb = new Float32Array(spec.batchSize * c);
  while (stepNo < total) {
    const epoch = Math.floor(stepNo / per);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    new Rng(spec.seed, 'shuffle', epoch).shuffle(order);
    const b = stepNo % per;
    const start = b * spec.batchSize;
    const nb = Math.min(spec.batchSize, n - start);
    for (let k = 0; k < nb; k++) {
      const i = order[start + k]!;
      xb.set(opts.train.x.subarray(i * d, (i + 1) * d), k * d);
      tb.set(targets.subarray(i * c, (i + 1) * c), k * c);
    }
    const maskRng = new Rng(spec.seed, 'dropout', stepNo);
    const masks = model.dropoutSites.map((site) => {
      const per1 = site.shape.reduce((a, q) => a * q, 1);
      const m = new Float32Array(nb * per1);
      for (let i = 0; i < m.length; i++) m[i] = maskRng.uniform() >= site.p ? 1 : 0;
      return np.array(m).reshape([nb, ...site.shape]);
    });
    const lr = learningRate(spec, stepNo, total);
    const [p2, s2, loss] = step(
      params,
      state,
      np.array(xb.slice(0, nb * d)).reshape([nb, ...model.inputShape]),
      np.array(tb.slice(0, nb * c)).reshape([nb, c]),
      masks,
      np.array(new Float32Array([lr])).reshape([]),
      np.array(new Float32Array([stepNo + 1])).reshape([]),
    ) as unknown as [Arr[], Arr[], Arr];
    params = p2;
    state = s2;
    stepNo++;
    const l = (await loss.data())[0]!;
    if (!Number.isFinite(l)) {
      throw new LosscapeError('failed', `training diverged at step ${stepNo} (loss ${l}); lower the learning rate. Checkpoints up to ${index - 1} are kept`);
    }
    opts.onStep?.(stepNo, total, l);
    if (ckSteps.has(stepNo)) await checkpoint();
  }
  params.forEach((p) => p.dispose());
  state.forEach((s) => s.dispose());
  step.dispose();
  metricsOf.dispose();
}
