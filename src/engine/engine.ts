/**
 * The one small interface every engine implements: loss (and accuracy) over a
 * fixed data subset, its gradient, Hessian-vector products, and the loss at many
 * points of a plane at once. θ is always a flat vector in the model's layout.
 */

import type { ParamLayout, Vec } from '../core/layout.js';
import type { HessianTask, HessianTaskName, HessianTaskResult } from '../linalg/tasks.js';
import type { ConvImpl } from '../model/layers.js';

export interface Metrics {
  /** Mean loss over the subset. */
  loss: number;
  /** Accuracy in percent (classification), NaN for regression. */
  acc: number;
}

export interface PlaneValues {
  loss: Float64Array;
  acc: Float64Array;
}

export type LossKind = 'cross_entropy' | 'mse';
export type EvalMode = 'eval' | 'train';

/** What every backend evaluates: the mode, the loss, the precision and the batching of the data. */
export interface EngineOptions {
  /** eval (default): running BN statistics, no dropout; train: batch statistics and fixed dropout masks. */
  mode?: EvalMode;
  /** Seed of the fixed dropout masks used in train mode. */
  dropoutSeed?: number;
  /** Samples per evaluation batch (train-mode batch statistics are per batch). Default: all, at most 1000. */
  batchSize?: number;
  dtype?: 'float32' | 'float64';
  loss?: LossKind;
  /** How the jax-js engine lowers convolutions (default im2col; the ONNX engine always compiles lax convs). */
  conv?: ConvImpl;
}

export interface LossEngine {
  readonly layout: ParamLayout;
  /** Number of samples the loss averages over. */
  readonly samples: number;
  readonly dtype: 'float32' | 'float64';
  /** Short description for manifests and logs, e.g. "jax-js wasm float32". */
  readonly description: string;
  evaluate(theta: Vec): Promise<Metrics>;
  /** ∇L(θ) of the mean loss. */
  gradient(theta: Vec): Promise<{ loss: number; grad: Float64Array }>;
  /** H(θ)·v of the mean loss, exact (forward-over-reverse). */
  hvp(theta: Vec, v: Vec): Promise<Float64Array>;
  /**
   * L and accuracy at θ + α·d1 + β·d2 for every point (α, β) of `points`
   * ([α0, β0, α1, β1, …]); weights formed as θ + (α·d1 + β·d2) in float32, the
   * reference code's order.
   */
  evaluatePlane(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<PlaneValues>;
  /**
   * How many `evaluatePlane` calls may usefully run at once (worker threads); absent or 1:
   * call it one at a time.
   */
  readonly concurrency?: number;
  /**
   * Optional: a Hessian task (linalg/tasks.ts, e.g. λmax/λmin by Lanczos) at θ, run where this
   * engine's HVPs run (a worker thread), so that the task's vectors never cross threads. Same
   * numbers as the task on the operator over this engine's `hvp`.
   */
  hessianTask?<K extends HessianTaskName>(theta: Vec, task: HessianTask<K>): Promise<HessianTaskResult<K>>;
  /**
   * Optional: coordinates of θ whose Hessian rows are identically zero for this engine's data
   * (ascending). Hessian solvers leave them out and count them as exact zero eigenvalues.
   */
  hessianNullCoordinates?(): Int32Array;
  dispose(): void | Promise<void>;
}
