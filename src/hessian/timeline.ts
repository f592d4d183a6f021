/**
 * One point of the curvature timeline (Cohen et al. 2021, "Gradient descent on neural networks
 * typically occurs at the edge of stability"): at a checkpoint θ, λmax of the Hessian of the mean
 * loss against the stability threshold 2/η of gradient descent with step η, with the trace and
 * ε-sharpness (sharpness.ts). For Adam, also the preconditioned sharpness λmax(P⁻¹H) with
 * P = diag(√v̂ + ε) (v̂ the bias-corrected second moment at that step), against Adam's threshold
 * (2 + 2β1) / ((1 − β1)·η) (Cohen et al. 2022, "Adaptive gradient methods at the edge of
 * stability"). P⁻¹H is similar to the symmetric P^{-1/2} H P^{-1/2}, whose λmax Lanczos finds.
 */
import type { Vec } from '../core/layout.js';
import type { LossEngine } from '../engine/engine.js';
import { lanczos } from '../linalg/lanczos.js';
import type { SymOperator } from '../linalg/operator.js';
import { STUDY_SHARPNESS_DEFAULTS, sharpness } from './sharpness.js';

export interface CurvaturePoint {
  lambdaMax: number;
  lambdaMin: number;
  /** 2/η at this step. */
  threshold: number;
  trace: number;
  traceStderr: number;
  epsSharpness: number;
  /** Adam only: λmax(P⁻¹H) and (2 + 2β1)/((1 − β1)η). */
  preconditionedLambdaMax?: number;
  preconditionedThreshold?: number;
}

export interface AdamPreconditioner {
  /** Second moments v (full layout; zero for tensors that are not trained). */
  v: Float32Array;
  /** 1 on coordinates that are trained. */
  learnable: Uint8Array;
  /** Steps taken (bias correction 1 − β2ᵗ). */
  step: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** The timeline point at θ for step size `lr` (and the Adam state, when training uses Adam). */
export async function curvaturePoint(engine: LossEngine, theta: Float32Array, lr: number, adam?: AdamPreconditioner): Promise<CurvaturePoint> {
  const s = await sharpness(engine, theta, { ...STUDY_SHARPNESS_DEFAULTS });
  const out: CurvaturePoint = {
    lambdaMax: s.lambdaMax,
    lambdaMin: s.lambdaMin,
    threshold: 2 / lr,
    trace: s.trace,
    traceStderr: s.traceStderr,
    epsSharpness: s.epsSharpness,
  };
  if (adam && adam.step > 0) {
    out.preconditionedLambdaMax = await preconditionedLambdaMax(engine, theta, inverseSqrtPreconditioner(adam));
    out.preconditionedThreshold = (2 + 2 * adam.beta1) / ((1 - adam.beta1) * lr);
  }
  return out;
}

/** P^{-1/2} = 1/√(√v̂ + ε) on trained coordinates, 0 elsewhere. */
export function inverseSqrtPreconditioner(a: AdamPreconditioner): Float64Array {
  const c2 = 1 - a.beta2 ** a.step;
  return Float64Array.from(a.v, (v, i) => (a.learnable[i] ? 1 / Math.sqrt(Math.sqrt(v / c2) + a.eps) : 0));
}

/** λmax of D·H·D with D = diag(d), by Lanczos (largest end, relative tolerance 1e-4). */
export async function preconditionedLambdaMax(engine: LossEngine, theta: Vec, d: Float64Array): Promise<number> {
  const op: SymOperator = {
    dim: d.length,
    fresh: true,
    matvec: async (v) => {
      const hv = await engine.hvp(
        theta,
        Float64Array.from(v, (x, i) => x * d[i]!),
      );
      return Float64Array.from(hv, (x, i) => x * d[i]!);
    },
  };
  const r = await lanczos(op, { which: 'largest', tol: STUDY_SHARPNESS_DEFAULTS.tol, maxIter: 200, seed: 0 });
  return r.lambdaMax;
}
