/**
 * Eigen-decomposition of a symmetric tridiagonal matrix T = tridiag(β, α, β)
 * by the implicit QL algorithm with Wilkinson shift (Golub & Van Loan §8.3;
 * EISPACK tql2 / Numerical Recipes tqli). T = Z diag(θ) Zᵀ with Z orthogonal.
 *
 * Lanczos needs only a few rows of Z (the last row for residuals β_m·z_{m,i},
 * the first row for quadrature weights z_{1,i}²), so the Givens rotations can
 * be accumulated into just the requested rows: O(n) per rotation per row.
 */

export interface TridiagonalEigen {
  /** Eigenvalues θ_1 ≤ … ≤ θ_n (ascending). */
  values: Float64Array;
  /**
   * rows[r][i] = Z[rowIndices[r]][i]: component rowIndices[r] of the unit
   * eigenvector belonging to values[i]. With all rows, column i of the
   * stacked rows is eigenvector i.
   */
  rows: Float64Array[];
}

const MAX_SWEEPS_PER_VALUE = 60;

/**
 * @param alpha diagonal, length n
 * @param beta off-diagonal, beta[i] = T[i][i+1]; length ≥ n − 1 (extra entries ignored)
 * @param rowIndices rows of Z to accumulate; default all rows 0..n−1; [] for values only
 */
export function symTridiagonalEigen(alpha: ArrayLike<number>, beta: ArrayLike<number>, rowIndices?: readonly number[]): TridiagonalEigen {
  const n = alpha.length;
  const d = Float64Array.from(alpha);
  const e = new Float64Array(n); // e[i] couples i and i+1; e[n−1] = 0
  for (let i = 0; i + 1 < n; i++) e[i] = beta[i];
  const rowsWanted = rowIndices ?? Array.from({ length: n }, (_, i) => i);
  const z = rowsWanted.map((r) => {
    const row = new Float64Array(n);
    row[r] = 1;
    return row;
  });

  for (let l = 0; l < n; l++) {
    let sweeps = 0;
    for (;;) {
      // Find the first negligible off-diagonal e[m] at or after l: T splits there.
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break; // d[l] is an eigenvalue
      if (++sweeps > MAX_SWEEPS_PER_VALUE) throw new Error('symTridiagonalEigen: no convergence');

      // Wilkinson shift: eigenvalue of the leading 2×2 block closer to d[l].
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      // Chase the bulge from the bottom of the block up to l with Givens rotations.
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: the rotation is trivial, the block splits.
          d[i + 1] -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (const row of z) {
          const zi1 = row[i + 1];
          row[i + 1] = s * row[i] + c * zi1;
          row[i] = c * row[i] - s * zi1;
        }
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }

  // Sort ascending, permuting the columns of the accumulated rows alike.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = Float64Array.from(order, (k) => d[k]);
  const rows = z.map((row) => Float64Array.from(order, (k) => row[k]));
  return { values, rows };
}
