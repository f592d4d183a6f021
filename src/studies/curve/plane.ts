/**
 * The plane through the two minima and the bend of a Bézier curve: origin θ₁, directions
 * u = θ₂ − θ₁ and v = the part of θ_b − θ₁ orthogonal to u (Gram–Schmidt), rescaled to ‖u‖, so
 * that both axes are in units of ‖θ₂ − θ₁‖ (the picture is not stretched). In it
 *   θ₁ = (0, 0),  θ₂ = (1, 0),  θ_b = (⟨w, u⟩/‖u‖², ‖w⊥‖/‖u‖)  with w = θ_b − θ₁,
 * and the whole curve lies in the plane: φ(t) = θ₁ + 2t(1 − t)·(θ_b − θ₁) + t²·u, i.e.
 *   (x, y)(t) = (2t(1 − t)·x_b + t², 2t(1 − t)·y_b).
 */
import { LosscapeError } from '../../core/errors.js';

export interface CurvePlane {
  /** u = θ₂ − θ₁ (float32, as the engines take it). */
  dx: Float32Array;
  /** The orthogonalized bend direction, with ‖v‖ = ‖u‖. */
  dy: Float32Array;
  /** ‖θ₂ − θ₁‖. */
  distance: number;
  /** The bend's coordinates (x_b, y_b). */
  bend: [number, number];
}

/** The plane's directions and the bend's coordinates (float64 arithmetic). */
export function curvePlane(a: Float32Array, bend: Float32Array, b: Float32Array): CurvePlane {
  const n = a.length;
  let uu = 0;
  let wu = 0;
  for (let i = 0; i < n; i++) {
    const u = b[i]! - a[i]!;
    uu += u * u;
    wu += (bend[i]! - a[i]!) * u;
  }
  if (!(uu > 0)) throw new LosscapeError('input', 'the two end points are the same weights: there is no curve to train between them');
  const c = wu / uu;
  const perp = new Float64Array(n);
  let pp = 0;
  for (let i = 0; i < n; i++) {
    perp[i] = bend[i]! - a[i]! - c * (b[i]! - a[i]!);
    pp += perp[i]! * perp[i]!;
  }
  const distance = Math.sqrt(uu);
  const yb = Math.sqrt(pp) / distance;
  const dx = new Float32Array(n);
  const dy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    dx[i] = b[i]! - a[i]!;
    // a bend on the line (y_b = 0, e.g. before training) leaves v undefined: any unit vector ⟂ u would do; use zero
    dy[i] = yb > 0 ? perp[i]! / yb : 0;
  }
  return { dx, dy, distance, bend: [c, yb] };
}

/** The curve's point at t in the plane's coordinates. */
export function curveCoordinates(t: number, bend: [number, number]): [number, number] {
  const w = 2 * t * (1 - t);
  return [w * bend[0] + t * t, w * bend[1]];
}

/** An axis "min:max:n" covering [lo, hi] with a margin of `margin`·(hi − lo) on each side. */
export function coveringAxis(lo: number, hi: number, margin: number, n: number): string {
  const pad = margin * Math.max(hi - lo, 1e-3);
  const r = (v: number) => Number(v.toPrecision(6));
  return `${r(lo - pad)}:${r(hi + pad)}:${n}`;
}
