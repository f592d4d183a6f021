import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { PYHESSIAN_SIGMA_SQUARED, spectralDensity } from '../../src/linalg/density.js';
import { type DenseSymmetric, denseOperator, dotv, linspace, matvecDense, symmetricWithSpectrum } from '../hessian/helpers.js';

const cat = (...parts: ArrayLike<number>[]) => Float64Array.from(parts.flatMap((p) => Array.from(p)));

function trapezoid(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 1; i < x.length; i++) s += 0.5 * (x[i] - x[i - 1]) * (y[i] + y[i - 1]);
  return s;
}

/** Var[vᵀ B v] for v = z/√n, z Rademacher: 2 Σ_{i≠j} B_ij² / n². */
function rademacherQuadraticFormVariance(b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) s += b[i * n + j] ** 2;
  return (2 * s) / (n * n);
}

function square(m: DenseSymmetric): Float64Array {
  const n = m.n;
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const col = Float64Array.from({ length: n }, (_, i) => m.a[i * n + j]);
    const hc = matvecDense(m.a, n, col);
    for (let i = 0; i < n; i++) out[i * n + j] = hc[i];
  }
  return out;
}

// three clusters of 100 eigenvalues each, around −1, 2 and 5
const clusters = cat(linspace(-1.01, -0.99, 100), linspace(1.99, 2.01, 100), linspace(4.99, 5.01, 100));

describe('spectralDensity (stochastic Lanczos quadrature, PyHessian-style)', () => {
  it('integrates to 1, weights sum to 1 per probe, density ≥ 0, PyHessian broadening', async () => {
    const m = symmetricWithSpectrum(clusters, 1);
    const op = denseOperator(m);
    const r = await spectralDensity(op, { probes: 3, seed: 2 });
    expect(r.matvecs).toBe(3 * 90);
    expect(op.calls).toBe(r.matvecs);
    expect(r.grid.length).toBe(10000);
    expect(r.nodes.length).toBe(3);
    for (const w of r.weights) expect(Math.abs(w.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
    expect(r.density.every((x) => x >= 0)).toBe(true);
    expect(Math.abs(trapezoid(r.grid, r.density) - 1)).toBeLessThan(1e-6);
    const width = Math.max(...r.nodes.map((t) => t[t.length - 1])) - Math.min(...r.nodes.map((t) => t[0]));
    expect(r.sigma).toBeCloseTo(Math.sqrt(PYHESSIAN_SIGMA_SQUARED * Math.max(1, width)), 15);
  });

  it('peaks at the eigenvalue clusters, with about a third of the mass each', async () => {
    const r = await spectralDensity(denseOperator(symmetricWithSpectrum(clusters, 3)), {
      probes: 5,
      iterations: 60,
      seed: 4,
      sigma: 0.05,
    });
    const peaks: number[] = [];
    for (let i = 1; i + 1 < r.grid.length; i++) {
      if (r.density[i] > r.density[i - 1] && r.density[i] >= r.density[i + 1] && r.density[i] > 0.1) peaks.push(r.grid[i]);
    }
    expect(peaks.length).toBe(3);
    [-1, 2, 5].forEach((c, i) => expect(Math.abs(peaks[i] - c)).toBeLessThan(0.02));
    const massNear = (c: number) => {
      const inside = r.grid.map((t) => (Math.abs(t - c) < 0.5 ? 1 : 0));
      return trapezoid(
        r.grid,
        r.density.map((d, i) => d * inside[i]),
      );
    };
    for (const c of [-1, 2, 5]) expect(Math.abs(massNear(c) - 1 / 3)).toBeLessThan(0.1);
    // nothing between the clusters
    const gap = r.grid.findIndex((t) => t >= 0.5);
    expect(r.density[gap]).toBeLessThan(1e-12);
  });

  it('moments: Σ w θ ≈ tr(H)/n and Σ w θ² ≈ tr(H²)/n (within 4 standard errors over probes)', async () => {
    const rng = new Rng(5);
    const eig = Float64Array.from({ length: 200 }, (_, i) => (i < 4 ? 3 + i : rng.normal()));
    const m = symmetricWithSpectrum(eig, 6);
    const n = m.n;
    const probes = 40;
    const r = await spectralDensity(denseOperator(m), { probes, iterations: 30, seed: 7, gridPoints: 2000 });
    const moment = (p: number, k: number) => r.weights[p].reduce((s, w, j) => s + w * r.nodes[p][j] ** k, 0);
    const mean = (k: number) => Array.from({ length: probes }, (_, p) => moment(p, k)).reduce((a, b) => a + b) / probes;
    const trH = eig.reduce((a, b) => a + b, 0);
    const trH2 = eig.reduce((a, b) => a + b * b, 0);
    const sd1 = Math.sqrt(rademacherQuadraticFormVariance(m.a, n) / probes);
    const sd2 = Math.sqrt(rademacherQuadraticFormVariance(square(m), n) / probes);
    expect(Math.abs(mean(1) - trH / n)).toBeLessThan(4 * sd1);
    expect(Math.abs(mean(2) - trH2 / n)).toBeLessThan(4 * sd2);
    // the broadened density keeps the first moment
    const firstMoment = trapezoid(
      r.grid,
      r.density.map((d, i) => d * r.grid[i]),
    );
    expect(Math.abs(firstMoment - mean(1))).toBeLessThan(1e-6);
  });

  it('is exact Gauss quadrature: nodes are eigenvalues, weights Σ (uᵢᵀv)² per eigenvalue, when run to exhaustion', async () => {
    const eig = cat([-2, -2, -2], linspace(0, 1, 20), [4, 4]);
    const m = symmetricWithSpectrum(eig, 8);
    const n = m.n;
    const r = await spectralDensity(denseOperator(m), { iterations: 100, seed: 9, gridPoints: 500 });
    // 22 distinct eigenvalues; rounding may also reveal extra copies of the repeated ones (weight ≈ 0)
    expect(r.matvecs).toBeGreaterThanOrEqual(22);
    expect(r.matvecs).toBeLessThanOrEqual(n);
    // probe p is the p-th Rademacher draw of the seed's 'density' stream, scaled to unit norm
    const v = new Rng(9, 'density').rademacherVector(n).map((x) => x / Math.sqrt(n));
    const distinct = [-2, ...linspace(0, 1, 20), 4];
    for (const theta of r.nodes[0]) expect(Math.min(...distinct.map((l) => Math.abs(l - theta)))).toBeLessThan(1e-12);
    for (const lambda of distinct) {
      const want = eig.reduce((s, l, i) => (l === lambda ? s + dotv(m.q[i], v) ** 2 : s), 0);
      const got = r.weights[0].reduce((s, w, j) => (Math.abs(r.nodes[0][j] - lambda) < 1e-9 ? s + w : s), 0);
      expect(Math.abs(got - want)).toBeLessThan(1e-12);
    }
  });

  it('dim 1: a single Gaussian at the eigenvalue', async () => {
    const r = await spectralDensity(denseOperator({ n: 1, a: Float64Array.of(3) }), { gridPoints: 1001 });
    expect(r.matvecs).toBe(1);
    expect(Array.from(r.nodes[0])).toEqual([3]);
    expect(Array.from(r.weights[0])).toEqual([1]);
    expect(r.grid[500]).toBeCloseTo(3, 12);
    expect(r.density[500]).toBeCloseTo(1 / (Math.sqrt(2 * Math.PI) * r.sigma), 8);
    expect(Math.abs(trapezoid(r.grid, r.density) - 1)).toBeLessThan(1e-9);
  });

  it('evaluates on a given grid and is deterministic given the seed', async () => {
    const m = symmetricWithSpectrum(clusters, 10);
    const grid = linspace(-2, 6, 801);
    const a = await spectralDensity(denseOperator(m), { grid, sigma: 0.1, seed: 1, iterations: 20 });
    const b = await spectralDensity(denseOperator(m), { grid, sigma: 0.1, seed: 1, iterations: 20 });
    expect(a.grid).toBe(grid);
    expect(Array.from(a.density)).toEqual(Array.from(b.density));
    expect(Math.abs(trapezoid(grid, a.density) - 1)).toBeLessThan(1e-6);
  });
});
