/**
 * The paper's reference code's eigenvalue method (tomgoldstein/loss-landscape,
 * `hess_vec_prod` + scipy eigsh), reimplemented for comparison only:
 *
 *   λ"max" = eigenvalue of largest magnitude of H (eigsh which='LM'),
 *   σ      = 0.51 · λ"max",
 *   λ"min" = (eigenvalue of largest magnitude of H − σI) + σ.
 *
 * With spectrum [λmin, λmax], H − σI has extremes λmin − σ and 0.49·λmax, so
 * λ"min" is the true λmin only if |λmin − σ| > 0.49·λmax, i.e. λmin < 0.02·λmax.
 * For a positive-definite H with λmin > 0.02·λmax it returns λmax again.
 *
 * Each largest-magnitude eigenvalue comes from our Lanczos (both ends, tight
 * tolerance) instead of ARPACK at tol = 1e-2, so differences to the true
 * λmin are the method's, not the solver's.
 */

import { lanczos } from './lanczos.js';
import { type SymOperator, shiftOperator } from './operator.js';

export interface ReferenceMethodOptions {
  /** Lanczos residual tolerance for each solve (default 1e-10). */
  tol?: number;
  maxIter?: number;
  seed?: number;
}

export interface ReferenceMethodResult {
  /** Largest-magnitude eigenvalue of H (what the reference calls max_eig). */
  lambdaMax: number;
  /** Shifted solve's answer (what the reference calls min_eig). */
  lambdaMin: number;
  /** σ = 0.51 · lambdaMax. */
  shift: number;
  matvecs: number;
}

export const REFERENCE_SHIFT_FACTOR = 0.51;

export async function referenceMethodEigenvalues(op: SymOperator, options: ReferenceMethodOptions = {}): Promise<ReferenceMethodResult> {
  const solve = { which: 'both' as const, tol: options.tol ?? 1e-10, maxIter: options.maxIter, seed: options.seed };
  const first = await lanczos(op, solve);
  const lambdaMax = largestMagnitude(first.lambdaMin, first.lambdaMax);
  const shift = REFERENCE_SHIFT_FACTOR * lambdaMax;
  const second = await lanczos(shiftOperator(op, shift), solve);
  const lambdaMin = largestMagnitude(second.lambdaMin, second.lambdaMax) + shift;
  return { lambdaMax, lambdaMin, shift, matvecs: first.matvecs + second.matvecs };
}

/** The end of [lo, hi] with the larger magnitude (eigsh 'LM' of a spectrum spanning [lo, hi]). */
function largestMagnitude(lo: number, hi: number): number {
  return Math.abs(lo) > Math.abs(hi) ? lo : hi;
}
