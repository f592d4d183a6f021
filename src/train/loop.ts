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
import { BN_MOMENTUM, type ConvImpl } from '../model/layers.js';
import type { Model } from '../model/model.js';
import { applyUpdate, biasCorrections, type OptimizerSpec, stateSlots } from './optimizer.js';

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
  /** Precision of weights, optimizer state and arithmetic (default float32; float64 for fixture work). */
  dtype?: DType;
  /** Random crops and flips of every batch, drawn from (seed, 'augment', step). */
  augment?: AugmentSpec;
}

export type DType = 'float32' | 'float64';

/** A jax-js array of `values` in `dtype`. */
function array(values: ArrayLike<number>, shape: number[], dtype: DType): Arr {
  return np.array(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values)).reshape(shape);
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** What a step of the loop computes: [params', state', mean loss]. `bias` is `biasCorrections` of the step ([2]). */
export type StepBody = (params: Arr[], state: Arr[], x: Arr, t: Arr, dropout: Arr[], lr: Arr, bias: Arr, keep: Arr[]) => [Arr[], Arr[], Arr];
type StepFn = StepBody & { dispose(): void };

/**
 * The step: mean loss over the batch and its gradient, the optimizer update, then the running
 * statistics (PyTorch: r ← (1 − m)·r + m·batch, with the unbiased batch variance), then the
 * tensors flagged in `masked` multiplied by their 0/1 `keep` array. jax-js jits it here; the
 * native trainer (native.ts) compiles the same function to ONNX (`conv: 'lax'`).
 */
export function stepFunction(model: Model, optimizer: OptimizerSpec, kind: 'mse' | 'cross_entropy', masked: boolean[], conv?: ConvImpl): StepBody {
  const learnable = model.layout.entries.map((e) => isLearnable(e.role));
  const lossFn = (params: Arr[], x: Arr, t: Arr, dropout: Arr[]): [Arr, Arr[]] => {
    const nb = x.shape[0]!;
    const r = model.apply(params, x, { train: true, dropoutMasks: dropout, conv });
    return [lossSum(r.out, t, kind).mul(1 / nb), r.batchStats];
  };
  return (params: Arr[], state: Arr[], x: Arr, t: Arr, dropout: Arr[], lr: Arr, bias: Arr, keep: Arr[]) => {
    const [[loss, stats], grads] = valueAndGrad(lossFn, { hasAux: true })(
      params.map((p) => p.ref),
      x,
      t,
      dropout,
    ) as unknown as [[Arr, Arr[]], Arr[]];
    const [updated, newState] = applyUpdate(optimizer, params, grads, state, learnable, lr, bias);
    model.batchNorms.forEach((bn, i) => {
      const mean = stats[2 * i]!;
      const variance = stats[2 * i + 1]!;
      updated[bn.mean] = updated[bn.mean]!.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM));
      updated[bn.var] = updated[bn.var]!.mul(1 - BN_MOMENTUM).add(variance.mul(BN_MOMENTUM));
    });
    const out = updated.map((p, k) => (masked[k] ? p.mul(keep[k]!.ref) : p));
    keep.forEach((m) => m.dispose());
    return [out, newState, loss];
  };
}

function compileStep(model: Model, optimizer: OptimizerSpec, kind: 'mse' | 'cross_entropy', masked: boolean[]): StepFn {
  return jit(stepFunction(model, optimizer, kind, masked)) as unknown as StepFn;
}

/** Per tensor: whether the mask zeroes any of its entries. */
export function maskedTensors(layout: ParamLayout, mask: Uint8Array | undefined): boolean[] {
  return layout.entries.map((e) => {
    if (!mask) return false;
    for (let i = e.offset; i < e.offset + e.size; i++) if (!mask[i]) return true;
    return false;
  });
}

/** One 0/1 mask per dropout site for a batch of nb ([nb, ...site shape], flat), drawn in site order. */
export function dropoutMaskData(model: Model, rng: Rng, nb: number): Float32Array[] {
  return model.dropoutSites.map((site) => {
    const m = new Float32Array(nb * site.shape.reduce((a, q) => a * q, 1));
    for (let i = 0; i < m.length; i++) m[i] = rng.uniform() >= site.p ? 1 : 0;
    return m;
  });
}

/** Per-tensor arrays of a flat vector in layout order. */
function tensorsOf(layout: ParamLayout, theta: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, dtype: DType): Arr[] {
  return layout.entries.map((e) => array(theta.subarray(e.offset, e.offset + e.size), e.shape, dtype));
}

/** Optimizer state arrays (`slots` per tensor), from saved vectors or zeros. */
function initialState(layout: ParamLayout, slots: number, saved: Float32Array[] | undefined, dtype: DType): Arr[] {
  if (saved) return saved.map((s, i) => array(s, layout.entries[Math.floor(i / slots)]!.shape, dtype));
  return layout.entries.flatMap((e) => Array.from({ length: slots }, () => array(new Float32Array(e.size), e.shape, dtype)));
}

/** Minibatches of a data set: a seeded order per epoch, batch b of it copied into [nb, …] arrays. */
export class Minibatches {
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
    private readonly dtype: DType = 'float32',
    private readonly augment?: AugmentSpec,
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
    return this.arrays(this.copy(this.indicesAt(step), step));
  }

  /** `at` as flat views of reused buffers ([nb·d] inputs, [nb·c] targets), valid until the next call. */
  fill(step: number): { x: Float32Array; t: Float32Array; nb: number } {
    const nb = this.copy(this.indicesAt(step), step);
    return { x: this.xb.subarray(0, nb * this.d), t: this.tb.subarray(0, nb * this.c), nb };
  }

  /** The samples at `indices` (at most batchSize of them) as [nb, …] input and target arrays. */
  gather(indices: ArrayLike<number>): { x: Arr; t: Arr; nb: number } {
    return this.arrays(this.copy(indices));
  }

  /** The first nb samples of the batch buffers as [nb, …] input and target arrays. */
  private arrays(nb: number): { x: Arr; t: Arr; nb: number } {
    const { d, c, xb, tb } = this;
    return {
      x: array(xb.subarray(0, nb * d), [nb, ...this.inputShape], this.dtype),
      t: array(tb.subarray(0, nb * c), [nb, c], this.dtype),
      nb,
    };
  }

  private indicesAt(step: number): Int32Array {
    this.shuffleFor(Math.floor(step / this.perEpoch));
    const start = (step % this.perEpoch) * this.batchSize;
    return this.order.subarray(start, Math.min(start + this.batchSize, this.n));
  }

  /**
   * Copies the samples at `indices` into the batch buffers, augmented (when configured) with the
   * draws of optimizer step `step`; returns their number.
   */
  private copy(indices: ArrayLike<number>, step?: number): number {
    const { d, c, xb, tb } = this;
    const nb = indices.length;
    if (nb > xb.length / d) throw new Error(`a minibatch of ${nb} samples exceeds the batch size ${xb.length / d}`);
    for (let k = 0; k < nb; k++) {
      const i = indices[k]!;
      xb.set(this.data.x.subarray(i * d, (i + 1) * d), k * d);
      tb.set(this.targets.subarray(i * c, (i + 1) * c), k * c);
    }
    if (step !== undefined && this.augment) augmentBatch(xb, nb, this.inputShape, this.augment, this.seed, step);
    return nb;
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
    const dtype = o.dtype ?? 'float32';
    const keep = o.mask ? tensorsOf(layout, Float32Array.from(o.mask), dtype) : [];
    return new MinibatchLoop(
      o,
      streams,
      new Minibatches(o.data, model.inputShape, o.batchSize, o.seed, streams.shuffle, dtype, o.augment),
      compileStep(model, o.optimizer, kind, masked),
      tensorsOf(layout, o.theta, dtype),
      initialState(layout, stateSlots(o.optimizer), o.optState, dtype),
      keep,
    );
  }

  /** Optimizer step number `step` (0-based) with learning rate `lr`; returns the batch's mean loss. */
  async step(step: number, lr: number): Promise<number> {
    const batch = this.batches.at(step);
    return this.update(batch, dropoutMaskData(this.o.model, new Rng(this.o.seed, this.streams.dropout, step), batch.nb), step, lr);
  }

  /**
   * Step number `step` on a minibatch given explicitly: the samples at `indices` of the data set
   * and one 0/1 keep mask per dropout site ([nb, ...site shape], flat). Returns the batch's mean loss.
   */
  async stepOn(indices: ArrayLike<number>, masks: Float32Array[], step: number, lr: number): Promise<number> {
    return this.update(this.batches.gather(indices), masks, step, lr);
  }

  private async update(batch: { x: Arr; t: Arr; nb: number }, masks: Float32Array[], step: number, lr: number): Promise<number> {
    const { x, t, nb } = batch;
    const dtype = this.o.dtype ?? 'float32';
    const dropout = this.o.model.dropoutSites.map((site, k) => array(masks[k]!, [nb, ...site.shape], dtype));
    const [params, state, loss] = this.stepFn(
      this.params,
      this.state,
      x,
      t,
      dropout,
      array([lr], [], dtype),
      array(biasCorrections(this.o.optimizer, step + 1), [2], dtype),
      this.keep.map((m) => m.ref),
    ) as [Arr[], Arr[], Arr];
    this.params = params;
    this.state = state;
    return (await loss.data())[0]!;
  }

  /** The current weights (flat, layout order). */
  async theta(): Promise<Float32Array> {
    return Float32Array.from(await this.weights());
  }

  /** The current weights in full precision (float64 holds float32 weights exactly). */
  async weights(): Promise<Float64Array> {
    const layout = this.o.model.layout;
    const theta = new Float64Array(layout.size);
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
