/**
 * Losses in jax-js, written as sums over a batch so batches can be combined
 * exactly: cross-entropy Σ_n [logsumexp(z_n) − z_n·onehot(y_n)] and squared
 * error Σ_n ½‖z_n − t_n‖² (½ so that a linear model's Hessian is XᵀX/N).
 */
import { nn, numpy as np } from '@jax-js/jax';
import type { LossKind } from './engine.js';

type Arr = np.Array;

/**
 * Per-sample losses [N]. `target` is one-hot [N, C] (cross-entropy) or [N, D].
 * Each sample's logsumexp − z_y is formed before any sum: summing the two
 * terms separately cancels catastrophically in float32.
 */
export function sampleLosses(out: Arr, target: Arr, kind: LossKind): Arr {
  if (kind === 'mse') {
    return np.square(out.sub(target)).sum(1).mul(0.5);
  }
  const lse = nn.logsumexp(out.ref, 1);
  return lse.sub(out.mul(target).sum(1));
}

/** Sum of per-sample losses (what gradients and HVPs differentiate). */
export function lossSum(out: Arr, target: Arr, kind: LossKind): Arr {
  return sampleLosses(out, target, kind).sum();
}

/**
 * Number of samples whose target logit is the maximum (ties count as correct;
 * they need exactly equal float logits).
 */
export function correctCount(out: Arr, onehot: Arr): Arr {
  const top = out.ref.max(1);
  const mine = out.mul(onehot).sum(1);
  return np.where(mine.greaterEqual(top), 1, 0).astype(out.dtype).sum();
}
