/**
 * The weights at a point (α, β) of the plane θ + α·d1 + β·d2, in the two precisions losscape
 * uses: float32 in the reference code's order of operations (surfaces), and float64 (Hessian
 * maps, the eigen.json convention).
 */
import type { Vec } from './layout.js';

/** w = θ + (α·d1 + β·d2) in float32 (the reference code's order of operations). */
export function pointWeights(
  theta: Float32Array,
  d1: Float32Array,
  d2: Float32Array,
  a: number,
  b: number,
  out: Float32Array = new Float32Array(theta.length),
): Float32Array {
  const af = Math.fround(a);
  const bf = Math.fround(b);
  for (let i = 0; i < theta.length; i++) {
    out[i] = theta[i]! + Math.fround(Math.fround(af * d1[i]!) + Math.fround(bf * d2[i]!));
  }
  return out;
}

/** θ + a·dx + b·dy in float64 (float32 weights widened, then the combination in float64). */
export function planePoint64(theta: Vec, dx: Vec, dy: Vec | undefined, a: number, b: number): Float64Array {
  const w = new Float64Array(theta.length);
  for (let i = 0; i < w.length; i++) w[i] = theta[i]! + a * dx[i]! + (dy ? b * dy[i]! : 0);
  return w;
}
