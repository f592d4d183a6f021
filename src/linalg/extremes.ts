/**
 * λmax and λmin (optionally the top-k) of a Hessian operator restricted to a parameter
 * selection (hessian-operator.ts), with their true signs, from one Lanczos run.
 *
 * The solver's choices, made here and nowhere else: the eigenvalue error estimate as the
 * convergence test (a map shows values, and a Ritz value converges about twice as fast as its
 * vector), partial reorthogonalization, a float32 basis for float32 HVPs (float32 HVPs round
 * their input anyway), and the tolerances and step limit of LANCZOS_DEFAULTS.
 * The measurements behind them are in docs/hessian.md.
 */
import type { HessianOperator, ParamSelection } from './hessian-operator.js';
import { defaultTol, LANCZOS_DEFAULTS, type LanczosConvergence, type LanczosResult, lanczos } from './lanczos.js';

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
}

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
  /** The targets met the convergence test (else the values are the last Ritz values after maxIter steps). */
  converged: boolean;
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
  const r = await lanczos(op, {
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
  });
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
    converged: r.converged,
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
