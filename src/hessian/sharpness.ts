/**
 * Sharpness of one point θ of an engine's loss L (the MEAN over the engine's
 * data), by three measures:
 *
 * - λmax and λmin of the Hessian (one Lanczos run, true signs; point.ts),
 * - tr(H) by Hutchinson's estimator with its standard error,
 * - ε-sharpness (Keskar et al. 2017, "On large-batch training…", Metric 2.1
 *   with A = I): the largest relative rise of the loss inside the box
 *   C_ε = {δ : |δ_i| ≤ ε(|θ_i| + 1)},
 *
 *     φ_ε = 100 · (max_{δ∈C_ε} L(θ + δ) − L(θ)) / (1 + L(θ))   (percent).
 *
 *   Keskar et al. maximize with 10 iterations of L-BFGS-B. Here, with
 *   b_i = ε(|θ_i| + 1) and a budget of `steps` gradients: first the vertex
 *   iteration δ ← b ⊙ sign(∇L(θ + δ)) from δ = 0 (each jump maximizes the
 *   linear model over the box; for convex L it increases L monotonically and
 *   ends at a vertex, where a convex function's box maximum lies), while L
 *   increases; then projected sign-gradient steps clip(δ + η b ⊙ sign(∇L), −b, b)
 *   from the best point, η = 1/2 halved after every step that does not
 *   increase L (interior maxima of non-convex L). The largest loss seen is
 *   kept, so φ_ε is a lower bound on the true ε-sharpness (as with any local
 *   optimizer). With params 'ndim>1' the box has zero width on the excluded
 *   tensors.
 */
import type { LossEngine } from '../engine/engine.js';
import { type ParamSelection, selectParams } from '../linalg/hessian-operator.js';
import type { LanczosConvergence } from '../linalg/lanczos.js';
import { pointEigenvalues, pointTrace } from './point.js';

export type { ParamSelection } from '../linalg/hessian-operator.js';

/** Defaults of the sharpness measures: `sharpness()`, `epsSharpness()` and `losscape hessian`. */
export const SHARPNESS_DEFAULTS = {
  /** Box half-width factor of ε-sharpness: |δ_i| ≤ ε·(|θ_i| + 1). */
  epsilon: 1e-3,
  /** Hutchinson probes for the trace. */
  traceProbes: 100,
  params: 'all' as ParamSelection,
  seed: 0,
  /** Gradient-ascent steps of the ε-sharpness maximization. */
  epsSteps: 10,
} as const;

/**
 * The sharpness settings of the study tables (`losscape study`, `prune`): fewer
 * trace probes and a fixed Lanczos tolerance, as many runs or sparsities are measured.
 */
export const STUDY_SHARPNESS_DEFAULTS = {
  epsilon: SHARPNESS_DEFAULTS.epsilon,
  traceProbes: 30,
  tol: 1e-4,
  params: SHARPNESS_DEFAULTS.params,
  seed: SHARPNESS_DEFAULTS.seed,
} as const;

export interface SharpnessOptions {
  /** Box half-width factor of ε-sharpness: |δ_i| ≤ ε·(|θ_i| + 1) (default SHARPNESS_DEFAULTS). */
  epsilon?: number;
  /** Hutchinson probes for the trace (default SHARPNESS_DEFAULTS). */
  traceProbes?: number;
  /** Lanczos convergence test (default 'eigenvalue', point.ts). */
  convergence?: LanczosConvergence;
  /** Its tolerance relative to max|θ| (default by the test: 1e-6 eigenvalue, 1e-5 residual). */
  tol?: number;
  /** Tensors in the Hessian and the ε-box (default SHARPNESS_DEFAULTS). */
  params?: ParamSelection;
  seed?: number;
  /** Lanczos steps at most (default 200). */
  maxIter?: number;
  /** Gradient-ascent steps of the ε-sharpness maximization (default SHARPNESS_DEFAULTS; 0 skips it: epsSharpness = NaN). */
  epsSteps?: number;
}

export interface SharpnessResult {
  lambdaMax: number;
  lambdaMin: number;
  trace: number;
  traceStderr: number;
  /** Keskar et al. (2017) ε-sharpness in percent: 100·(max_δ L(θ+δ) − L(θ)) / (1 + L(θ)). */
  epsSharpness: number;
  /** L(θ), mean loss over the engine's data. */
  loss: number;
  /** Hessian-vector products used (Lanczos + Hutchinson). */
  hvps: number;
  /** max_δ L(θ + δ) found. */
  epsMaxLoss: number;
  /** Gradient evaluations used by the maximization. */
  epsSteps: number;
  epsilon: number;
  traceProbes: number;
  /** Lanczos met its convergence test. */
  converged: boolean;
  ms: number;
}

export async function sharpness(engine: LossEngine, theta: Float32Array, opts: SharpnessOptions = {}): Promise<SharpnessResult> {
  const t0 = performance.now();
  const params = opts.params ?? SHARPNESS_DEFAULTS.params;
  const seed = opts.seed ?? SHARPNESS_DEFAULTS.seed;
  const eig = await pointEigenvalues(engine, theta, { params, convergence: opts.convergence, tol: opts.tol, maxIter: opts.maxIter, seed });
  const traceProbes = Math.max(1, Math.floor(opts.traceProbes ?? SHARPNESS_DEFAULTS.traceProbes));
  const tr = await pointTrace(engine, theta, { params, probes: traceProbes, seed: seed + 1 });
  const epsilon = opts.epsilon ?? SHARPNESS_DEFAULTS.epsilon;
  const eps = await epsSharpness(engine, theta, { epsilon, params, steps: opts.epsSteps ?? SHARPNESS_DEFAULTS.epsSteps });
  return {
    lambdaMax: eig.lambdaMax,
    lambdaMin: eig.lambdaMin,
    trace: tr.trace,
    traceStderr: tr.stderr,
    epsSharpness: eps.sharpness,
    loss: eps.loss,
    hvps: eig.hvps + tr.hvps,
    epsMaxLoss: eps.maxLoss,
    epsSteps: eps.steps,
    epsilon,
    traceProbes,
    converged: eig.converged,
    ms: performance.now() - t0,
  };
}

export interface EpsSharpnessOptions {
  epsilon?: number;
  params?: ParamSelection;
  /** Gradient evaluations at most (default SHARPNESS_DEFAULTS.epsSteps). */
  steps?: number;
}

export interface EpsSharpnessResult {
  /** Percent; NaN with 0 steps. */
  sharpness: number;
  loss: number;
  maxLoss: number;
  steps: number;
  /** The maximizing perturbation δ (full length; zero outside the selection). */
  delta: Float64Array;
}

/** Keskar et al.'s ε-sharpness by projected sign-gradient ascent in the box (see the file comment). */
export async function epsSharpness(engine: LossEngine, theta: Float32Array, opts: EpsSharpnessOptions = {}): Promise<EpsSharpnessResult> {
  const epsilon = opts.epsilon ?? SHARPNESS_DEFAULTS.epsilon;
  if (!(epsilon >= 0)) throw new Error(`epsilon must be ≥ 0, got ${epsilon}`);
  const steps = Math.max(0, Math.floor(opts.steps ?? SHARPNESS_DEFAULTS.epsSteps));
  const sel = selectParams(engine.layout, opts.params ?? SHARPNESS_DEFAULTS.params);
  const n = theta.length;
  const box = new Float64Array(n);
  for (const [o, len] of sel.segments) for (let i = o; i < o + len; i++) box[i] = epsilon * (Math.abs(theta[i]!) + 1);
  const delta = new Float64Array(n);
  const best = new Float64Array(n);
  const w = new Float64Array(n);
  const at = (d: Float64Array) => {
    for (let i = 0; i < n; i++) w[i] = theta[i]! + d[i]!;
    return w;
  };
  if (steps === 0) {
    const loss = (await engine.evaluate(theta)).loss;
    return { sharpness: Number.NaN, loss, maxLoss: Number.NaN, steps: 0, delta };
  }
  // Phase 1: vertex iteration δ ← b ⊙ sign(∇L(θ + δ)), the maximizer of the
  // linear model over the box; for convex L every jump increases L, so it
  // stops at a vertex that no single linearization improves.
  let count = 1;
  const g0 = await engine.gradient(theta);
  const loss = g0.loss;
  let maxLoss = loss;
  let bestGrad = g0.grad;
  const next = new Float64Array(n);
  while (count < steps) {
    let same = true;
    for (let i = 0; i < n; i++) {
      const g = bestGrad[i]!;
      next[i] = box[i]! * (g > 0 ? 1 : g < 0 ? -1 : 0);
      if (next[i] !== best[i]) same = false;
    }
    if (same) break;
    const r = await engine.gradient(at(next));
    count++;
    if (!(r.loss > maxLoss)) break;
    maxLoss = r.loss;
    best.set(next);
    bestGrad = r.grad;
  }
  // Phase 2: projected sign-gradient steps from the best point with step
  // η·b, η = 1/2 halved after every step that does not increase L (interior
  // maxima of a non-convex L), until η < 1/64.
  let eta = 0.5;
  while (count < steps && eta >= 1 / 64) {
    for (let i = 0; i < n; i++) {
      const b = box[i]!;
      const g = bestGrad[i]!;
      const d = best[i]! + eta * b * (g > 0 ? 1 : g < 0 ? -1 : 0);
      delta[i] = d > b ? b : Math.max(d, -b);
    }
    const r = await engine.gradient(at(delta));
    count++;
    if (r.loss > maxLoss) {
      maxLoss = r.loss;
      best.set(delta);
      bestGrad = r.grad;
    } else eta /= 2;
  }
  return { sharpness: (100 * (maxLoss - loss)) / (1 + loss), loss, maxLoss, steps: count, delta: best };
}
