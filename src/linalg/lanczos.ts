/**
 * Extreme eigenvalues of a symmetric operator by Lanczos with full
 * reorthogonalization. Ritz pairs (θ_i, y_i = Q_m s_i) come from
 * T_m = S diag(θ) Sᵀ; their residual is exactly
 *
 *   ‖H y_i − θ_i y_i‖ = |β_m · s_{m,i}|        (Parlett, The Symmetric Eigenvalue Problem, §13.1)
 *
 * and a Ritz value is accepted when |β_m s_{m,i}| ≤ tol · max_j |θ_j|. Both
 * ends of the spectrum come out of the same Krylov space, so one run gives
 * λmax and λmin with their true signs, whatever the inertia of H.
 *
 * Limits: a single start vector sees each distinct eigenvalue once, so exact
 * multiplicities inside a top-k are found only when the Krylov space is
 * exhausted (breakdown → restart in a new block); Lanczos may misconverge when
 * the start vector is (nearly) orthogonal to an extreme eigenvector, which a
 * random start makes improbable and a warm start can make likelier.
 */

import { Rng } from '../core/rng.js';
import { LanczosProcess } from './lanczos-process.js';
import type { SymOperator } from './operator.js';
import { symTridiagonalEigen } from './tridiagonal-eigen.js';
import { combine, norm, scale } from './vector.js';

/** Which Ritz values must converge: λmax, λmin, both, the k largest (algebraic), or λmin and the k largest. */
export type LanczosTarget = 'both' | 'largest' | 'smallest' | 'top-k' | 'both-top-k';

/** The quantity the convergence test bounds (LanczosOptions.convergence). */
export type LanczosConvergence = 'residual' | 'eigenvalue';
export const LANCZOS_CONVERGENCE: readonly LanczosConvergence[] = ['residual', 'eigenvalue'];

/**
 * The defaults of `lanczos`, the one place they are written: the residual test (it bounds the
 * Ritz vectors as well as the values), full reorthogonalization, at most 200 steps, and per
 * convergence test its tolerance relative to max|θ|. The Hessian solver (extremes.ts) takes
 * the faster eigenvalue test and partial reorthogonalization, with the tolerances of this table.
 */
export const LANCZOS_DEFAULTS = {
  convergence: 'residual' as LanczosConvergence,
  tol: { eigenvalue: 1e-6, residual: 1e-5 } as Readonly<Record<LanczosConvergence, number>>,
  maxIter: 200,
  reorthogonalization: 'full' as 'full' | 'partial',
} as const;

/** The tolerance of a convergence test when none is given. */
export function defaultTol(convergence: LanczosConvergence): number {
  return LANCZOS_DEFAULTS.tol[convergence];
}

export interface LanczosOptions {
  /** Default 'both'. */
  which?: LanczosTarget;
  /**
   * Number of largest (algebraic) eigenvalues for 'top-k' and 'both-top-k' (default 1). With
   * another `which`, giving k still reports the top-k pairs, but only the
   * targets of `which` take part in the convergence test.
   */
  k?: number;
  /** Relative tolerance: the convergence measure (below) ≤ tol · max|θ| (default: defaultTol(convergence)). */
  tol?: number;
  /**
   * What must fall below tol · max|θ| (default 'residual'):
   * - 'residual': the residual |β_m s_{m,i}| = ‖H y_i − θ_i y_i‖ (also bounds |θ_i − λ| for some λ);
   * - 'eigenvalue': the eigenvalue error estimate min(r_i, r_i² / δ_i), with δ_i the distance
   *   from θ_i to the neighbouring Ritz value less that one's residual (see eigenvalueError).
   */
  convergence?: LanczosConvergence;
  /**
   * Also require every target's residual ‖Hy − θy‖ ≤ maxResidual · max|θ| (with the eigenvalue
   * test: accurate Ritz vectors, not only values). Default: no such bound.
   */
  maxResidual?: number;
  /** Maximum Lanczos steps = matvecs (default min(dim, LANCZOS_DEFAULTS.maxIter)). */
  maxIter?: number;
  /** Start vector (warm start); default a seeded Gaussian vector. */
  v0?: Float64Array;
  /** Seed for the start vector and restart vectors (default 0). */
  seed?: number;
  /** Relative β threshold for an invariant subspace (default 1e-10). */
  breakdownTol?: number;
  /** 'full' (default) or 'partial' (Simon's semi-orthogonality; see lanczos-process.ts). */
  reorthogonalization?: 'full' | 'partial';
  /** Relative accuracy of a matvec for partial reorthogonalization (default float64 rounding). */
  matvecEps?: number;
  /** Storage of the Lanczos vectors (default 'float64'; see lanczos-process.ts). */
  basisPrecision?: 'float64' | 'float32';
  /**
   * Called after each convergence test with the steps so far and the worst target's measure in
   * units of its tolerance (≤ 1: converged); for progress estimates.
   */
  onTest?(steps: number, worst: number): void;
}

export interface RitzPairs {
  /** Ritz values, descending. */
  values: Float64Array;
  /** Unit Ritz vectors y_i = Q_m s_i. */
  vectors: Float64Array[];
  /** Residual norms |β_m s_{m,i}| = ‖H y_i − θ_i y_i‖. */
  residuals: Float64Array;
}

export interface LanczosResult {
  lambdaMax: number;
  lambdaMin: number;
  /** Unit Ritz vector of lambdaMax (warm-start material for a neighbouring operator). */
  ritzMax: Float64Array;
  /** Unit Ritz vector of lambdaMin. */
  ritzMin: Float64Array;
  /**
   * Start vector for a neighbouring operator: (y_max + y_min + y_2 + y_3)/‖·‖, with y_2, y_3 the
   * Ritz vectors of the 2nd and 3rd smallest Ritz values (as far as T_m has them besides the
   * extremes), summed in one pass over the basis (see warmStartVector).
   */
  warm: Float64Array;
  residualMax: number;
  residualMin: number;
  /** The k largest Ritz pairs, when which = 'top-k' or k is given. */
  top?: RitzPairs;
  /** All eigenvalues of T_m, ascending. */
  ritzValues: Float64Array;
  matvecs: number;
  iterations: number;
  /** Steps with a reorthogonalization against the whole basis. */
  reorthogonalizations: number;
  /** Requested targets met the residual test, or the Krylov space filled ℝⁿ (exact). */
  converged: boolean;
}

export async function lanczos(op: SymOperator, options: LanczosOptions = {}): Promise<LanczosResult> {
  const n = op.dim;
  if (!Number.isInteger(n) || n < 1) throw new Error(`operator dim must be a positive integer, got ${n}`);
  const which = options.which ?? 'both';
  const k = Math.max(1, Math.floor(options.k ?? 1));
  const measure = options.convergence ?? LANCZOS_DEFAULTS.convergence;
  const tol = options.tol ?? defaultTol(measure);
  const maxIter = Math.max(1, Math.min(n, Math.floor(options.maxIter ?? LANCZOS_DEFAULTS.maxIter)));
  const rng = new Rng(options.seed ?? 0, 'lanczos');
  const v0 = options.v0 ?? rng.normalVector(n);
  const process = new LanczosProcess(op, v0, {
    restart: true,
    rng,
    breakdownTol: options.breakdownTol,
    reorthogonalization: options.reorthogonalization ?? LANCZOS_DEFAULTS.reorthogonalization,
    matvecEps: options.matvecEps,
    basisPrecision: options.basisPrecision,
  });

  let converged = false;
  let skip = false;
  while (process.size < maxIter) {
    await process.step();
    if (process.exhausted) {
      converged = true; // the basis spans ℝⁿ: T_m is similar to H
      break;
    }
    // a measure 100× above the tolerance is not met one step later (residuals and the error
    // estimates fall by a few per step): skip that step's test (its cost grows as m²)
    if (skip) {
      skip = false;
      continue;
    }
    const worst = currentBlockConvergence(process, which, k, tol, measure, options.maxResidual);
    options.onTest?.(process.size, worst);
    if (worst <= 1) {
      converged = true;
      break;
    }
    skip = worst > 100;
  }
  const wantTop = which === 'top-k' || which === 'both-top-k' || options.k !== undefined;
  const result = ritzResult(process, wantTop ? k : 0, converged, n);
  process.release();
  return result;
}

/**
 * Convergence of the current Krylov block: the largest target's measure (residual or
 * eigenvalue error estimate) in units of tol·max|θ| (≤ 1: converged). Earlier blocks (ended by
 * breakdown) are exact invariant subspaces; the current block must converge
 * its own targets, or an extreme eigenvalue outside the old blocks could be
 * missed.
 */
function currentBlockConvergence(p: LanczosProcess, which: LanczosTarget, k: number, tol: number, measure: LanczosConvergence, maxResidual?: number): number {
  const m = p.size;
  const s = m - p.blockStart; // 0 right after a restart
  const targets = targetIndices(which, k, s);
  if (targets === null) return Infinity;
  const block = symTridiagonalEigen(p.alpha.slice(p.blockStart), p.beta.slice(p.blockStart, m - 1), [s - 1]);
  const spectrum = p.blockStart === 0 ? block.values : symTridiagonalEigen(p.alpha, p.beta.slice(0, m - 1), []).values;
  const thetaScale = Math.max(Math.abs(spectrum[0]), Math.abs(spectrum[spectrum.length - 1]));
  const betaM = p.beta[m - 1];
  const residual = (i: number) => Math.abs(betaM * block.rows[0][i]);
  let worst = 0;
  for (const i of targets) {
    const error = measure === 'residual' ? residual(i) : eigenvalueError(block.values, residual, i);
    worst = Math.max(worst, error / (tol * thetaScale));
    if (maxResidual !== undefined) worst = Math.max(worst, residual(i) / (maxResidual * thetaScale));
  }
  return worst;
}

/**
 * Error estimate of the Ritz value θ_i as an eigenvalue. With residual r_i, some eigenvalue lies
 * within r_i of θ_i; if the rest of the spectrum is at least δ away, that eigenvalue is within
 * r_i²/δ (Kato–Temple; Parlett, The Symmetric Eigenvalue Problem, §11.7). δ is estimated from
 * the neighbouring Ritz values: |θ_j − θ_i| − r_j for the neighbours j (each θ_j has an eigenvalue
 * within r_j); without a neighbour or with δ ≤ 0 the estimate is r_i itself. Near convergence it
 * runs above the true error (10–30× on the zoo CNN), and it never exceeds r_i. An extreme
 * eigenvalue the Krylov space has not yet seen at all is missed by any Lanczos test, the residual
 * one included; stopping earlier makes that likelier (point.ts: the default tolerances).
 */
export function eigenvalueError(values: ArrayLike<number>, residual: (i: number) => number, i: number): number {
  const r = residual(i);
  let gap = Infinity;
  for (const j of [i - 1, i + 1]) if (j >= 0 && j < values.length) gap = Math.min(gap, Math.abs(values[j]! - values[i]!) - residual(j));
  return gap > 0 && gap < Infinity ? Math.min(r, (r * r) / gap) : r;
}

/** Indices (into ascending Ritz values of a block of size s) that must converge; null if the block is too small. */
function targetIndices(which: LanczosTarget, k: number, s: number): number[] | null {
  switch (which) {
    case 'largest':
      return s >= 1 ? [s - 1] : null;
    case 'smallest':
      return s >= 1 ? [0] : null;
    case 'both':
      return s >= 2 ? [0, s - 1] : null;
    case 'top-k':
      return s >= k ? Array.from({ length: k }, (_, i) => s - 1 - i) : null;
    case 'both-top-k':
      return s >= k + 1 ? [0, ...Array.from({ length: k }, (_, i) => s - 1 - i)] : null;
  }
}

function ritzResult(p: LanczosProcess, k: number, converged: boolean, n: number): LanczosResult {
  const m = p.size;
  const { values, rows } = symTridiagonalEigen(p.alpha, p.beta.slice(0, m - 1));
  const betaM = p.beta[m - 1];
  const column = (i: number) => Float64Array.from(rows, (row) => row[i]);
  const ritzVector = (i: number) => {
    const y = combine(p.basis, column(i), n);
    scale(1 / norm(y), y);
    return y;
  };
  const residual = (i: number) => Math.abs(betaM * rows[m - 1][i]);

  // the warm-start direction Q·(s_max + s_min + s_2 + s_3): one sweep over the basis
  const picks = [m - 1, 0, ...Array.from({ length: Math.max(0, Math.min(WARM_LOW, m - 2)) }, (_, i) => 1 + i)];
  const warmCoef = Float64Array.from(rows, (row) => picks.reduce((a, i) => a + row[i], 0));
  const warm = combine(p.basis, warmCoef, n);
  const warmNorm = norm(warm);
  if (warmNorm > 1e-8) scale(1 / warmNorm, warm);
  const result: LanczosResult = {
    lambdaMax: values[m - 1],
    lambdaMin: values[0],
    ritzMax: ritzVector(m - 1),
    ritzMin: ritzVector(0),
    warm: warmNorm > 1e-8 ? warm : Float64Array.from(ritzVector(m - 1)),
    residualMax: residual(m - 1),
    residualMin: residual(0),
    ritzValues: values,
    matvecs: p.matvecs,
    iterations: m,
    reorthogonalizations: p.reorthogonalizations,
    converged,
  };
  if (k > 0) {
    const idx = Array.from({ length: Math.min(k, m) }, (_, i) => m - 1 - i);
    result.top = {
      values: Float64Array.from(idx, (i) => values[i]),
      vectors: idx.map(ritzVector),
      residuals: Float64Array.from(idx, residual),
    };
  }
  return result;
}

/** Ritz vectors besides λmin's that the warm-start direction includes from the bottom of the spectrum. */
export const WARM_LOW = 2;

/**
 * Start vector for a neighbouring operator (next grid point): the previous result's `warm`,
 * (y_max + y_min + y_2 + y_3)/‖·‖, carrying both ends of the previous spectrum; given only
 * the extreme Ritz vectors, (y_max + y_min)/‖·‖. The next lowest Ritz vectors are there
 * because the lowest eigenvalues of neighbouring operators may swap: a start vector with only
 * the previous λmin's vector converges to that one (now the second) long before the new lowest
 * one, which it barely contains, emerges. On the fixture's 9×9 grid (both parameter choices,
 * 162 points, against cold tight solves): with λmin's vector alone 2 points off by up to
 * 2e-4·λmax; with the 2nd as well, still 2; with the 2nd and 3rd, none (worst 7.5e-8).
 * A caller can add a little random noise to keep every eigenvector represented in v0.
 */
export function warmStartVector(previous: Pick<LanczosResult, 'ritzMax' | 'ritzMin'> & { warm?: Float64Array }): Float64Array {
  if (previous.warm) return Float64Array.from(previous.warm);
  const v = Float64Array.from(previous.ritzMax);
  for (let i = 0; i < v.length; i++) v[i] += previous.ritzMin[i];
  const nrm = norm(v);
  if (!(nrm > 1e-8)) return Float64Array.from(previous.ritzMax); // dim 1: the two coincide up to sign
  scale(1 / nrm, v);
  return v;
}
