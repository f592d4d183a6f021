/**
 * Native-speed training: the minibatch loop's step function (loop.ts `stepFunction`: forward,
 * backward, SGD/Adam update, batch-norm running statistics, pruning mask) traced once per
 * batch size and compiled to ONNX (src/compile), run by onnxruntime. The minibatch order and
 * the dropout masks come from the same seed streams as the jax-js loop, so both follow the
 * same trajectory up to float rounding.
 *
 * Weights and optimizer state stay in two sets of buffers this loop owns: a step reads one set
 * and onnxruntime writes the next weights and state straight into the other (preallocated
 * outputs), then the two swap.
 */

import { ArgSpec, compileToOnnx } from '../compile/compile.js';
import { Rng, type RngStream } from '../core/rng.js';
import { count } from '../data/dataset.js';
import { nchwcBlockSize } from '../engine/ort/nchwc.js';
import { OrtFunction } from '../engine/ort/runner.js';
import { ensureJax } from '../model/jax.js';
import type { Model } from '../model/model.js';
import { dropoutMaskData, type LoopOptions, Minibatches, MinibatchLoop, maskedTensors, stepFunction, stepsPerEpoch } from './loop.js';
import { biasCorrections, type OptimizerSpec, stateSlots } from './optimizer.js';

/** What the training driver steps through: the jax-js loop or the native one. */
export type TrainLoop = Pick<MinibatchLoop, 'step' | 'theta' | 'optState' | 'dispose'>;

export const TRAIN_BACKENDS = ['auto', 'onnx', 'jax'] as const;
export type TrainBackend = (typeof TRAIN_BACKENDS)[number];

export interface NativeLoopOptions extends LoopOptions {
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
  /** Run convolutions through onnxruntime's NCHWc kernels where it has them (default true). */
  nchwc?: boolean;
}

/** The batch sizes a data set of n samples is cut into: full batches and the last, shorter one. */
export function batchSizesOf(n: number, batchSize: number): number[] {
  const full = Math.min(batchSize, n);
  const last = n - (stepsPerEpoch(n, batchSize) - 1) * batchSize;
  return last !== full ? [full, last] : [full];
}

/** Argument specs of a step's weights (one per tensor) and optimizer state (stateSlots per tensor). */
export function weightArgs(model: Model, optimizer: OptimizerSpec): { params: ArgSpec[]; state: ArgSpec[] } {
  const params = model.layout.entries.map((e) => new ArgSpec(e.shape));
  const slots = stateSlots(optimizer);
  const state = model.layout.entries.flatMap((e) => Array.from({ length: slots }, () => new ArgSpec(e.shape)));
  return { params, state };
}

/** The step function compiled for batches of nb samples (inputs and outputs in the step's argument order). */
function compileStepGraph(model: Model, o: NativeLoopOptions, nb: number, nchwcBlock: number): Uint8Array {
  const kind = o.data.task === 'regression' ? 'mse' : 'cross_entropy';
  const fn = stepFunction(model, o.optimizer, kind, maskedTensors(model.layout, o.mask), 'lax');
  const { params, state } = weightArgs(model, o.optimizer);
  const args = [
    params,
    state,
    new ArgSpec([nb, ...model.inputShape]),
    new ArgSpec([nb, model.outputDim]),
    model.dropoutSites.map((s) => new ArgSpec([nb, ...s.shape])),
    new ArgSpec([]),
    new ArgSpec([2]),
    o.mask ? params : [],
  ];
  return compileToOnnx(fn as (...a: unknown[]) => unknown, args, { graphName: `train-step:${nb}`, nchwcBlock, weightGradGemm: true }).model;
}

/** Per-tensor copies of a flat vector in layout order. */
function split(model: Model, theta: Float32Array): Float32Array[] {
  return model.layout.entries.map((e) => theta.slice(e.offset, e.offset + e.size));
}

/** The minibatch loop with the step run by onnxruntime. Same interface as MinibatchLoop. */
export class NativeMinibatchLoop implements TrainLoop {
  /** Weights then optimizer state, per tensor: the set the next step reads, and the one it writes. */
  private current: Float32Array[];
  private next: Float32Array[];
  private readonly loss = new Float32Array(1);
  private readonly lr = new Float32Array(1);
  private readonly bias = new Float32Array(2);

  private constructor(
    private readonly o: NativeLoopOptions,
    private readonly streams: { shuffle: RngStream; dropout: RngStream },
    private readonly batches: Minibatches,
    private readonly sessions: Map<number, OrtFunction>,
    private readonly keep: Float32Array[],
  ) {
    const { model } = o;
    const slots = stateSlots(o.optimizer);
    const params = split(model, o.theta);
    const state = o.optState
      ? o.optState.map((s) => Float32Array.from(s))
      : model.layout.entries.flatMap((e) => Array.from({ length: slots }, () => new Float32Array(e.size)));
    this.current = [...params, ...state];
    this.next = this.current.map((a) => new Float32Array(a.length));
  }

  /** Compiles the step for every batch size the data set needs; throws if onnxruntime cannot run it. */
  static async create(o: NativeLoopOptions): Promise<NativeMinibatchLoop> {
    await ensureJax();
    const { model } = o;
    const streams = o.streams ?? { shuffle: 'shuffle', dropout: 'dropout' };
    const block = o.nchwc === false ? 0 : ((await nchwcBlockSize()) ?? 0);
    const sessions = new Map<number, OrtFunction>();
    try {
      for (const nb of batchSizesOf(count(o.data), o.batchSize)) {
        sessions.set(nb, await OrtFunction.create(compileStepGraph(model, o, nb, block), { threads: o.threads, spinning: false }));
      }
    } catch (e) {
      for (const s of sessions.values()) await s.dispose();
      throw e;
    }
    const keep = o.mask ? split(model, Float32Array.from(o.mask)) : [];
    return new NativeMinibatchLoop(
      o,
      streams,
      new Minibatches(o.data, model.inputShape, o.batchSize, o.seed, streams.shuffle, 'float32', o.augment),
      sessions,
      keep,
    );
  }

  /** Optimizer step number `step` (0-based) with learning rate `lr`; returns the batch's mean loss. */
  async step(step: number, lr: number): Promise<number> {
    const { x, t, nb } = this.batches.fill(step);
    const masks = dropoutMaskData(this.o.model, new Rng(this.o.seed, this.streams.dropout, step), nb);
    this.lr[0] = lr;
    this.bias.set(biasCorrections(this.o.optimizer, step + 1));
    const session = this.sessions.get(nb)!;
    await session.runInto([...this.current, x, t, ...masks, this.lr, this.bias, ...this.keep], [...this.next, this.loss]);
    [this.current, this.next] = [this.next, this.current];
    return this.loss[0]!;
  }

  /** The current weights (flat, layout order). */
  async theta(): Promise<Float32Array> {
    const layout = this.o.model.layout;
    const theta = new Float32Array(layout.size);
    layout.entries.forEach((e, k) => theta.set(this.current[k]!, e.offset));
    return theta;
  }

  /** The optimizer state (flat per array, `stateSlots` arrays per tensor). */
  async optState(): Promise<Float32Array[]> {
    return this.current.slice(this.o.model.layout.entries.length).map((a) => Float32Array.from(a));
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.dispose();
    this.sessions.clear();
  }
}

/**
 * The training loop for a backend: 'onnx' the native loop, 'jax' the jax-js loop, 'auto' the
 * native loop, or the jax-js loop with a one-line warning when onnxruntime cannot run the step.
 */
export async function createTrainLoop(o: NativeLoopOptions, backend: TrainBackend = 'auto', warn: (line: string) => void = () => {}): Promise<TrainLoop> {
  return withJaxFallback<TrainLoop>(
    backend,
    'this training step',
    () => NativeMinibatchLoop.create(o),
    () => MinibatchLoop.create(o),
    warn,
  );
}

/**
 * 'jax' builds the jax-js loop, 'onnx' the native one, 'auto' the native one or, when
 * onnxruntime cannot run `what`, the jax-js one after a one-line warning.
 */
export async function withJaxFallback<T>(
  backend: TrainBackend,
  what: string,
  native: () => Promise<T>,
  jax: () => Promise<T>,
  warn: (line: string) => void,
): Promise<T> {
  if (backend === 'jax') return jax();
  try {
    return await native();
  } catch (e) {
    if (backend === 'onnx') throw e;
    warn(`onnxruntime cannot run ${what} (${(e as Error).message.split('\n')[0]}); training with jax-js, which is slower`);
    return jax();
  }
}
