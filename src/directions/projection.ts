/**
 * Where a point of parameter space lies relative to the plane θ + α·δ + β·η: the (α, β) of its
 * orthogonal projection onto the plane (least squares in parameter space), and its distance off
 * the plane. A point on the plane projects onto itself with distance 0.
 */

export interface PlaneProjection {
  /** Plane coordinates of the projection (the units of the grid's α and β axes). */
  alpha: number;
  beta: number;
  /** ‖w − θ − αδ − βη‖: the distance from the plane. */
  offPlane: number;
  /** ‖w − θ‖. */
  distance: number;
}

/** Project w onto the plane through θ spanned by dx, dy (dy absent: the line θ + α·dx). */
export function projectOntoPlane(theta: ArrayLike<number>, dx: ArrayLike<number>, dy: ArrayLike<number> | undefined, w: ArrayLike<number>): PlaneProjection {
  const n = theta.length;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  let xd = 0;
  let yd = 0;
  for (let i = 0; i < n; i++) {
    const d = w[i]! - theta[i]!;
    const x = dx[i]!;
    const y = dy ? dy[i]! : 0;
    xx += x * x;
    yy += y * y;
    xy += x * y;
    xd += x * d;
    yd += y * d;
  }
  const [alpha, beta] = solveGram(xx, yy, xy, xd, yd);
  let off = 0;
  let dist = 0;
  for (let i = 0; i < n; i++) {
    const d = w[i]! - theta[i]!;
    const r = d - alpha * dx[i]! - (dy ? beta * dy[i]! : 0);
    off += r * r;
    dist += d * d;
  }
  return { alpha, beta, offPlane: Math.sqrt(off), distance: Math.sqrt(dist) };
}

/** Solve [[xx, xy], [xy, yy]]·[α, β] = [xd, yd]; a degenerate y (zero or ∥ x) gets β = 0. */
function solveGram(xx: number, yy: number, xy: number, xd: number, yd: number): [number, number] {
  if (!(xx > 0)) return [0, 0];
  const det = xx * yy - xy * xy;
  if (!(det > 1e-12 * xx * yy)) return [xd / xx, 0];
  return [(yy * xd - xy * yd) / det, (xx * yd - xy * xd) / det];
}
