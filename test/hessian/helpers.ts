/** Dense symmetric test matrices with a chosen spectrum: A = Q diag(λ) Qᵀ. */

import { Rng } from '../../src/core/rng.js';
import type { SymOperator } from '../../src/linalg/operator.js';

export interface DenseSymmetric {
  n: number;
  /** Row-major n × n. */
  a: Float64Array;
  /** Eigenvalues in the order of q (as given). */
  eigenvalues: Float64Array;
  /** Orthonormal eigenvectors, q[i] belongs to eigenvalues[i]. */
  q: Float64Array[];
}

/** Orthonormal basis of ℝⁿ: Gram–Schmidt (applied twice) of seeded Gaussian vectors. */
export function randomOrthonormal(n: number, seed: number): Float64Array[] {
  const rng = new Rng(seed);
  const q: Float64Array[] = [];
  while (q.length < n) {
    const v = rng.normalVector(n);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let h = 0;
        for (let i = 0; i < n; i++) h += u[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= h * u[i];
      }
    }
    let nrm = 0;
    for (let i = 0; i < n; i++) nrm += v[i] * v[i];
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < n; i++) v[i] /= nrm;
    q.push(v);
  }
  return q;
}

export function symmetricWithSpectrum(eigenvalues: ArrayLike<number>, seed: number): DenseSymmetric {
  const n = eigenvalues.length;
  const q = randomOrthonormal(n, seed);
  const a = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const lam = eigenvalues[k];
    const u = q[k];
    for (let i = 0; i < n; i++) {
      const li = lam * u[i];
      const row = i * n;
      for (let j = 0; j < n; j++) a[row + j] += li * u[j];
    }
  }
  // Exact symmetry (rounding makes a_ij and a_ji differ by ulps).
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) {
      const s = 0.5 * (a[i * n + j] + a[j * n + i]);
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  return { n, a, eigenvalues: Float64Array.from(eigenvalues), q };
}

export function matvecDense(a: Float64Array, n: number, v: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += a[row + j] * v[j];
    y[i] = s;
  }
  return y;
}

/** SymOperator over a dense matrix, counting matvecs and checking v is not mutated. */
export function denseOperator(m: Pick<DenseSymmetric, 'a' | 'n'>): SymOperator & { calls: number } {
  const op = {
    dim: m.n,
    calls: 0,
    matvec: async (v: Float64Array) => {
      op.calls++;
      const copy = Float64Array.from(v);
      const y = matvecDense(m.a, m.n, v);
      for (let i = 0; i < v.length; i++) if (v[i] !== copy[i]) throw new Error('v mutated');
      return y;
    },
  };
  return op;
}

export function linspace(a: number, b: number, count: number): Float64Array {
  if (count === 1) return Float64Array.of(a);
  return Float64Array.from({ length: count }, (_, i) => a + ((b - a) * i) / (count - 1));
}

export function dotv(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export function sortedDescending(x: ArrayLike<number>): number[] {
  return Array.from(x).sort((a, b) => b - a);
}

export function spectralRadius(x: ArrayLike<number>): number {
  return Math.max(...Array.from(x, Math.abs));
}
