/**
 * Hessian analysis at one point θ of an engine's loss (the MEAN over the
 * engine's data), restricted to a parameter selection (hvp-operator.ts):
 * extreme eigenvalues with their true signs (one Lanczos run for both ends),
 * optionally the top-k, Hutchinson's trace and the spectral density.
 */
import type { LossEngine } from '../engine/engine.js';
import type { Vec } from '../core/layout.js';
import { spectralDensity, type SpectralDensityResult } from '../linalg/density.js';
import { hessianOperator, hessianOperatorOf, type HessianOperator, type ParamSelection } from '../linalg/hessian-operator.js';
import { lanczos, type LanczosConvergence, type LanczosResult } from '../linalg/lanczos.js';
import { hutchinsonTrace } from '../linalg/trace.js';

/**
 * The Lanczos convergence test when none is given: the eigenvalue error estimate
 * min(r, r²/δ) (lanczos.ts eigenvalueError). λmax and λmin are what a map shows, and a Ritz
 * value is accurate long before its vector: on the zoo CNN's bench rows it needs 18–22 HVPs
 * per point instead of 24–27 for the residual test at 1e-5, with the values within 2e-7·λmax
 * of cold tight solves (docs/hessian.md).
 */
export const DEFAULT_CONVERGENCE: LanczosConvergence = 'eigenvalue';
/**
 * Tolerance relative to max|θ_i| when none is given: 1e-6 for the eigenvalue error estimate,
 * 1e-5 for the residual. On the fixture's 9×9 grid (162 warm-started points against cold
 * tight solves) the estimate at 1e-5 let one λmin stop before the true one emerged (off by
 * 2.3e-4·λmax); at 1e-6 the worst is 4e-7.
 */
export const DEFAULT_TOL: Readonly<Record<LanczosConvergence, number>> = { eigenvalue: 1e-6, residual: 1e-5 };

/** The tolerance used for a convergence test when none is given. */
export function defaultTol(convergence: LanczosConvergence = DEFAULT_CONVERGENCE): number {
  return DEFAULT_TOL[convergence];
}
/** Relative accuracy assumed for float32 HVPs (a few float32 roundings, 2^-24 ≈ 6e-8). */
export const FLOAT32_HVP_EPS = 1e-7;
/** Lanczos steps (HVPs) at most, when none is given. */
export const DEFAULT_MAX_ITER = 200;

export interface PointOptions {
  params?: ParamSelection;
  /** What tol bounds for λmax and λmin: the eigenvalue error estimate (default) or the residual ‖Hy − θy‖. */
  convergence?: LanczosConvergence;
  /** Tolerance relative to max|θ| (default defaultTol(convergence): 1e-6 or 1e-5). */
  tol?: number;
  /** Maximum Lanczos steps = HVPs (default 200). */
  maxIter?: number;
  /** Seed of the random start vector (default 0). */
  seed?: number;
  /** Start vector (a warm start), in the reduced coordinates of the selection. */
  v0?: Float64Array;
  /** Also converge the `top` largest eigenvalues (default 0: only λmax and λmin). */
  top?: number;
  /** Lanczos reorthogonalization (default 'partial'). */
  reorthogonalization?: 'full' | 'partial';
  /** Relative accuracy of an HVP for partial reorthogonalization (default: by the engine's dtype). */
  matvecEps?: number;
  /**
   * Storage of the Lanczos vectors (default: the engine's precision). A float32 engine's HVP
   * rounds its input to float32 anyway, so a float32 basis loses nothing: on 32 warm-started
   * points of the bench MLP both storages give λmin and λmax within 2.7e-8·λmax of a tight
   * float64 reference; float32 halves the memory and runs the vector kernels in WebAssembly
   * SIMD (wasm-kernels.ts).
   */
  basisPrecision?: 'float64' | 'float32';
}

export interface PointEigen {
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
  /** Milliseconds inside engine.hvp, and in total. */
  hvpMs: number;
  ms: number;
  /** Dimension of the Hessian block analysed (the selected coordinates). */
  dim: number;
  /** The Lanczos result (Ritz vectors for warm starts). */
  lanczos: LanczosResult;
}

/**
 * λmax and λmin (and the top-k) at θ. Engines that run their HVPs in worker threads solve the
 * whole point there (`engine.pointEigen`: no vectors cross threads per HVP); the numbers are
 * those of `eigenvaluesOf` on the same HVPs.
 */
export async function pointEigenvalues(engine: LossEngine, theta: Vec, opts: PointOptions = {}): Promise<PointEigen> {
  if (engine.pointEigen) return engine.pointEigen(theta, opts);
  return localPointEigenvalues(engine, theta, opts);
}

/** pointEigenvalues on this thread, with engine.hvp. */
export function localPointEigenvalues(engine: LossEngine, theta: Vec, opts: PointOptions = {}): Promise<PointEigen> {
  return eigenvaluesOf(hessianOperator(engine, theta, opts.params ?? 'all'), engine.dtype, opts);
}

/** One Lanczos run for both ends of the spectrum of a Hessian operator. */
export async function eigenvaluesOf(op: HessianOperator, dtype: 'float32' | 'float64', opts: PointOptions = {}): Promise<PointEigen> {
  const t0 = performance.now();
  const top = Math.max(0, Math.floor(opts.top ?? 0));
  const convergence = opts.convergence ?? DEFAULT_CONVERGENCE;
  const r = await lanczos(op, {
    which: top > 0 ? 'both-top-k' : 'both',
    k: top > 0 ? top : undefined,
    tol: opts.tol ?? defaultTol(convergence),
    convergence,
    maxIter: opts.maxIter ?? DEFAULT_MAX_ITER,
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

export interface TraceOptions {
  params?: ParamSelection;
  /** Rademacher probes (default 100). */
  probes?: number;
  seed?: number;
}

export interface PointTrace {
  trace: number;
  /** Standard error of the Hutchinson mean. */
  stderr: number;
  probes: number;
  hvps: number;
}

/** tr(H) by Hutchinson's estimator with its standard error. */
export async function pointTrace(engine: LossEngine, theta: Vec, opts: TraceOptions = {}): Promise<PointTrace> {
  const op = hessianOperator(engine, theta, opts.params ?? 'all');
  const r = await hutchinsonTrace(op, { probes: opts.probes ?? 100, seed: opts.seed ?? 0 });
  return { trace: r.trace, stderr: r.stderr, probes: r.probes, hvps: op.hvps };
}

export interface DensityOptions {
  params?: ParamSelection;
  /** Probe vectors (default 1). */
  probes?: number;
  /** Lanczos steps per probe (default 90). */
  iterations?: number;
  seed?: number;
  gridPoints?: number;
}

/** Spectral density by stochastic Lanczos quadrature (PyHessian's method). */
export async function pointDensity(
  engine: LossEngine,
  theta: Vec,
  opts: DensityOptions = {},
): Promise<SpectralDensityResult & { hvps: number }> {
  // every coordinate: the density's weights are per dimension, zero rows included
  const op = hessianOperatorOf((t, v) => engine.hvp(t, v), engine.layout, theta, opts.params ?? 'all');
  const r = await spectralDensity(op, {
    probes: opts.probes,
    iterations: opts.iterations,
    seed: opts.seed,
    gridPoints: opts.gridPoints ?? 1000,
  });
  return { ...r, hvps: op.hvps };
}
