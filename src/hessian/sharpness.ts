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
 *   Keskar et al. maximize with 10 iterations of L-BFGS-B. Here: projected
 *   sign-gradient ascent in the box, δ₁ = b ⊙ sign(∇L(θ)) (the corner that
 *   maximizes the linear model; b_i = ε(|θ_i| + 1)), then δ_{t+1} =
 *   clip(δ_t + 2^{−t} b ⊙ sign(∇L(θ + δ_t)), −b, b), keeping the largest loss
 *   seen. The inner maximum is found from below, so φ_ε is a lower bound on the
 *   true ε-sharpness (as with any local optimizer). With params 'ndim>1' the
 *   box has zero width on the excluded tensors.
 */
import type { LossEngine } from '../engine/engine.js';
import { selectParams, type ParamSelection } from './hvp-operator.js';
import { DEFAULT_TOL, pointEigenvalues, pointTrace } from './point.js';

export type { ParamSelection } from './hvp-operator.js';

export interface SharpnessOptions {
  /** Box half-width factor of ε-sharpness: |δ_i| ≤ ε·(|θ_i| + 1) (default 1e-3). */
  epsilon?: number;
  /** Hutchinson probes for the trace (default 100). */
  traceProbes?: number;
  /** Lanczos relative residual tolerance (default 1e-5). */
  tol?: number;
  /** Tensors in the Hessian and the ε-box (default 'all'). */
  params?: ParamSelection;
  seed?: number;
  /** Lanczos steps at most (default 200). */
  maxIter?: number;
  /** Gradient-ascent steps of the ε-sharpness maximization (default 10; 0 skips it: epsSharpness = NaN). */
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
  /** Ascent steps taken (= gradient evaluations). */
  epsSteps: number;
  epsilon: number;
  traceProbes: number;
  /** Lanczos met its residual test. */
  converged: boolean;
  ms: number;
}

export async function sharpness(
  engine: LossEngine,
  theta: Float32Array,
  opts: SharpnessOptions = {},
): Promise<SharpnessResult> {
  const t0 = performance.now();
  const params = opts.params ?? 'all';
  const seed = opts.seed ?? 0;
  const eig = await pointEigenvalues(engine, theta, { params, tol: opts.tol ?? DEFAULT_TOL, maxIter: opts.maxIter, seed });
  const traceProbes = Math.max(1, Math.floor(opts.traceProbes ?? 100));
  const tr = await pointTrace(engine, theta, { params, probes: traceProbes, seed: seed + 1 });
  const epsilon = opts.epsilon ?? 1e-3;
  const eps = await epsSharpness(engine, theta, { epsilon, params, steps: opts.epsSteps ?? 10 });
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
  /** Gradient-ascent steps (default 10). */
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
  const epsilon = opts.epsilon ?? 1e-3;
  if (!(epsilon >= 0)) throw new Error(`epsilon must be ≥ 0, got ${epsilon}`);
  const steps = Math.max(0, Math.floor(opts.steps ?? 10));
  const sel = selectParams(engine.layout, opts.params ?? 'all');
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
  let loss = Number.NaN;
  let maxLoss = -Infinity;
  for (let t = 0; t < steps; t++) {
    const { loss: l, grad } = await engine.gradient(t === 0 ? theta : at(delta));
    if (t === 0) loss = l;
    else if (l > maxLoss) ((maxLoss = l), best.set(delta));
    const eta = 2 ** -t;
    for (let i = 0; i < n; i++) {
      const b = box[i]!;
      if (b === 0) continue;
      const g = grad[i]!;
      const d = delta[i]! + eta * b * (g > 0 ? 1 : g < 0 ? -1 : 0);
      delta[i] = d > b ? b : d < -b ? -b : d;
    }
  }
  const last = (await engine.evaluate(at(delta))).loss;
  if (last > maxLoss) ((maxLoss = last), best.set(delta));
  if (!(maxLoss >= loss)) maxLoss = Math.max(maxLoss, loss); // δ = 0 is in the box
  return { sharpness: (100 * (maxLoss - loss)) / (1 + loss), loss, maxLoss, steps, delta: best };
}
