import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { symTridiagonalEigen } from '../../src/linalg/tridiagonal-eigen.js';

/** ‖T z − θ z‖ for column i of the full eigenvector matrix. */
function residual(alpha: number[], beta: number[], rows: Float64Array[], theta: number, i: number): number {
  const n = alpha.length;
  let s = 0;
  for (let r = 0; r < n; r++) {
    let tz = alpha[r] * rows[r][i];
    if (r > 0) tz += beta[r - 1] * rows[r - 1][i];
    if (r < n - 1) tz += beta[r] * rows[r + 1][i];
    s += (tz - theta * rows[r][i]) ** 2;
  }
  return Math.sqrt(s);
}

function orthonormalityError(rows: Float64Array[]): number {
  const n = rows.length;
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += rows[r][i] * rows[r][j];
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  return worst;
}

describe('symTridiagonalEigen (implicit QL, Wilkinson shift)', () => {
  it('reproduces the eigenvalues 2 − 2cos(kπ/(n+1)) of the 1-D Laplacian', () => {
    const n = 50;
    const { values } = symTridiagonalEigen(new Array(n).fill(2), new Array(n - 1).fill(-1), []);
    for (let k = 1; k <= n; k++) {
      expect(Math.abs(values[k - 1] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1))))).toBeLessThan(1e-13);
    }
  });

  it('gives orthonormal eigenvectors with tiny residuals for a random T, ascending', () => {
    const rng = new Rng(7);
    const n = 40;
    const alpha = Array.from({ length: n }, () => rng.normal() * 3);
    const beta = Array.from({ length: n - 1 }, () => rng.normal());
    const { values, rows } = symTridiagonalEigen(alpha, beta);
    expect(orthonormalityError(rows)).toBeLessThan(1e-13);
    for (let i = 0; i < n; i++) expect(residual(alpha, beta, rows, values[i], i)).toBeLessThan(1e-12);
    for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    // trace and Frobenius norm are invariants
    const tr = alpha.reduce((a, b) => a + b, 0);
    expect(Math.abs(values.reduce((a, b) => a + b, 0) - tr)).toBeLessThan(1e-12);
  });

  it('accumulates only the requested rows, identical to the full decomposition', () => {
    const rng = new Rng(3);
    const n = 25;
    const alpha = Array.from({ length: n }, () => rng.normal());
    const beta = Array.from({ length: n - 1 }, () => rng.normal());
    const full = symTridiagonalEigen(alpha, beta);
    const some = symTridiagonalEigen(alpha, beta, [0, n - 1]);
    expect(Array.from(some.values)).toEqual(Array.from(full.values));
    expect(Array.from(some.rows[0])).toEqual(Array.from(full.rows[0]));
    expect(Array.from(some.rows[1])).toEqual(Array.from(full.rows[n - 1]));
  });

  it('splits at zero couplings (block-diagonal T) and handles repeated eigenvalues', () => {
    const alpha = [3, 1, 2, 5, 2];
    const { values, rows } = symTridiagonalEigen(alpha, [0, 0, 0, 0]);
    expect(Array.from(values)).toEqual([1, 2, 2, 3, 5]);
    expect(orthonormalityError(rows)).toBe(0);

    // two identical 2×2 blocks [[1,1],[1,1]] → eigenvalues 0, 0, 2, 2
    const b = symTridiagonalEigen([1, 1, 1, 1], [1, 0, 1]);
    expect(Array.from(b.values).map((x) => Math.abs(x - Math.round(x)) < 1e-15)).toEqual([true, true, true, true]);
    expect(Array.from(b.values).map(Math.round)).toEqual([0, 0, 2, 2]);
    expect(orthonormalityError(b.rows)).toBeLessThan(1e-15);
  });

  it("resolves Wilkinson's W21+ (pairs of nearly equal eigenvalues)", () => {
    const alpha = Array.from({ length: 21 }, (_, i) => Math.abs(10 - i));
    const { values, rows } = symTridiagonalEigen(alpha, new Array(20).fill(1));
    expect(values[20]).toBeCloseTo(10.746194182903393, 13);
    expect(values[19]).toBeCloseTo(10.746194182903322, 13);
    expect(orthonormalityError(rows)).toBeLessThan(1e-13);
  });

  it('handles n = 1, n = 2 and the zero matrix', () => {
    const one = symTridiagonalEigen([-4.5], []);
    expect(Array.from(one.values)).toEqual([-4.5]);
    expect(Array.from(one.rows[0])).toEqual([1]);

    const [a, b, c] = [1, 2, -3];
    const two = symTridiagonalEigen([a, c], [b]);
    const mid = (a + c) / 2;
    const rad = Math.hypot((a - c) / 2, b);
    expect(two.values[0]).toBeCloseTo(mid - rad, 14);
    expect(two.values[1]).toBeCloseTo(mid + rad, 14);

    const zero = symTridiagonalEigen([0, 0, 0], [0, 0]);
    expect(Array.from(zero.values)).toEqual([0, 0, 0]);
  });

  it('is accurate for badly scaled entries', () => {
    const alpha = [1e8, 1, 1e-8, -1e8];
    const beta = [1e-3, 1e4, 1];
    const { values, rows } = symTridiagonalEigen(alpha, beta);
    for (let i = 0; i < 4; i++) expect(residual(alpha, beta, rows, values[i], i)).toBeLessThan(1e-7);
    expect(orthonormalityError(rows)).toBeLessThan(1e-13);
  });
});
