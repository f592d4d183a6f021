/**
 * The second-order model of the loss on a landscape's plane,
 *
 *   Q(α, β) = L + α·gᵀδ + β·gᵀη + ½(α²·δᵀHδ + 2αβ·δᵀHη + β²·ηᵀHη),
 *
 * its coefficients from one gradient and two Hessian-vector products at the
 * centre, its values over a grid next to the real landscape, and where both
 * agree within a tolerance.
 */
import { type Grid, gridPoints, gridSize } from '../../core/grid.js';
import type { LossEngine } from '../../engine/engine.js';
import { dot } from '../stats.js';

export interface TaylorCoefficients {
  /** L(θ). */
  loss: number;
  /** gᵀδ, gᵀη. */
  gd: number;
  ge: number;
  /** δᵀHδ, δᵀHη (symmetrized: ½(δᵀHη + ηᵀHδ)), ηᵀHη. */
  dHd: number;
  dHe: number;
  eHe: number;
  /** |δᵀHη − ηᵀHδ| / max(|δᵀHη|, tiny): symmetry check of the two HVPs. */
  asymmetry: number;
}

/** One gradient and two HVPs at θ. */
export async function taylorCoefficients(engine: LossEngine, theta: Float32Array, d: Float32Array, e: Float32Array): Promise<TaylorCoefficients> {
  const { loss, grad } = await engine.gradient(theta);
  const Hd = await engine.hvp(theta, d);
  const He = await engine.hvp(theta, e);
  const dHe = dot(d, He);
  const eHd = dot(e, Hd);
  return {
    loss,
    gd: dot(grad, d),
    ge: dot(grad, e),
    dHd: dot(d, Hd),
    dHe: 0.5 * (dHe + eHd),
    eHe: dot(e, He),
    asymmetry: Math.abs(dHe - eHd) / Math.max(Math.abs(dHe), Math.abs(eHd), 1e-300),
  };
}

export function quadraticModel(c: TaylorCoefficients, a: number, b: number): number {
  return c.loss + a * c.gd + b * c.ge + 0.5 * (a * a * c.dHd + 2 * a * b * c.dHe + b * b * c.eHe);
}

export interface TaylorChannels {
  taylor_loss: Float64Array;
  /** |Q − L| / |L|. */
  taylor_relerr: Float64Array;
  /** 1 where |Q − L| ≤ tol·|L|. */
  taylor_agree: Float64Array;
}

export function taylorChannels(grid: Grid, loss: Float64Array, c: TaylorCoefficients, tol: number): TaylorChannels {
  const pts = gridPoints(grid);
  const n = gridSize(grid);
  const q = new Float64Array(n);
  const rel = new Float64Array(n);
  const agree = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    q[i] = quadraticModel(c, pts[2 * i]!, pts[2 * i + 1]!);
    const err = Math.abs(q[i]! - loss[i]!);
    rel[i] = err / Math.abs(loss[i]!);
    agree[i] = err <= tol * Math.abs(loss[i]!) ? 1 : 0;
  }
  return { taylor_loss: q, taylor_relerr: rel, taylor_agree: agree };
}

export interface TaylorSummary {
  /** Fraction of grid points where the quadratic model agrees within tol. */
  agreeFraction: number;
  /**
   * Largest r such that every grid point with √(α² + β²) ≤ r agrees (in plane
   * units; 0 if the centre itself disagrees): the radius of the quadratic region.
   */
  agreeRadius: number;
  /** Distance of the nearest disagreeing point (Infinity if none). */
  firstBreak: number;
  maxRelErr: number;
  meanRelErr: number;
}

export function summarizeTaylor(grid: Grid, ch: TaylorChannels): TaylorSummary {
  const pts = gridPoints(grid);
  const n = gridSize(grid);
  let agreeN = 0;
  let firstBreak = Infinity;
  let maxRel = 0;
  let sumRel = 0;
  let finite = 0;
  let maxR = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(pts[2 * i]!, pts[2 * i + 1]!);
    maxR = Math.max(maxR, r);
    if (ch.taylor_agree[i]) agreeN++;
    else firstBreak = Math.min(firstBreak, r);
    const e = ch.taylor_relerr[i]!;
    if (Number.isFinite(e)) {
      maxRel = Math.max(maxRel, e);
      sumRel += e;
      finite++;
    }
  }
  // the largest radius r below the first break that still has agreeing points
  let agreeRadius = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(pts[2 * i]!, pts[2 * i + 1]!);
    if (ch.taylor_agree[i] && r < firstBreak) agreeRadius = Math.max(agreeRadius, r);
  }
  return { agreeFraction: agreeN / n, agreeRadius, firstBreak, maxRelErr: maxRel, meanRelErr: finite ? sumRel / finite : Number.NaN };
}
