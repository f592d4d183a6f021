/**
 * λmax and λmin (optionally the top-k) of a Hessian operator restricted to a parameter
 * selection (hessian-operator.ts), with their true signs, from one Lanczos run, then checked:
 * no eigenvalue may lie beyond them (certify.ts); one found beyond is solved for from there.
 *
 * The solver's choices, made here and nowhere else: the eigenvalue error estimate as the
 * convergence test (a map shows values, and a Ritz value converges about twice as fast as its
 * vector), partial reorthogonalization, a float32 basis for float32 HVPs (float32 HVPs round
 * their input anyway), and the tolerances and step limit of LANCZOS_DEFAULTS.
 * The measurements behind them are in docs/hessian.md.
 */
import { certifyExtremes } from './certify.js';
import type { HessianOperator, ParamSelection } from './hessian-operator.js';
import { defaultTol, LANCZOS_DEFAULTS, type LanczosConvergence, type LanczosOptions, type LanczosResult, lanczos } from './lanczos.js';
import { norm, scale } from './vector.js';

/** The convergence test of the Hessian solver when none is given. */
export const DEFAULT_CONVERGENCE: LanczosConvergence = 'eigenvalue';
/** Relative accuracy assumed for float32 HVPs (a few float32 roundings, 2^-24 ≈ 6e-8). */
export const FLOAT32_HVP_EPS = 1e-7;

export interface ExtremesOptions {
  params?: ParamSelection;
  /** What tol bounds for λmax and λmin: the eigenvalue error estimate (default) or the residual ‖Hy − θy‖. */
  convergence?: LanczosConvergence;
  /** Tolerance relative to max|θ| (default defaultTol(convergence): 1e-6 or 1e-5). */
  tol?: number;
  /** Maximum Lanczos steps = HVPs (default LANCZOS_DEFAULTS.maxIter). */
  maxIter?: number;
  /** Seed of the random start vector (default 0). */
  seed?: number;
  /** Start vector (a warm start), in the reduced coordinates of the selection. */
  v0?: Float64Array;
  /** Also converge the `top` largest eigenvalues (default 0: only λmax and λmin). */
  top?: number;
  /** Lanczos reorthogonalization (default 'partial'). */
  reorthogonalization?: 'full' | 'partial';
  /** Relative accuracy of an HVP for partial reorthogonalization (default: by the HVPs' dtype). */
  matvecEps?: number;
  /** Storage of the Lanczos vectors (default: the HVPs' precision; see lanczos-process.ts). */
  basisPrecision?: 'float64' | 'float32';
  /**
   * Check after convergence that no eigenvalue lies beyond λmin / λmax by more than
   * `certifyTol`·max|λ| (certify.ts); an eigenvalue found beyond them is solved for. Default true.
   */
  certify?: boolean;
  /** Tolerance of the check, relative to max(|λmin|, |λmax|) (default: CERTIFY_TOL). */
  certifyTol?: number;
  /** Steps of one check at most (default 60). */
  certifyMaxIter?: number;
  /** Progress of the Lanczos solves (LanczosOptions.onTest). Not passed to worker threads. */
  onLanczosTest?(steps: number, worst: number): void;
}

/** Default tolerance of the check that no eigenvalue lies beyond the reported extremes. */
export const CERTIFY_TOL = 1e-5;
/** Solves restarted from an eigenvalue the check found beyond the reported extremes, at most. */
const MAX_RECOVERIES = 2;

export interface Extremes {
  lambdaMax: number;
  lambdaMin: number;
  /** |λmin / λmax|. */
  ratio: number;
  /** The `top` largest eigenvalues, descending, when asked for. */
  top?: Float64Array;
  topResiduals?: Float64Array;
  residualMax: number;
  residualMin: number;
  /**
   * The targets met the convergence test and, when checked, no eigenvalue lies beyond them
   * (`certified`); else the values are the last Ritz values after maxIter steps.
   */
  converged: boolean;
  /** The check found no eigenvalue beyond λmin / λmax (false when not checked or undecided). */
  certified: boolean;
  /** HVPs spent on the check and on solves restarted from what it found (included in `hvps`). */
  certifyHvps: number;
  /** HVPs used (= Lanczos steps). */
  hvps: number;
  /** Milliseconds inside the HVPs, and in total. */
  hvpMs: number;
  ms: number;
  /** Dimension of the Hessian block analysed (the selected coordinates). */
  dim: number;
  /** The Lanczos result (Ritz vectors for warm starts). */
  lanczos: LanczosResult;
}

/** One Lanczos run for both ends of the spectrum of a Hessian operator whose HVPs are in `dtype`. */
export async function extremeEigenvalues(op: HessianOperator, dtype: 'float32' | 'float64', opts: ExtremesOptions = {}): Promise<Extremes> {
  const t0 = performance.now();
  const top = Math.max(0, Math.floor(opts.top ?? 0));
  const convergence = opts.convergence ?? DEFAULT_CONVERGENCE;
  const solve: LanczosOptions = {
    which: top > 0 ? 'both-top-k' : 'both',
    k: top > 0 ? top : undefined,
    tol: opts.tol ?? defaultTol(convergence),
    convergence,
    maxIter: opts.maxIter ?? LANCZOS_DEFAULTS.maxIter,
    seed: opts.seed ?? 0,
    v0: opts.v0,
    reorthogonalization: opts.reorthogonalization ?? 'partial',
    matvecEps: opts.matvecEps ?? (dtype === 'float32' ? FLOAT32_HVP_EPS : undefined),
    basisPrecision: opts.basisPrecision ?? dtype,
    onTest: opts.onLanczosTest,
  };
  const certify = opts.certify ?? true;
  const certifyTol = opts.certifyTol ?? CERTIFY_TOL;
  // The check deflates the reported Ritz vectors, so they must be accurate: a Ritz vector mixing
  // two close eigenvectors would hide the lower one. With residuals ≤ τ·max|λ| the reported
  // extremes are within 2τ of the true ones unless the check finds an eigenvalue beyond them.
  if (certify) solve.maxResidual = certifyTol;
  let r = await lanczos(op, solve);
  const solveHvps = op.hvps;
  // A basis that spans the whole space has the operator's spectrum: nothing can lie beyond it.
  let certified = r.converged && r.iterations >= op.dim;
  if (certify && r.converged && !certified) {
    for (let round = 0; r.converged && round <= MAX_RECOVERIES; round++) {
      const check = await certifyExtremes(op, r, [r.ritzMin, r.ritzMax], {
        tol: certifyTol,
        maxIter: opts.certifyMaxIter,
        seed: (opts.seed ?? 0) + round,
        hint: r.warm,
      });
      certified = check.outcome === 'certified';
      if (check.outcome !== 'refuted' || round === MAX_RECOVERIES) break;
      // solve again from the eigenvector the check found, with the previous solve's extremes
      const v0 = Float64Array.from(check.vector);
      for (let i = 0; i < v0.length; i++) v0[i]! += r.warm[i]!;
      scale(1 / norm(v0), v0);
      r = await lanczos(op, { ...solve, v0 });
    }
  }
  const certifyHvps = op.hvps - solveHvps;
  // Coordinates left out for having identically zero Hessian rows are exact zero eigenvalues
  // of H: the spectrum is the operator's plus that many zeros.
  const zeros = op.selection.nullDropped;
  const lambdaMax = zeros > 0 && r.lambdaMax < 0 ? 0 : r.lambdaMax;
  const lambdaMin = zeros > 0 && r.lambdaMin > 0 ? 0 : r.lambdaMin;
  const topPairs = r.top && zeros > 0 ? withZeros(r.top.values, r.top.residuals, zeros) : r.top;
  return {
    lambdaMax,
    lambdaMin,
    ratio: Math.abs(lambdaMin / lambdaMax),
    top: topPairs?.values,
    topResiduals: topPairs?.residuals,
    residualMax: lambdaMax === r.lambdaMax ? r.residualMax : 0,
    residualMin: lambdaMin === r.lambdaMin ? r.residualMin : 0,
    converged: r.converged && (certified || opts.certify === false),
    certified,
    certifyHvps,
    hvps: op.hvps,
    hvpMs: op.hvpMs,
    ms: performance.now() - t0,
    dim: op.dim + zeros,
    lanczos: r,
  };
}

/** The k largest of `values` (descending) and `zeros` exact zeros (residual 0). */
function withZeros(values: Float64Array, residuals: Float64Array, zeros: number): { values: Float64Array; residuals: Float64Array } {
  const k = values.length;
  const all = [...Array.from(values, (v, i) => [v, residuals[i]!] as const), ...Array.from({ length: Math.min(k, zeros) }, () => [0, 0] as const)];
  all.sort((a, b) => b[0] - a[0]);
  return { values: Float64Array.from(all.slice(0, k), (p) => p[0]), residuals: Float64Array.from(all.slice(0, k), (p) => p[1]) };
}
