/**
 * Hessian analysis at one point θ of an engine's loss (the MEAN over the engine's data),
 * restricted to a parameter selection: extreme eigenvalues with their true signs (one Lanczos
 * run for both ends, linalg/extremes.ts), optionally the top-k, Hutchinson's trace and the
 * spectral density.
 */
import type { Vec } from '../core/layout.js';
import type { LossEngine } from '../engine/engine.js';
import { type SpectralDensityResult, spectralDensity } from '../linalg/density.js';
import { type Extremes, type ExtremesOptions, extremeEigenvalues } from '../linalg/extremes.js';
import { hessianOperatorOf, type ParamSelection } from '../linalg/hessian-operator.js';
import { hutchinsonTrace } from '../linalg/trace.js';
import { hessianOperator } from './operator.js';

/**
 * λmax and λmin (and the top-k) at θ. Engines that run their HVPs in worker threads solve the
 * whole point there (`engine.hessianTask`: no vectors cross threads per HVP); the numbers are
 * those of the same solve over `engine.hvp`.
 */
export function pointEigenvalues(engine: LossEngine, theta: Vec, opts: ExtremesOptions = {}): Promise<Extremes> {
  const params = opts.params ?? 'all';
  // (a progress callback cannot go to a worker thread: then the solve runs here)
  if (engine.hessianTask && !opts.onLanczosTest) return engine.hessianTask(theta, { name: 'extremes', params, options: opts });
  return extremeEigenvalues(hessianOperator(engine, theta, params), engine.dtype, opts);
}

/**
 * Lanczos steps still needed to converge, extrapolated from its convergence tests (LanczosOptions.onTest:
 * steps, worst measure / tolerance): the error estimates fall roughly geometrically, so
 * log(worst) is fitted linearly over the last `window` tests. Null while there is no falling trend.
 */
export function stepsToConverge(tests: readonly { steps: number; worst: number }[], window = 4): number | null {
  const h = tests.slice(-window).filter((t) => t.worst > 0 && Number.isFinite(t.worst));
  if (h.length < 3) return null;
  const xs = h.map((t) => t.steps);
  const ys = h.map((t) => Math.log(t.worst));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
  });
  const slope = sxx > 0 ? sxy / sxx : 0;
  if (!(slope < 0)) return null;
  return Math.max(1, Math.ceil(Math.max(0, ys.at(-1)!) / -slope));
}

/** Above this many selected coordinates `losscape hessian` skips the trace unless asked (`--trace`). */
export const TRACE_AUTO_LIMIT = 1_000_000;

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
export async function pointDensity(engine: LossEngine, theta: Vec, opts: DensityOptions = {}): Promise<SpectralDensityResult & { hvps: number }> {
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
