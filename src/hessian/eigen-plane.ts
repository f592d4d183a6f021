/**
 * Hessian-eigenvector planes: the plane through θ spanned by two eigenvectors of the Hessian of
 * the mean loss at θ (all parameters), from one Lanczos run (linalg/extremes.ts):
 *
 * - 'top-bottom': the eigenvectors of λmax and λmin (the sharpest direction and the most
 *   negative or flattest one),
 * - 'top-2': the eigenvectors of the two largest eigenvalues.
 *
 * An eigenvector's sign is arbitrary; it is fixed so that its component of largest magnitude is
 * positive. Each unit eigenvector is scaled to `length` (the pipeline passes the norm a
 * filter-normalized random direction has at θ, so that the grids of random and eigenvector
 * planes span comparable distances). Scaling keeps it an eigenvector; no per-filter
 * normalization is applied, as that would not.
 */
import type { Vec } from '../core/layout.js';
import type { LossEngine } from '../engine/engine.js';
import type { Extremes, ExtremesOptions } from '../linalg/extremes.js';
import { scatter, selectParams } from '../linalg/hessian-operator.js';
import { pointEigenvalues } from './point.js';

export type EigenPair = 'top-bottom' | 'top-2';
export const EIGEN_PAIRS: readonly EigenPair[] = ['top-bottom', 'top-2'];

export interface EigenPlane {
  dx: Float32Array;
  dy: Float32Array;
  /** Cosine between the two directions (0 up to the solver's accuracy). */
  cosine: number;
  pair: EigenPair;
  /** The Ritz values of the two eigenvectors (x, y). */
  lambdaX: number;
  lambdaY: number;
  /** Residuals ‖Hv − λv‖ of the two unit eigenvectors (x, y). */
  residualX: number;
  residualY: number;
  /** The solve's extremes of the full Hessian (for the hidden-curvature report). */
  extremes: Pick<Extremes, 'lambdaMin' | 'lambdaMax' | 'converged'>;
}

export interface EigenPlaneOptions {
  pair?: EigenPair;
  /** Length of each direction (default 1). */
  length?: number;
  /** Lanczos settings (params are always 'all': the plane lives in the full parameter space). */
  extremes?: Omit<ExtremesOptions, 'params' | 'top'>;
}

/** The eigenvector plane at θ (see the module comment). */
export async function eigenvectorPlane(engine: LossEngine, theta: Vec, opts: EigenPlaneOptions = {}): Promise<EigenPlane> {
  const pair = opts.pair ?? 'top-bottom';
  const ext = await pointEigenvalues(engine, theta, { ...opts.extremes, params: 'all', top: pair === 'top-2' ? 2 : 0 });
  const r = ext.lanczos;
  const top = r.top;
  if (pair === 'top-2' && (!top || top.vectors.length < 2)) throw new Error('the Lanczos solve returned fewer than two top eigenvectors');
  const [vx, vy] = pair === 'top-2' ? [top!.vectors[0]!, top!.vectors[1]!] : [r.ritzMax, r.ritzMin];
  const sel = selectParams(engine.layout, 'all', engine.hessianNullCoordinates?.());
  const length = opts.length ?? 1;
  const dx = directionOf(scatter(sel, vx), length);
  const dy = directionOf(scatter(sel, vy), length);
  return {
    dx,
    dy,
    cosine: cosineOf(dx, dy),
    pair,
    lambdaX: pair === 'top-2' ? top!.values[0]! : r.lambdaMax,
    lambdaY: pair === 'top-2' ? top!.values[1]! : r.lambdaMin,
    residualX: pair === 'top-2' ? top!.residuals[0]! : r.residualMax,
    residualY: pair === 'top-2' ? top!.residuals[1]! : r.residualMin,
    extremes: { lambdaMin: ext.lambdaMin, lambdaMax: ext.lambdaMax, converged: ext.converged },
  };
}

/** The unit vector v with its largest-magnitude component made positive, times `length`, in float32. */
export function directionOf(v: ArrayLike<number>, length: number): Float32Array {
  let big = 0;
  let n2 = 0;
  for (let i = 0; i < v.length; i++) {
    if (Math.abs(v[i]!) > Math.abs(big)) big = v[i]!;
    n2 += v[i]! * v[i]!;
  }
  const s = ((big < 0 ? -1 : 1) * length) / (Math.sqrt(n2) || 1);
  return Float32Array.from(v, (x) => x * s);
}

function cosineOf(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}
