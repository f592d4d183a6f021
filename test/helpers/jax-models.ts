/**
 * Reference jax-js models used by the ONNX engine's tests and bench (the paper's MLP and small
 * CNN), plus the "plane" construction: losses at K grid points of
 * w + alpha_k d1 + beta_k d2, batched with `vmap` so that the ONNX graph runs all K in one call.
 *
 * Parameters are flat lists of arrays (pytrees flatten the same way). Every function follows
 * jax-js move semantics: it consumes its arguments.
 */

import { type Array, lax, nn, numpy as np, vmap } from '@jax-js/jax';
import { convIm2col } from '../../src/model/conv.js';

/** Softmax cross-entropy against one-hot (or soft) float labels, averaged over the batch. */
export function crossEntropy(logits: Array, y: Array): Array {
  return np.negative(np.mean(np.sum(np.multiply(nn.logSoftmax(logits, -1), y), -1)));
}

/** MLP d-h-c with ReLU: params [W1 [d,h], b1 [h], W2 [h,c], b2 [c]]. */
export function mlpLogits(params: Array[], x: Array): Array {
  const [W1, b1, W2, b2] = params;
  const h = nn.relu(np.add(np.matmul(x, W1), b1));
  return np.add(np.matmul(h, W2), b2);
}

export function mlpLoss(params: Array[], x: Array, y: Array): Array {
  return crossEntropy(mlpLogits(params, x), y);
}

/** Shapes of the MLP's params. */
export function mlpShapes(d = 784, h = 64, c = 10): number[][] {
  return [[d, h], [h], [h, c], [c]];
}

/** 2x2 max pool over NCHW via reshape [N,C,H/2,2,W/2,2] and max over the window axes. */
export function maxPool2(x: Array): Array {
  const [n, c, h, w] = x.shape;
  return np.max(x.reshape([n, c, h / 2, 2, w / 2, 2]), [3, 5]);
}

export type ConvKind = 'lax' | 'im2col';

/**
 * CNN conv5(1→8) relu pool2 conv5(8→16) relu pool2 dense(256→10) on [N,1,28,28]:
 * params [K1 [8,1,5,5], c1 [8], K2 [16,8,5,5], c2 [16], W [256,10], b [10]].
 */
export function cnnLogits(params: Array[], x: Array, conv: ConvKind = 'lax'): Array {
  const [K1, c1, K2, c2, W, b] = params;
  const cv = (a: Array, k: Array) => (conv === 'lax' ? lax.convGeneralDilated(a, k, [1, 1], 'VALID') : convIm2col(a, k));
  let h = cv(x, K1);
  h = maxPool2(nn.relu(np.add(h, c1.reshape([1, -1, 1, 1]))));
  h = cv(h, K2);
  h = maxPool2(nn.relu(np.add(h, c2.reshape([1, -1, 1, 1]))));
  h = h.reshape([h.shape[0], -1]);
  return np.add(np.matmul(h, W), b);
}

export function cnnLoss(params: Array[], x: Array, y: Array, conv: ConvKind = 'lax'): Array {
  return crossEntropy(cnnLogits(params, x, conv), y);
}

export function cnnShapes(): number[][] {
  return [[8, 1, 5, 5], [8], [16, 8, 5, 5], [16], [256, 10], [10]];
}

/** Number of rows whose argmax of logits equals the argmax of the one-hot labels (float). */
export function correctCount(logits: Array, y: Array): Array {
  // argmax via max + compare: first index attaining the max.
  return np.sum(np.equal(np.argmax(logits, -1), np.argmax(y, -1)).astype(np.float32));
}

/**
 * A function over a plane of K grid points: `overPlane(f)(params, d1, d2, alphas [K], betas [K],
 * ...data)` evaluates `f(w_k, ...data)` for w_k = params + (alphas[k] d1 + betas[k] d2) (the
 * reference code's order of operations) with `vmap`, so every output gains a leading K axis.
 * `f` must consume its params and data once; it may return one array or a list.
 */
export function overPlane<R extends Array | Array[]>(
  f: (params: Array[], ...data: Array[]) => R,
): (params: Array[], d1: Array[], d2: Array[], alphas: Array, betas: Array, ...data: Array[]) => R {
  return (params, d1, d2, alphas, betas, ...data) =>
    vmap((a: Array, b: Array) => {
      const w = params.map((p, i) => np.add(p, np.add(np.multiply(a.ref, d1[i]), np.multiply(b.ref, d2[i]))));
      a.dispose();
      b.dispose();
      return f(w, ...data);
    })(alphas, betas) as R;
}

/** Losses at K grid points (see `overPlane`). */
export const planeLosses = (loss: (params: Array[], ...data: Array[]) => Array) => overPlane(loss);
