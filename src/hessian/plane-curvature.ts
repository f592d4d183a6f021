/**
 * The hidden-curvature report of a plane θ + α·δ + β·η: how much of the Hessian's curvature at
 * θ the picture on that plane can show.
 *
 * - in-plane curvatures δᵀHδ/‖δ‖² and ηᵀHη/‖η‖² (the second derivative of the loss along each
 *   axis, per unit length in parameter space),
 * - the plane's 2×2 Hessian QᵀHQ in an orthonormal basis Q of span{δ, η}; by Cauchy interlacing
 *   its eigenvalues lie in [λmin, λmax] of the full Hessian,
 * - the full λmin and λmax at θ,
 * - a hidden saddle: the full Hessian has an eigenvalue below −ε·λmax while the plane's smallest
 *   eigenvalue is not below −ε·λmax (the picture looks convex where the loss is not).
 *
 * Two HVPs (H·δ, H·η) plus the extremes; the arithmetic is in `curvatureReport`.
 */
import type { Vec } from '../core/layout.js';
import type { LossEngine } from '../engine/engine.js';
import type { ExtremesOptions } from '../linalg/extremes.js';
import { pointEigenvalues } from './point.js';

/** Default ε of the hidden-saddle flag: negative curvature below −ε·λmax counts. */
export const HIDDEN_SADDLE_EPSILON = 0.01;

export interface PlaneCurvature {
  /** δᵀHδ / ‖δ‖². */
  curvatureX: number;
  /** ηᵀHη / ‖η‖². */
  curvatureY: number;
  /** The Hessian of (α, β) ↦ L(θ + αδ + βη) at 0: [[δᵀHδ, δᵀHη], [ηᵀHδ, ηᵀHη]]. */
  coordinateHessian: [[number, number], [number, number]];
  /** Eigenvalues of QᵀHQ (Q an orthonormal basis of the plane), ascending; one value when δ ∥ η. */
  planeEigenvalues: number[];
  lambdaMin: number;
  lambdaMax: number;
  epsilon: number;
  /** λmin < −ε·λmax and min(planeEigenvalues) ≥ −ε·λmax. */
  hiddenSaddle: boolean;
  /** The full Hessian's extremes met their convergence test. */
  converged: boolean;
}

export interface PlaneCurvatureOptions {
  /** Default HIDDEN_SADDLE_EPSILON. */
  epsilon?: number;
  /** Lanczos settings of λmin/λmax (params 'all' unless given). */
  extremes?: ExtremesOptions;
  /** λmin/λmax at θ already known (e.g. from the eigenvector plane's solve): no Lanczos run. */
  known?: { lambdaMin: number; lambdaMax: number; converged: boolean };
}

/** The hidden-curvature report of the plane (dx, dy) at θ (see the module comment). */
export async function planeCurvature(engine: LossEngine, theta: Vec, dx: Vec, dy: Vec, opts: PlaneCurvatureOptions = {}): Promise<PlaneCurvature> {
  const hdx = await engine.hvp(theta, dx);
  const hdy = await engine.hvp(theta, dy);
  const ext = opts.known ?? (await pointEigenvalues(engine, theta, opts.extremes));
  return curvatureReport({ dx, dy, hdx, hdy }, ext, opts.epsilon ?? HIDDEN_SADDLE_EPSILON);
}

/** The report from the directions, their Hessian products and the full extremes. */
export function curvatureReport(
  p: { dx: ArrayLike<number>; dy: ArrayLike<number>; hdx: ArrayLike<number>; hdy: ArrayLike<number> },
  ext: { lambdaMin: number; lambdaMax: number; converged: boolean },
  epsilon: number,
): PlaneCurvature {
  const xx = dot(p.dx, p.dx);
  const yy = dot(p.dy, p.dy);
  const xy = dot(p.dx, p.dy);
  const xhx = dot(p.dx, p.hdx);
  const yhy = dot(p.dy, p.hdy);
  const xhy = 0.5 * (dot(p.dx, p.hdy) + dot(p.dy, p.hdx));
  const planeEigenvalues = compressedEigenvalues(xx, yy, xy, xhx, yhy, xhy);
  const floor = -epsilon * ext.lambdaMax;
  return {
    curvatureX: xhx / xx,
    curvatureY: yhy / yy,
    coordinateHessian: [
      [xhx, xhy],
      [xhy, yhy],
    ],
    planeEigenvalues,
    lambdaMin: ext.lambdaMin,
    lambdaMax: ext.lambdaMax,
    epsilon,
    hiddenSaddle: ext.lambdaMin < floor && Math.min(...planeEigenvalues) >= floor,
    converged: ext.converged,
  };
}

/**
 * Eigenvalues of QᵀHQ for Q = Gram–Schmidt(δ, η), from the Gram matrix [[xx, xy], [xy, yy]] and
 * the coordinate Hessian [[xhx, xhy], [xhy, yhy]]: with q1 = δ/‖δ‖ and q2 = (η − c·δ)/s,
 * c = xy/xx, s = √(yy − xy²/xx).
 */
function compressedEigenvalues(xx: number, yy: number, xy: number, xhx: number, yhy: number, xhy: number): number[] {
  const a = xhx / xx;
  const s2 = yy - (xy * xy) / xx;
  if (!(s2 > 1e-12 * yy)) return [a];
  const c = xy / xx;
  const s = Math.sqrt(s2);
  const b = (xhy - c * xhx) / (Math.sqrt(xx) * s);
  const d = (yhy - 2 * c * xhy + c * c * xhx) / s2;
  const mean = 0.5 * (a + d);
  const r = Math.hypot(0.5 * (a - d), b);
  return [mean - r, mean + r];
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
