/**
 * Dense vector kernels used by the Krylov methods. Working vectors are
 * Float64Array; stored basis vectors may be Float32Array (half the memory
 * traffic of reorthogonalization, for operators that are only float32-accurate).
 */

import { VectorArena } from './wasm-kernels.js';

/** A stored Krylov basis vector. */
export type BasisVector = Float64Array | Float32Array;

export function dot(x: BasisVector, y: Float64Array): number {
  return x instanceof Float64Array ? dot64(x, y) : dot32(x, y);
}

// Four partial sums: a single running sum is bound by the latency of one floating-point add
// per element; four independent chains run ~3× faster in V8.
function dot64(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i]! * y[i]!;
    s1 += x[i + 1]! * y[i + 1]!;
    s2 += x[i + 2]! * y[i + 2]!;
    s3 += x[i + 3]! * y[i + 3]!;
  }
  for (; i < n; i++) s0 += x[i]! * y[i]!;
  return s0 + s1 + (s2 + s3);
}

function dot32(x: Float32Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/** [qᵀw, wᵀw] in one pass (into `out`). */
export function dotAndNormSq(q: BasisVector, w: Float64Array, out: Float64Array): Float64Array {
  if (q instanceof Float32Array) return dotAndNormSq32(q, w, out);
  const n = w.length;
  let a0 = 0;
  let a1 = 0;
  let b0 = 0;
  let b1 = 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const w0 = w[i]!;
    const w1 = w[i + 1]!;
    a0 += q[i]! * w0;
    a1 += q[i + 1]! * w1;
    b0 += w0 * w0;
    b1 += w1 * w1;
  }
  for (; i < n; i++) {
    a0 += q[i]! * w[i]!;
    b0 += w[i]! * w[i]!;
  }
  out[0] = a0 + a1;
  out[1] = b0 + b1;
  return out;
}

/** Float32 q: WebAssembly SIMD on arena vectors, else two passes. */
function dotAndNormSq32(q: Float32Array, w: Float64Array, out: Float64Array): Float64Array {
  if (VectorArena.of(w)?.dotAndNormSq(q, w, out)) return out;
  out[0] = dot32(q, w);
  out[1] = dot64(w, w);
  return out;
}

/**
 * w ← w − a·q − b·p (the Lanczos three-term recurrence; b = 0 skips p) and ‖w‖², in one
 * pass over the vectors.
 */
export function recurrence(w: Float64Array, a: number, q: BasisVector, b: number, p: BasisVector | undefined): number {
  if (q instanceof Float64Array && (p === undefined || p instanceof Float64Array)) return recurrence64(w, a, q, b, p);
  if (q instanceof Float32Array && (p === undefined || p instanceof Float32Array)) return recurrence32(w, a, q, b, p);
  axpy(-a, q, w);
  if (p !== undefined && b !== 0) axpy(-b, p, w);
  return dot64(w, w);
}

function recurrence64(w: Float64Array, a: number, q: Float64Array, b: number, p: Float64Array | undefined): number {
  const n = w.length;
  let s0 = 0;
  let s1 = 0;
  if (p === undefined || b === 0) {
    let i = 0;
    for (; i + 2 <= n; i += 2) {
      const u = w[i]! - a * q[i]!;
      const v = w[i + 1]! - a * q[i + 1]!;
      w[i] = u;
      w[i + 1] = v;
      s0 += u * u;
      s1 += v * v;
    }
    for (; i < n; i++) {
      const u = w[i]! - a * q[i]!;
      w[i] = u;
      s0 += u * u;
    }
  } else {
    let i = 0;
    for (; i + 2 <= n; i += 2) {
      const u = w[i]! - a * q[i]! - b * p[i]!;
      const v = w[i + 1]! - a * q[i + 1]! - b * p[i + 1]!;
      w[i] = u;
      w[i + 1] = v;
      s0 += u * u;
      s1 += v * v;
    }
    for (; i < n; i++) {
      const u = w[i]! - a * q[i]! - b * p[i]!;
      w[i] = u;
      s0 += u * u;
    }
  }
  return s0 + s1;
}

/** Float32 q, p: WebAssembly SIMD on arena vectors, else the generic passes. */
function recurrence32(w: Float64Array, a: number, q: Float32Array, b: number, p: Float32Array | undefined): number {
  const fast = VectorArena.of(w)?.recurrence(w, a, q, b, p);
  if (fast !== undefined && fast !== null) return fast;
  axpy(-a, q, w);
  if (p !== undefined && b !== 0) axpy(-b, p, w);
  return dot64(w, w);
}

export function norm(x: Float64Array): number {
  return Math.sqrt(dot(x, x));
}

/** y ← y + a·x */
export function axpy(a: number, x: BasisVector, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
}

/** x ← a·x */
export function scale(a: number, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] *= a;
}

/**
 * Classical Gram–Schmidt against an orthonormal basis with the DGKS
 * refinement (Daniel, Gragg, Kaufman & Stewart 1976; ARPACK's dgetv0/dsaitr):
 * w ← (I − Q Qᵀ) w, repeated once more only when the first pass removed
 * most of w (‖w′‖ < ‖w‖/√2), the case where one pass loses orthogonality
 * ("twice is enough", Giraud et al. 2005). In place; returns the passes made.
 * Each pass streams the whole basis twice (dots, then updates), the cost that
 * dominates a Lanczos step on large models, so skipping the unneeded second
 * pass halves it.
 */
export function reorthogonalize(w: Float64Array, basis: readonly BasisVector[], alwaysTwice = false): number {
  let before = norm(w);
  const h = new Float64Array(basis.length);
  for (let pass = 1; pass <= 2; pass++) {
    projections(basis, w, h);
    subtractCombination(basis, h, w);
    const after = norm(w);
    if (pass === 1 && !alwaysTwice && after >= Math.SQRT1_2 * before) return 1;
    before = after;
  }
  return 2;
}

/** h_k = q_kᵀw for every basis vector; returns max_k |h_k|. */
export function projectionsOf(w: Float64Array, basis: readonly BasisVector[], h: Float64Array): number {
  if (basis.length === 0) return 0;
  projections(basis, w, h);
  let worst = 0;
  for (let k = 0; k < basis.length; k++) worst = Math.max(worst, Math.abs(h[k]!));
  return worst;
}

/** w ← w − Σ h_k q_k over the k with |h_k| > threshold; returns which k (1) were used. */
export function subtractAbove(w: Float64Array, basis: readonly BasisVector[], h: Float64Array, threshold: number): Uint8Array {
  const picked = new Uint8Array(basis.length);
  const vs: BasisVector[] = [];
  const cs: number[] = [];
  for (let k = 0; k < basis.length; k++) {
    if (Math.abs(h[k]!) > threshold) {
      picked[k] = 1;
      vs.push(basis[k]!);
      cs.push(h[k]!);
    }
  }
  if (vs.length > 0) subtractCombination(vs, Float64Array.from(cs), w);
  return picked;
}

/** h_k = q_kᵀ w for every basis vector (kernels per element type keep V8's loads monomorphic). */
function projections(basis: readonly BasisVector[], w: Float64Array, h: Float64Array): void {
  if (basis[0] instanceof Float32Array) projections32(basis as Float32Array[], w, h);
  else projections64(basis as Float64Array[], w, h);
}

/** h_k = q_kᵀ w for every basis vector, four at a time (w is read once per four). */
function projections64(basis: readonly Float64Array[], w: Float64Array, h: Float64Array): void {
  const n = w.length;
  let k = 0;
  for (; k + 4 <= basis.length; k += 4) {
    const q0 = basis[k]!;
    const q1 = basis[k + 1]!;
    const q2 = basis[k + 2]!;
    const q3 = basis[k + 3]!;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      s0 += q0[i]! * wi;
      s1 += q1[i]! * wi;
      s2 += q2[i]! * wi;
      s3 += q3[i]! * wi;
    }
    h[k] = s0;
    h[k + 1] = s1;
    h[k + 2] = s2;
    h[k + 3] = s3;
  }
  for (; k < basis.length; k++) h[k] = dot(basis[k]!, w);
}

/** h_k = q_kᵀ w over a float32 basis: WebAssembly SIMD for arena vectors, else one dot per vector. */
function projections32(basis: readonly Float32Array[], w: Float64Array, h: Float64Array): void {
  if (VectorArena.of(w)?.projections(basis, w, h)) return;
  for (let k = 0; k < basis.length; k++) h[k] = dot32(basis[k]!, w);
}

/** w ← w − Σ_k h_k q_k. */
function subtractCombination(basis: readonly BasisVector[], h: Float64Array, w: Float64Array): void {
  if (basis[0] instanceof Float32Array) subtractCombination32(basis as Float32Array[], h, w);
  else subtractCombination64(basis as Float64Array[], h, w);
}

/** w ← w − Σ_k h_k q_k, eight (then four) basis vectors per sweep (w is written once per sweep). */
function subtractCombination64(basis: readonly Float64Array[], h: Float64Array, w: Float64Array): void {
  const n = w.length;
  let k = 0;
  for (; k + 8 <= basis.length; k += 8) {
    const q0 = basis[k]!;
    const q1 = basis[k + 1]!;
    const q2 = basis[k + 2]!;
    const q3 = basis[k + 3]!;
    const q4 = basis[k + 4]!;
    const q5 = basis[k + 5]!;
    const q6 = basis[k + 6]!;
    const q7 = basis[k + 7]!;
    const h0 = h[k]!;
    const h1 = h[k + 1]!;
    const h2 = h[k + 2]!;
    const h3 = h[k + 3]!;
    const h4 = h[k + 4]!;
    const h5 = h[k + 5]!;
    const h6 = h[k + 6]!;
    const h7 = h[k + 7]!;
    for (let i = 0; i < n; i++) {
      w[i] = w[i]! - h0 * q0[i]! - h1 * q1[i]! - h2 * q2[i]! - h3 * q3[i]! - h4 * q4[i]! - h5 * q5[i]! - h6 * q6[i]! - h7 * q7[i]!;
    }
  }
  for (; k + 4 <= basis.length; k += 4) {
    const q0 = basis[k]!;
    const q1 = basis[k + 1]!;
    const q2 = basis[k + 2]!;
    const q3 = basis[k + 3]!;
    const h0 = h[k]!;
    const h1 = h[k + 1]!;
    const h2 = h[k + 2]!;
    const h3 = h[k + 3]!;
    for (let i = 0; i < n; i++) w[i] = w[i]! - h0 * q0[i]! - h1 * q1[i]! - h2 * q2[i]! - h3 * q3[i]!;
  }
  for (; k < basis.length; k++) axpy(-h[k]!, basis[k]!, w);
}

/** w ← w − Σ_k h_k q_k over a float32 basis: WebAssembly SIMD for arena vectors, else one axpy per vector. */
function subtractCombination32(basis: readonly Float32Array[], h: Float64Array, w: Float64Array): void {
  if (VectorArena.of(w)?.subtract(basis, h, w)) return;
  for (let k = 0; k < basis.length; k++) axpy(-h[k]!, basis[k]!, w);
}

/** y = Σ_k c_k · basis_k (a vector in the span of the basis), four basis vectors per sweep. */
export function combine(basis: readonly BasisVector[], c: ArrayLike<number>, dim: number): Float64Array {
  const h = Float64Array.from({ length: basis.length }, (_, k) => -c[k]!);
  // a basis in WebAssembly memory: sum there (SIMD), hand back an ordinary array
  const arena = basis.length > 0 ? VectorArena.of(basis[0]!) : null;
  if (arena) {
    const y = arena.float64(dim);
    subtractCombination(basis, h, y);
    return Float64Array.from(y);
  }
  const y = new Float64Array(dim);
  subtractCombination(basis, h, y);
  return y;
}
