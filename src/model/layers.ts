/**
 * Differentiable building blocks in jax-js.
 *
 * Ownership: every function consumes its Array arguments exactly once (jax-js
 * reference counting); callers pass `.ref` to keep an array alive.
 * Layouts follow PyTorch: dense weights [out, in], conv weights [O, C, kh, kw],
 * activations NCHW, so directions are filter-normalized along the output axis
 * exactly as in the reference code.
 */
import { lax, nn, numpy as np } from '@jax-js/jax';
import { convIm2col } from './conv.js';

type Arr = np.Array;

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'leaky_relu' | 'softplus' | 'gelu' | 'elu' | 'identity';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'leaky_relu', 'softplus', 'gelu', 'elu', 'identity'];

/** How convolutions are lowered: im2col (conv.ts; the faster one on jax-js wasm) or lax (maps to ONNX Conv). */
export type ConvImpl = 'im2col' | 'lax';

export function activate(x: Arr, a: Activation): Arr {
  switch (a) {
    case 'relu':
      return nn.relu(x);
    case 'tanh':
      return np.tanh(x);
    case 'sigmoid':
      return nn.sigmoid(x);
    case 'leaky_relu':
      return nn.leakyRelu(x, 0.01);
    case 'softplus':
      return nn.softplus(x);
    case 'gelu':
      return nn.gelu(x, { approximate: true });
    case 'elu':
      return nn.elu(x);
    case 'identity':
      return x;
  }
}

/** y = x Wᵀ + b for x [N, in], W [out, in], b [out]. */
export function dense(x: Arr, w: Arr, b: Arr | null): Arr {
  const y = np.dot(x, w.transpose());
  return b ? y.add(b) : y;
}

/**
 * 2-D convolution, stride 1, symmetric zero padding `pad`, x [N, C, H, W],
 * w [O, C, kh, kw], b [O].
 */
export function conv2d(x: Arr, w: Arr, b: Arr | null, pad: number, impl: ConvImpl): Arr {
  const y = impl === 'lax' ? convLax(x, w, pad) : convIm2col(x, w, { padBegin: [pad, pad], padEnd: [pad, pad] });
  if (!b) return y;
  return y.add(b.reshape([1, -1, 1, 1]));
}

function convLax(x: Arr, w: Arr, pad: number): Arr {
  return lax.convGeneralDilated(
    x,
    w,
    [1, 1],
    [
      [pad, pad],
      [pad, pad],
    ],
  );
}

/** Non-overlapping k×k pooling (max or mean), x [N, C, H, W]; H, W cropped to multiples of k. */
export function pool2d(x: Arr, k: number, kind: 'max' | 'avg'): Arr {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const ho = Math.floor(h / k);
  const wo = Math.floor(w / k);
  const xc = ho * k !== h || wo * k !== w ? x.slice([], [], [0, ho * k], [0, wo * k]) : x;
  const r = xc.reshape([n, c, ho, k, wo, k]);
  return kind === 'max' ? r.max([3, 5]) : r.mean([3, 5]);
}

/** Keep every `s`-th pixel (the output of a stride-s convolution from a stride-1 one). */
export function subsample2d(x: Arr, s: number): Arr {
  if (s === 1) return x;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const ho = Math.ceil(h / s);
  const wo = Math.ceil(w / s);
  const xp =
    ho * s !== h || wo * s !== w
      ? np.pad(x, [
          [0, 0],
          [0, 0],
          [0, ho * s - h],
          [0, wo * s - w],
        ])
      : x;
  return xp.reshape([n, c, ho, s, wo, s]).slice([], [], [], 0, [], 0);
}

export function globalAvgPool(x: Arr): Arr {
  return x.mean([2, 3]);
}

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export interface BatchNormOut {
  y: Arr;
  /** Batch mean and unbiased variance (train mode only), per channel: what the running statistics average. */
  batchMean?: Arr;
  batchVar?: Arr;
}

/**
 * The unbiased (Bessel-corrected) variance from the biased one over `count` values per channel:
 * N for a dense layer, N·H·W for a convolution (PyTorch's running-variance update).
 */
export function unbiasedVariance(variance: Arr, count: number): Arr {
  return variance.mul(count / Math.max(1, count - 1));
}

/**
 * Batch normalization over all axes but 1 (channels), PyTorch semantics (ε = 1e-5):
 * eval mode uses running statistics; train mode normalizes by the batch mean and
 * biased batch variance, and reports the mean and the unbiased variance for the running
 * statistics (momentum 0.1: r ← 0.9·r + 0.1·batch).
 */
export function batchNorm(x: Arr, gamma: Arr, beta: Arr, runMean: Arr, runVar: Arr, train: boolean): BatchNormOut {
  const axes = x.ndim === 4 ? [0, 2, 3] : [0];
  const bshape = x.ndim === 4 ? [1, -1, 1, 1] : [1, -1];
  if (!train) {
    const scale = gamma.mul(np.reciprocal(np.sqrt(runVar.add(BN_EPS))));
    const shift = beta.sub(runMean.mul(scale.ref));
    return { y: x.mul(scale.reshape(bshape)).add(shift.reshape(bshape)) };
  }
  runMean.dispose();
  runVar.dispose();
  const count = x.size / x.shape[1]!;
  const mean = x.ref.mean(axes);
  const centered = x.sub(mean.ref.reshape(bshape));
  const variance = np.square(centered.ref).mean(axes);
  const inv = np.reciprocal(np.sqrt(variance.ref.add(BN_EPS)));
  const y = centered.mul(gamma.mul(inv).reshape(bshape)).add(beta.reshape(bshape));
  return { y, batchMean: mean, batchVar: unbiasedVariance(variance, count) };
}

/** Inverted dropout with a given 0/1 mask (same shape as x). */
export function dropout(x: Arr, mask: Arr, p: number): Arr {
  return x.mul(mask).mul(1 / (1 - p));
}
