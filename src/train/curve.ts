/**
 * Mode-connecting curves (Garipov et al. 2018, "Loss Surfaces, Mode Connectivity, and Fast
 * Ensembling of DNNs"): the quadratic Bézier curve
 *   φ(t) = (1 − t)²·θ₁ + 2t(1 − t)·θ_b + t²·θ₂,   t ∈ [0, 1],
 * between two trained weight vectors, whose bend θ_b is trained so that the loss stays low along
 * the whole curve: at each step t ~ U(0, 1) (seeded: stream 'curve-t', index step), the mean
 * loss of a minibatch at φ(t), and θ_b updated with its gradient ∂L/∂θ_b = 2t(1 − t)·∇L(φ(t))
 * (autodiff through φ) by the project's optimizers (optimizer.ts, SGD with momentum or Adam).
 *
 * The step is one function (curveStepFunction), jitted by jax-js or compiled to ONNX and run by
 * onnxruntime (the native trainer's route, native.ts). Networks with batch norm are refused:
 * their running statistics at φ(t) would have to be recomputed for every t (Garipov et al. do),
 * which this implementation does not do.
 */
import { jit, numpy as np, valueAndGrad } from '@jax-js/jax';
import { ArgSpec, compileToOnnx } from '../compile/compile.js';
import { LosscapeError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { count, type Dataset } from '../data/dataset.js';
import { lossSum } from '../engine/loss.js';
import { OrtFunction } from '../engine/ort/runner.js';
import { ensureJax } from '../model/jax.js';
import type { Model } from '../model/model.js';
import { dropoutMaskData, Minibatches } from './loop.js';
import { batchSizesOf, type TrainBackend, weightArgs, withJaxFallback } from './native.js';
import { applyUpdate, biasCorrections, type OptimizerSpec, stateSlots } from './optimizer.js';

type Arr = np.Array;

/** The Bézier weights [(1 − t)², 2t(1 − t), t²] of θ₁, θ_b, θ₂ at t. */
export function bezierWeights(t: number): [number, number, number] {
  return [(1 - t) * (1 - t), 2 * t * (1 - t), t * t];
}

/**
 * φ(t) in float32. At t = 0 and t = 1 it returns copies of θ₁ and θ₂ exactly (the other
 * weights are 0 and the sum is formed so that no rounding enters).
 */
export function bezierPoint(t: number, a: Float32Array, bend: Float32Array, b: Float32Array): Float32Array {
  if (t === 0) return Float32Array.from(a);
  if (t === 1) return Float32Array.from(b);
  const [w0, w1, w2] = bezierWeights(t);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = w0 * a[i]! + w1 * bend[i]! + w2 * b[i]!;
  return out;
}

/** Line θ₁ + t·(θ₂ − θ₁) in float32, with the end points exact. */
export function linePoint(t: number, a: Float32Array, b: Float32Array): Float32Array {
  if (t === 0) return Float32Array.from(a);
  if (t === 1) return Float32Array.from(b);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
  return out;
}

/** The line that says what is not supported, for models with batch norm. */
export const CURVE_BN_UNSUPPORTED =
  'networks with batch norm are not supported: the running statistics at each point of the curve would have to be recomputed (Garipov et al. 2018 do), and losscape curve does not do that yet; use a batch-norm-free MLP or CNN';

/** [bend', state', mean loss]: one curve step. `coef` holds bezierWeights(t) ([3]). */
export type CurveStepBody = (
  bend: Arr[],
  state: Arr[],
  a: Arr[],
  b: Arr[],
  x: Arr,
  target: Arr,
  dropout: Arr[],
  coef: Arr,
  lr: Arr,
  bias: Arr,
) => [Arr[], Arr[], Arr];

/**
 * The curve step: mean loss of the batch at φ(t) = c₀θ₁ + c₁θ_b + c₂θ₂ (train mode: dropout masks
 * as given), its gradient with respect to θ_b (= c₁·∇L(φ(t)) by the chain rule), then the
 * optimizer update of θ_b.
 */
export function curveStepFunction(model: Model, optimizer: OptimizerSpec, kind: 'mse' | 'cross_entropy', conv?: 'lax'): CurveStepBody {
  const learnable = model.layout.entries.map(() => true);
  const lossFn = (bend: Arr[], a: Arr[], b: Arr[], x: Arr, target: Arr, dropout: Arr[], coef: Arr): Arr => {
    const nb = x.shape[0]!;
    const c0 = coef.ref.slice(0);
    const c1 = coef.ref.slice(1);
    const c2 = coef.slice(2);
    const phi = bend.map((w, k) => a[k]!.mul(c0.ref).add(w.mul(c1.ref)).add(b[k]!.mul(c2.ref)));
    c0.dispose();
    c1.dispose();
    c2.dispose();
    const r = model.apply(phi, x, { train: true, dropoutMasks: dropout, conv });
    return lossSum(r.out, target, kind).mul(1 / nb);
  };
  return (bend, state, a, b, x, target, dropout, coef, lr, bias) => {
    const [loss, grads] = valueAndGrad(lossFn)(
      bend.map((p) => p.ref),
      a,
      b,
      x,
      target,
      dropout,
      coef,
    ) as unknown as [Arr, Arr[]];
    const [updated, newState] = applyUpdate(optimizer, bend, grads, state, learnable, lr, bias);
    return [updated, newState, loss];
  };
}

export interface CurveTrainOptions {
  model: Model;
  /** The training data (minibatches are drawn from it in a seeded order per epoch). */
  data: Dataset;
  /** θ₁ and θ₂, the two end points (never changed). */
  a: Float32Array;
  b: Float32Array;
  /** The bend to start from (default: the midpoint (θ₁ + θ₂)/2). */
  bend?: Float32Array;
  optimizer: OptimizerSpec;
  batchSize: number;
  seed: number;
  /** onnxruntime intra-op threads of the native step. */
  threads?: number;
}

/** One training step's record: the t drawn and the batch's mean loss at φ(t) before the update. */
export interface CurveStep {
  t: number;
  loss: number;
}

export interface CurveLoop {
  /** Step number `step` (0-based) with learning rate `lr`. */
  step(step: number, lr: number): Promise<CurveStep>;
  /** The current bend θ_b (flat, layout order). */
  bend(): Promise<Float32Array>;
  /** 'onnxruntime' or 'jax-js'. */
  readonly engine: string;
  dispose(): void;
}

/** The t of step `step`: uniform on [0, 1), from (seed, 'curve-t', step). */
export function curveT(seed: number, step: number): number {
  return new Rng(seed, 'curve-t', step).uniform();
}

/** The midpoint (θ₁ + θ₂)/2. */
export function midpoint(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = 0.5 * (a[i]! + b[i]!);
  return out;
}

function checkCurveModel(model: Model, o: CurveTrainOptions): void {
  if (model.batchNorms.length > 0) throw new LosscapeError('input', CURVE_BN_UNSUPPORTED);
  const n = model.layout.size;
  if (o.a.length !== n || o.b.length !== n || (o.bend && o.bend.length !== n)) {
    throw new LosscapeError('input', `the end points have ${o.a.length} and ${o.b.length} parameters, the model ${n}`);
  }
}

function tensors(model: Model, theta: Float32Array): Float32Array[] {
  return model.layout.entries.map((e) => theta.slice(e.offset, e.offset + e.size));
}

function batchesOf(o: CurveTrainOptions): Minibatches {
  return new Minibatches(o.data, o.model.inputShape, o.batchSize, o.seed, 'curve-shuffle');
}

function masksOf(o: CurveTrainOptions, step: number, nb: number): Float32Array[] {
  return dropoutMaskData(o.model, new Rng(o.seed, 'curve-dropout', step), nb);
}

const kindOf = (d: Dataset) => (d.task === 'regression' ? 'mse' : 'cross_entropy') as 'mse' | 'cross_entropy';

/** The curve step jitted by jax-js. */
class JaxCurveLoop implements CurveLoop {
  readonly engine = 'jax-js';
  private constructor(
    private readonly o: CurveTrainOptions,
    private readonly batches: Minibatches,
    private readonly fn: CurveStepBody & { dispose(): void },
    private params: Arr[],
    private state: Arr[],
    private readonly a: Arr[],
    private readonly b: Arr[],
  ) {}

  static async create(o: CurveTrainOptions): Promise<JaxCurveLoop> {
    await ensureJax();
    const { model } = o;
    const arr = (v: Float32Array, shape: number[]) => np.array(v).reshape(shape);
    const es = model.layout.entries;
    const slots = stateSlots(o.optimizer);
    const bend = o.bend ?? midpoint(o.a, o.b);
    return new JaxCurveLoop(
      o,
      batchesOf(o),
      jit(curveStepFunction(model, o.optimizer, kindOf(o.data))) as unknown as CurveStepBody & { dispose(): void },
      tensors(model, bend).map((v, k) => arr(v, es[k]!.shape)),
      es.flatMap((e) => Array.from({ length: slots }, () => arr(new Float32Array(e.size), e.shape))),
      tensors(model, o.a).map((v, k) => arr(v, es[k]!.shape)),
      tensors(model, o.b).map((v, k) => arr(v, es[k]!.shape)),
    );
  }

  async step(step: number, lr: number): Promise<CurveStep> {
    const t = curveT(this.o.seed, step);
    const { x, t: target, nb } = this.batches.at(step);
    const masks = masksOf(this.o, step, nb);
    const dropout = this.o.model.dropoutSites.map((s, k) => np.array(masks[k]!).reshape([nb, ...s.shape]));
    const [params, state, loss] = this.fn(
      this.params,
      this.state,
      this.a.map((p) => p.ref),
      this.b.map((p) => p.ref),
      x,
      target,
      dropout,
      np.array(Float32Array.from(bezierWeights(t))),
      np.array(Float32Array.from([lr])).reshape([]),
      np.array(Float32Array.from(biasCorrections(this.o.optimizer, step + 1))),
    );
    this.params = params;
    this.state = state;
    return { t, loss: (await loss.data())[0]! };
  }

  async bend(): Promise<Float32Array> {
    const layout = this.o.model.layout;
    const out = new Float32Array(layout.size);
    for (let k = 0; k < this.params.length; k++) out.set(await this.params[k]!.ref.data(), layout.entries[k]!.offset);
    return out;
  }

  dispose(): void {
    for (const p of [...this.params, ...this.state, ...this.a, ...this.b]) p.dispose();
    this.fn.dispose();
  }
}

/** The curve step compiled to ONNX and run by onnxruntime (one session per batch size). */
class NativeCurveLoop implements CurveLoop {
  readonly engine = 'onnxruntime';
  private current: Float32Array[];
  private next: Float32Array[];
  private readonly ends: Float32Array[];
  private readonly loss = new Float32Array(1);
  private readonly lr = new Float32Array(1);
  private readonly bias = new Float32Array(2);
  private readonly coef = new Float32Array(3);

  private constructor(
    private readonly o: CurveTrainOptions,
    private readonly batches: Minibatches,
    private readonly sessions: Map<number, OrtFunction>,
  ) {
    const { model } = o;
    const slots = stateSlots(o.optimizer);
    const bend = tensors(model, o.bend ?? midpoint(o.a, o.b));
    const state = model.layout.entries.flatMap((e) => Array.from({ length: slots }, () => new Float32Array(e.size)));
    this.current = [...bend, ...state];
    this.next = this.current.map((v) => new Float32Array(v.length));
    this.ends = [...tensors(model, o.a), ...tensors(model, o.b)];
  }

  static async create(o: CurveTrainOptions): Promise<NativeCurveLoop> {
    await ensureJax();
    const { model } = o;
    const sessions = new Map<number, OrtFunction>();
    try {
      for (const nb of batchSizesOf(count(o.data), o.batchSize)) {
        const fn = curveStepFunction(model, o.optimizer, kindOf(o.data), 'lax');
        const { params, state } = weightArgs(model, o.optimizer);
        const args = [
          params,
          state,
          params,
          params,
          new ArgSpec([nb, ...model.inputShape]),
          new ArgSpec([nb, model.outputDim]),
          model.dropoutSites.map((s) => new ArgSpec([nb, ...s.shape])),
          new ArgSpec([3]),
          new ArgSpec([]),
          new ArgSpec([2]),
        ];
        const graph = compileToOnnx(fn as (...a: unknown[]) => unknown, args, { graphName: `curve-step:${nb}`, weightGradGemm: true }).model;
        sessions.set(nb, await OrtFunction.create(graph, { threads: o.threads, spinning: false }));
      }
    } catch (e) {
      for (const s of sessions.values()) await s.dispose();
      throw e;
    }
    return new NativeCurveLoop(o, batchesOf(o), sessions);
  }

  async step(step: number, lr: number): Promise<CurveStep> {
    const t = curveT(this.o.seed, step);
    const { x, t: target, nb } = this.batches.fill(step);
    const masks = masksOf(this.o, step, nb);
    this.coef.set(bezierWeights(t));
    this.lr[0] = lr;
    this.bias.set(biasCorrections(this.o.optimizer, step + 1));
    const n = this.o.model.layout.entries.length;
    const slots = stateSlots(this.o.optimizer);
    const bend = this.current.slice(0, n);
    const state = this.current.slice(n, n + n * slots);
    await this.sessions.get(nb)!.runInto([...bend, ...state, ...this.ends, x, target, ...masks, this.coef, this.lr, this.bias], [...this.next, this.loss]);
    [this.current, this.next] = [this.next, this.current];
    return { t, loss: this.loss[0]! };
  }

  async bend(): Promise<Float32Array> {
    const layout = this.o.model.layout;
    const out = new Float32Array(layout.size);
    layout.entries.forEach((e, k) => out.set(this.current[k]!, e.offset));
    return out;
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.dispose();
    this.sessions.clear();
  }
}

/**
 * The curve's training loop: 'onnx' the compiled step, 'jax' the jax-js one, 'auto' the compiled
 * step, or jax-js with a one-line warning when onnxruntime cannot run it. Refuses batch norm.
 */
export async function createCurveLoop(o: CurveTrainOptions, backend: TrainBackend = 'auto', warn: (line: string) => void = () => {}): Promise<CurveLoop> {
  checkCurveModel(o.model, o);
  return withJaxFallback<CurveLoop>(
    backend,
    'the curve step',
    () => NativeCurveLoop.create(o),
    () => JaxCurveLoop.create(o),
    warn,
  );
}
