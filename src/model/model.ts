/**
 * A model = a parameter layout + a pure jax-js forward function over the
 * per-tensor parameter arrays. Engines differentiate and compile it; the
 * layout lets the core math treat θ as one flat vector.
 */
import type { numpy as np } from '@jax-js/jax';
import type { ParamLayout } from '../core/layout.js';
import type { ConvImpl } from './layers.js';

export interface ApplyOptions {
  /** Train mode: batch statistics in batch norm, dropout active. Default eval. */
  train?: boolean;
  /** One 0/1 mask per dropout site, shape [N, ...site.shape] (train mode only). */
  dropoutMasks?: np.Array[];
  conv?: ConvImpl;
}

export interface ApplyResult {
  /** Network output [N, outputDim] (logits for classification). */
  out: np.Array;
  /**
   * Train mode only: batch mean and unbiased batch variance (over the N·H·W values of a
   * channel) of every batch-norm layer, in the order of `Model.batchNorms`.
   */
  batchStats: np.Array[];
}

export interface DropoutSite {
  p: number;
  /** Per-sample shape of the activation the mask multiplies. */
  shape: number[];
}

export interface BatchNormSite {
  /** Indices into layout.entries of the running mean and running variance. */
  mean: number;
  var: number;
}

export interface Model {
  /** A short description, e.g. "mlp 784-64-10 relu". */
  name: string;
  layout: ParamLayout;
  inputShape: number[];
  outputDim: number;
  dropoutSites: DropoutSite[];
  batchNorms: BatchNormSite[];
  /**
   * The weight that multiplies the flattened input first thing in the network (x·Wᵀ of a first
   * dense layer): its layout entry and the axis of its shape that indexes input features. An
   * input feature that is zero in every sample leaves that weight's coordinates with exactly
   * zero gradient and Hessian rows; engines drop them (engine/input-reduction.ts).
   */
  inputWeight?: { entry: number; axis: number };
  /** The same network for flat inputs of `features` features (models with inputWeight). */
  withInputFeatures?(features: number): Model;
  /** Fresh parameters (PyTorch's default initialization), deterministic in the seed. */
  init(seed: number): Float32Array;
  /**
   * Forward pass. Consumes `params` (one array per layout entry, in order) and `x`
   * ([N, ...inputShape]).
   */
  apply(params: np.Array[], x: np.Array, opts?: ApplyOptions): ApplyResult;
}
