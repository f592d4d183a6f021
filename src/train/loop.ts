/**
 * The one minibatch loop of losscape: gradient, optimizer update and batch-norm running
 * statistics jitted together in jax-js, minibatches in a seeded order per epoch, dropout
 * masks seeded per step. Training (train.ts) and fine-tuning a pruned network under a fixed
 * mask (studies/finetune.ts) both step through it; each draws from its own seed streams.
 */
import { jit, numpy as np, valueAndGrad } from '@jax-js/jax';
import { isLearnable, type ParamLayout } from '../core/layout.js';
import { Rng, type RngStream } from '../core/rng.js';
import { type AugmentSpec, augmentBatch } from '../data/augment.js';
import { count, type Dataset, sampleSize } from '../data/dataset.js';
import { targetMatrix } from '../engine/batches.js';
import { lossSum } from '../engine/loss.js';
import { ensureJax } from '../model/jax.js';
import { BN_MOMENTUM } from '../model/layers.js';
import type { Model } from '../model/model.js';
import { applyUpdate, type OptimizerSpec, stateSlots } from './optimizer.js';

type Arr = np.Array;

export interface LoopOptions {
  model: Model;
  data: Dataset;
  optimizer: OptimizerSpec;
  batchSize: number;
  seed: number;
  /** Seed streams of the minibatch order (index: epoch) and of the dropout masks (index: step). */
  streams?: { shuffle: RngStream; dropout: RngStream };
  /** Weights to start from. */
  theta: Float32Array;
  /** Optimizer state to continue from (default: zeros). */
  optState?: Float32Array[];
  /** 1 = trained, 0 = held at zero (pruned): masked tensors are multiplied by it after every update. */
  mask?: Uint8Array;
  /** Random crops and flips of every batch, drawn from (seed, 'augment', step). */
  augment?: AugmentSpec;
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** What a step of the loop computes (jitted): [params', state', mean loss]. */
type StepFn = ((params: Arr[], state: Arr[], x: Arr, t: Arr, dropout: Arr[], lr: Arr, tstep: Arr, keep: Arr[]) => unknown) & { dispose(): void };

/**
 * The jitted step: mean loss over the batch and its gradient, the optimizer update, then the
 * running statistics (PyTorch: unbiased batch variance in the running estimate), then the
 * tensors flagged in `masked` multiplied by their 0/1 `keep` array.
 */
function compileStep(model: Model, optimizer: OptimizerSpec, kind: 'mse' | 'cross_entropy', masked: boolean[]): StepFn {
  const learnable = model.layout.entries.map((e) => isLearnable(e.role));
  const lossFn = (params: Arr[], x: Arr, t: Arr, dropout: Arr[]): [Arr, Arr[]] => {
    const nb = x.shape[0]!;
    const r = model.apply(params, x, { train: true, dropoutMasks: dropout });
    return [lossSum(r.out, t, kind).mul(1 / nb), r.batchStats];
  };
  return jit((params: Arr[], state: Arr[], x: Arr, t: Arr, dropout: Arr[], lr: Arr, tstep: Arr, keep: Arr[]) => {
    const nb = x.shape[0]!;
    const [[loss, stats], grads] = valueAndGrad(lossFn, { hasAux: true })(
      params.map((p) => p.ref),
      x,
      t,
      dropout,
    ) as unknown as [[Arr, Arr[]], Arr[]];
    const [updated, newState] = applyUpdate(optimizer, params, grads, state, learnable, lr, tstep);
    model.batchNorms.forEach((bn, i) => {
      const mean = stats[2 * i]!;
      const variance = stats[2 * i + 1]!;
      updated[bn.mean] = updated[bn.mean]!.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM));
      updated[bn.var] = updated[bn.var]!.mul(1 - BN_MOMENTUM).add(variance.mul((BN_MOMENTUM * nb) / Math.max(1, nb - 1)));
    });
    const out = updated.map((p, k) => (masked[k] ? p.mul(keep[k]!.ref) : p));
    keep.forEach((m) => m.dispose());
    return [out, newState, loss];
  }) as unknown as StepFn;
}

/** Per tensor: whether the mask zeroes any of its entries. */
function maskedTensors(layout: ParamLayout, mask: Uint8Array | undefined): boolean[] {
  return layout.entries.map((e) => {
    if (!mask) return false;
    for (let i = e.offset; i < e.offset + e.size; i++) if (!mask[i]) return true;
    return false;
  });
}

/** One 0/1 mask per dropout site for a batch of nb, drawn in site order. */
function dropoutMasks(model: Model, rng: Rng, nb: number): Arr[] {
  return model.dropoutSites.map((site) => {
    const m = new Float32Array(nb * site.shape.reduce((a, q) => a * q, 1));
    for (let i = 0; i < m.length; i++) m[i] = rng.uniform() >= site.p ? 1 : 0;
    return np.array(m).reshape([nb, ...site.shape]);
  });
}

/** Per-tensor arrays of a flat vector in layout order. */
function tensorsOf(layout: ParamLayout, theta: Float32Array): Arr[] {
  return layout.entries.map((e) => np.array(theta.slice(e.offset, e.offset + e.size)).reshape(e.shape));
}

/** Optimizer state arrays (`slots` per tensor), from saved vectors or zeros. */
function initialState(layout: ParamLayout, slots: number, saved: Float32Array[] | undefined): Arr[] {
  if (saved) return saved.map((s, i) => np.array(s.slice()).reshape(layout.entries[Math.floor(i / slots)]!.shape));
  return layout.entries.flatMap((e) => Array.from({ length: slots }, () => np.zeros(e.shape)));
}

/** Minibatches of a data set: a seeded order per epoch, batch b of it copied into [nb, …] arrays. */
class Minibatches {
  private readonly n: number;
  private readonly d: number;
  private readonly c: number;
  private readonly targets: Float32Array;
  private readonly xb: Float32Array;
  private readonly tb: Float32Array;
  private epoch = -1;
  private order = new Int32Array(0);

  constructor(
    private readonly data: Dataset,
    private readonly inputShape: number[],
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly stream: RngStream,
    private readonly augment: AugmentSpec | undefined,
  ) {
    this.n = count(data);
    this.d = sampleSize(data);
    this.c = data.outputDim;
    this.targets = targetMatrix(data);
    const cap = Math.min(batchSize, this.n);
    this.xb = new Float32Array(cap * this.d);
    this.tb = new Float32Array(cap * this.c);
  }

  get perEpoch(): number {
    return stepsPerEpoch(this.n, this.batchSize);
  }

  /** The samples of step `step`: batch (step mod perEpoch) of epoch ⌊step / perEpoch⌋. */
  at(step: number): { x: Arr; t: Arr; nb: number } {
    const { n, d, c, xb, tb } = this;
    this.shuffleFor(Math.floor(step / this.perEpoch));
    const start = (step % this.perEpoch) * this.batchSize;
    const nb = Math.min(this.batchSize, n - start);
    for (let k = 0; k < nb; k++) {
      const i = this.order[start + k]!;
      xb.set(this.data.x.subarray(i * d, (i + 1) * d), k * d);
      tb.set(this.targets.subarray(i * c, (i + 1) * c), k * c);
    }
    if (this.augment) augmentBatch(xb, nb, this.inputShape, this.augment, this.seed, step);
    return {
      x: np.array(xb.slice(0, nb * d)).reshape([nb, ...this.inputShape]),
      t: np.array(tb.slice(0, nb * c)).reshape([nb, c]),
      nb,
    };
  }

  private shuffleFor(epoch: number): void {
    if (epoch === this.epoch) return;
    this.order = Int32Array.from({ length: this.n }, (_, i) => i);
    new Rng(this.seed, this.stream, epoch).shuffle(this.order);
    this.epoch = epoch;
  }
}

/** Weights, optimizer state and the compiled step of one training or fine-tuning run. */
export class MinibatchLoop {
  private constructor(
    private readonly o: LoopOptions,
    private readonly streams: { shuffle: RngStream; dropout: RngStream },
    private readonly batches: Minibatches,
    private readonly stepFn: StepFn,
    private params: Arr[],
    private state: Arr[],
    private readonly keep: Arr[],
  ) {}

  static async create(o: LoopOptions): Promise<MinibatchLoop> {
    await ensureJax();
    const { model } = o;
    const layout = model.layout;
    const streams = o.streams ?? { shuffle: 'shuffle', dropout: 'dropout' };
    const kind = o.data.task === 'regression' ? 'mse' : 'cross_entropy';
    const masked = maskedTensors(layout, o.mask);
    const keep = o.mask ? tensorsOf(layout, Float32Array.from(o.mask)) : [];
    return new MinibatchLoop(
      o,
      streams,
      new Minibatches(o.data, model.inputShape, o.batchSize, o.seed, streams.shuffle, o.augment),
      compileStep(model, o.optimizer, kind, masked),
      tensorsOf(layout, o.theta),
      initialState(layout, stateSlots(o.optimizer), o.optState),
      keep,
    );
  }

  /** Optimizer step number `step` (0-based) with learning rate `lr`; returns the batch's mean loss. */
  async step(step: number, lr: number): Promise<number> {
    const { x, t, nb } = this.batches.at(step);
    const dropout = dropoutMasks(this.o.model, new Rng(this.o.seed, this.streams.dropout, step), nb);
    const [params, state, loss] = this.stepFn(
      this.params,
      this.state,
      x,
      t,
      dropout,
      np.array(new Float32Array([lr])).reshape([]),
      np.array(new Float32Array([step + 1])).reshape([]),
      this.keep.map((m) => m.ref),
    ) as [Arr[], Arr[], Arr];
    this.params = params;
    this.state = state;
    return (await loss.data())[0]!;
  }

  /** The current weights (flat, layout order). */
  async theta(): Promise<Float32Array> {
    const layout = this.o.model.layout;
    const theta = new Float32Array(layout.size);
    for (let k = 0; k < this.params.length; k++) theta.set(await this.params[k]!.ref.data(), layout.entries[k]!.offset);
    return theta;
  }

  /** The optimizer state (flat per array, `stateSlots` arrays per tensor). */
  async optState(): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const s of this.state) out.push(Float32Array.from(await s.ref.data()));
    return out;
  }

  dispose(): void {
    for (const a of [...this.params, ...this.state, ...this.keep]) a.dispose();
    this.stepFn.dispose();
  }
}
