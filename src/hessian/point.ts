/**
 * Hessian analysis at one point θ of an engine's loss (the MEAN over the
 * engine's data), restricted to a parameter selection (hvp-operator.ts):
 * extreme eigenvalues with their true signs (one Lanczos run for both ends),
 * optionally the top-k, Hutchinson's trace and the spectral density.
 */
import type { LossEngine } from '../engine/engine.js';
import type { Vec } from '../model/layout.js';
import { spectralDensity, type SpectralDensityResult } from './density.js';
import { hessianOperator, type ParamSelection } from './hvp-operator.js';
import { lanczos, type LanczosResult } from './lanczos.js';
import { hutchinsonTrace } from './trace.js';

/** Lanczos residual tolerance relative to max|θ_i| used when none is given. */
export const DEFAULT_TOL = 1e-5;
/** Relative accuracy assumed for float32 HVPs (a few float32 roundings, 2^-24 ≈ 6e-8). */
export const FLOAT32_HVP_EPS = 1e-7;
/** Lanczos steps (HVPs) at most, when none is given. */
export const DEFAULT_MAX_ITER = 200;

export interface PointOptions {
  params?: ParamSelection;
  /** Relative residual tolerance ‖Hy − θy‖ ≤ tol·max|θ| for λmax and λmin (default 1e-5). */
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
   * Storage of the Lanczos vectors (default 'float64'). 'float32' halves the reorthogonalization
   * traffic but, with partial reorthogonalization on the fixture grid, let λmin misconverge at one
   * point (1.6e-4·λmax), for only ~5 % less time.
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
  /** The targets met the residual test (else the values are the last Ritz values after maxIter steps). */
  converged: boolean;
  /** HVPs used (= Lanczos steps). */
  hvps: number;
  /** Milliseconds inside engine.hvp, and in total. */
  hvpMs: number;
  ms: number;
  /** Dimension of the (reduced) operator. */
  dim: number;
  /** The Lanczos result (Ritz vectors for warm starts). */
  lanczos: LanczosResult;
}

export async function pointEigenvalues(engine: LossEngine, theta: Vec, opts: PointOptions = {}): Promise<PointEigen> {
  const t0 = performance.now();
  const op = hessianOperator(engine, theta, opts.params ?? 'all');
  const top = Math.max(0, Math.floor(opts.top ?? 0));
  const r = await lanczos(op, {
    which: top > 0 ? 'both-top-k' : 'both',
    k: top > 0 ? top : undefined,
    tol: opts.tol ?? DEFAULT_TOL,
    maxIter: opts.maxIter ?? DEFAULT_MAX_ITER,
    seed: opts.seed ?? 0,
    v0: opts.v0,
    reorthogonalization: opts.reorthogonalization ?? 'partial',
    matvecEps: opts.matvecEps ?? (engine.dtype === 'float32' ? FLOAT32_HVP_EPS : undefined),
    basisPrecision: opts.basisPrecision ?? 'float64',
  });
  return {
    lambdaMax: r.lambdaMax,
    lambdaMin: r.lambdaMin,
    ratio: Math.abs(r.lambdaMin / r.lambdaMax),
    top: r.top?.values,
    topResiduals: r.top?.residuals,
    residualMax: r.residualMax,
    residualMin: r.residualMin,
    converged: r.converged,
    hvps: op.hvps,
    hvpMs: op.hvpMs,
    ms: performance.now() - t0,
    dim: op.dim,
    lanczos: r,
  };
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
  const op = hessianOperator(engine, theta, opts.params ?? 'all');
  const r = await spectralDensity(op, {
    probes: opts.probes,
    iterations: opts.iterations,
    seed: opts.seed,
    gridPoints: opts.gridPoints ?? 1000,
  });
  return { ...r, hvps: op.hvps };
}
