/** Dense Float64Array vector kernels used by the Krylov methods. */

export function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export function norm(x: Float64Array): number {
  return Math.sqrt(dot(x, x));
}

/** y ← y + a·x */
export function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
}

/** x ← a·x */
export function scale(a: number, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] *= a;
}

/**
 * Classical Gram–Schmidt against an orthonormal basis, applied twice
 * ("twice is enough", Giraud et al. 2005): w ← (I − Q Qᵀ)² w, in place.
 */
export function reorthogonalize(w: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    const h = basis.map((q) => dot(q, w));
    for (let i = 0; i < basis.length; i++) axpy(-h[i], basis[i], w);
  }
}

/** y = Σ_k c_k · basis_k (a vector in the span of the basis). */
export function combine(basis: readonly Float64Array[], c: ArrayLike<number>, dim: number): Float64Array {
  const y = new Float64Array(dim);
  for (let k = 0; k < basis.length; k++) if (c[k] !== 0) axpy(c[k], basis[k], y);
  return y;
}
