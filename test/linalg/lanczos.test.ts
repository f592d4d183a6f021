import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { eigenvalueError, lanczos, warmStartVector } from '../../src/linalg/lanczos.js';
import {
  type DenseSymmetric,
  denseOperator,
  dotv,
  linspace,
  matvecDense,
  sortedDescending,
  spectralRadius,
  symmetricWithSpectrum,
} from '../hessian/helpers.js';

const cat = (...parts: ArrayLike<number>[]) => Float64Array.from(parts.flatMap((p) => Array.from(p)));

// Hessian-like spectra in dimension 300: a bulk plus outliers.
const positiveDefinite = cat(linspace(0.3, 1, 295), [2, 3, 5, 8, 10]);
const indefinite = cat(linspace(-0.1, 1, 290), [2, 3, 4, 5, 6, 7, 8, 9, 10, -0.5]);
const negativeDefinite = positiveDefinite.map((x) => -x);
/** [name, spectrum, seed of the eigenvectors]. */
const SPECTRA: [string, Float64Array, number][] = [
  ['positive definite', positiveDefinite, 1],
  ['indefinite', indefinite, 2],
  ['negative definite', negativeDefinite, 3],
];

function trueResidual(m: DenseSymmetric, theta: number, y: Float64Array): number {
  const hy = matvecDense(m.a, m.n, y);
  let s = 0;
  for (let i = 0; i < m.n; i++) s += (hy[i] - theta * y[i]) ** 2;
  return Math.sqrt(s);
}

/** |cos| between the Ritz vector and the eigenvector of `lambda` (assumed simple). */
function alignment(m: DenseSymmetric, lambda: number, y: Float64Array): number {
  const i = Array.from(m.eigenvalues).indexOf(lambda);
  return Math.abs(dotv(m.q[i], y));
}

describe('lanczos: both ends of the spectrum from one run', () => {
  it.each(SPECTRA)('%s, dim 300: λmax, λmin to 1e-8 of the spectral radius, with their signs', async (_name, eig, seed) => {
    const m = symmetricWithSpectrum(eig, seed);
    const rho = spectralRadius(eig);
    const lmax = Math.max(...eig);
    const lmin = Math.min(...eig);
    const op = denseOperator(m);
    const r = await lanczos(op, { tol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.lambdaMax - lmax)).toBeLessThan(1e-8 * rho);
    expect(Math.abs(r.lambdaMin - lmin)).toBeLessThan(1e-8 * rho);
    expect(Math.sign(r.lambdaMax)).toBe(Math.sign(lmax));
    expect(Math.sign(r.lambdaMin)).toBe(Math.sign(lmin));
    expect(r.matvecs).toBe(op.calls);
    expect(r.iterations).toBe(r.matvecs);
    expect(r.matvecs).toBeLessThan(200);
    // reported residuals are the true ‖H y − θ y‖ and meet the tolerance
    expect(r.residualMax).toBeLessThanOrEqual(1e-10 * rho);
    expect(r.residualMin).toBeLessThanOrEqual(1e-10 * rho);
    expect(Math.abs(trueResidual(m, r.lambdaMax, r.ritzMax) - r.residualMax)).toBeLessThan(1e-12 * rho);
    expect(Math.abs(trueResidual(m, r.lambdaMin, r.ritzMin) - r.residualMin)).toBeLessThan(1e-12 * rho);
    expect(alignment(m, lmax, r.ritzMax)).toBeGreaterThan(1 - 1e-12);
    expect(alignment(m, lmin, r.ritzMin)).toBeGreaterThan(1 - 1e-12);
    // Ritz values interlace: all inside [λmin, λmax]
    for (const t of r.ritzValues) expect(t >= lmin - 1e-12 * rho && t <= lmax + 1e-12 * rho).toBe(true);
  });

  it('dim 50, random indefinite spectrum', async () => {
    const rng = new Rng(11);
    const eig = Float64Array.from({ length: 50 }, () => -3 + 10 * rng.uniform());
    const r = await lanczos(denseOperator(symmetricWithSpectrum(eig, 12)), { tol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.lambdaMax - Math.max(...eig))).toBeLessThan(1e-8 * spectralRadius(eig));
    expect(Math.abs(r.lambdaMin - Math.min(...eig))).toBeLessThan(1e-8 * spectralRadius(eig));
  });

  it('clustered and repeated eigenvalues at both ends', async () => {
    // top: 5 repeated ×10 next to a tight cluster 4.99..4.999; bottom: −2 repeated ×5
    const eig = cat(new Array(10).fill(5), linspace(4.99, 4.999, 10), new Array(5).fill(-2), linspace(0, 1, 275));
    const m = symmetricWithSpectrum(eig, 4);
    const r = await lanczos(denseOperator(m), { tol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.lambdaMax - 5)).toBeLessThan(1e-8 * 5);
    expect(Math.abs(r.lambdaMin + 2)).toBeLessThan(1e-8 * 5);
    expect(r.residualMax).toBeLessThan(1e-9);
  });

  it('dim 1 and dim 2 are exact', async () => {
    const one = await lanczos(denseOperator({ n: 1, a: Float64Array.of(-2.5) }));
    expect(one).toMatchObject({ matvecs: 1, converged: true });
    expect(one.lambdaMax).toBeCloseTo(-2.5, 14);
    expect(one.lambdaMin).toBe(one.lambdaMax);
    expect(Math.abs(one.ritzMax[0])).toBeCloseTo(1, 15);
    expect(Math.abs(warmStartVector(one)[0])).toBeCloseTo(1, 15);

    const two = await lanczos(denseOperator({ n: 2, a: Float64Array.of(1, 2, 2, -3) }));
    expect(two.converged).toBe(true);
    expect(two.matvecs).toBeLessThanOrEqual(2);
    expect(two.lambdaMax).toBeCloseTo(-1 + Math.sqrt(8), 14);
    expect(two.lambdaMin).toBeCloseTo(-1 - Math.sqrt(8), 14);
  });

  it('gives the whole spectrum when maxIter ≥ dim (run to exhaustion with tol = 0)', async () => {
    const rng = new Rng(21);
    const eig = Float64Array.from({ length: 20 }, () => rng.normal());
    const r = await lanczos(denseOperator(symmetricWithSpectrum(eig, 22)), { tol: 0, maxIter: 50 });
    expect(r.converged).toBe(true);
    expect(r.matvecs).toBe(20);
    const want = Array.from(eig).sort((a, b) => a - b);
    want.forEach((x, i) => expect(Math.abs(r.ritzValues[i] - x)).toBeLessThan(1e-12));
  });

  it('finds exact multiplicities when run to exhaustion (3 distinct eigenvalues, dim 12)', async () => {
    const eig = cat([3, 3, 3, 3], [2, 2, 2, 2], [1, 1, 1, 1]);
    const op = denseOperator(symmetricWithSpectrum(eig, 5));
    const r = await lanczos(op, { which: 'top-k', k: 5 });
    expect(r.converged).toBe(true);
    expect(r.matvecs).toBe(12); // the Krylov space (with restarts) fills ℝ¹²
    expect(Array.from(r.top!.values).map((x) => +x.toFixed(12))).toEqual([3, 3, 3, 3, 2]);
    // the four λ = 3 Ritz vectors span the eigenspace: orthonormal
    const v = r.top!.vectors;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(dotv(v[i], v[j])).toBeCloseTo(i === j ? 1 : 0, 12);
  });

  it('recovers from a start vector that is an interior eigenvector (breakdown at step 1)', async () => {
    const m = symmetricWithSpectrum(indefinite, 6);
    const interior = 150;
    const r = await lanczos(denseOperator(m), { v0: m.q[interior], tol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.lambdaMax - 10)).toBeLessThan(1e-8 * 10);
    expect(Math.abs(r.lambdaMin + 0.5)).toBeLessThan(1e-8 * 10);
  });

  it('top-k: the k largest eigenvalues and their eigenvectors up to sign', async () => {
    const m = symmetricWithSpectrum(indefinite, 7);
    const r = await lanczos(denseOperator(m), { which: 'top-k', k: 5, tol: 1e-10 });
    expect(r.converged).toBe(true);
    const want = sortedDescending(indefinite).slice(0, 5); // 10, 9, 8, 7, 6
    expect(r.top!.values.length).toBe(5);
    r.top!.values.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-8 * 10));
    r.top!.vectors.forEach((y, i) => {
      expect(alignment(m, want[i], y)).toBeGreaterThan(1 - 1e-12);
      expect(trueResidual(m, r.top!.values[i], y)).toBeLessThan(1e-9 * 10);
      expect(Math.abs(trueResidual(m, r.top!.values[i], y) - r.top!.residuals[i])).toBeLessThan(1e-11);
    });
    expect(r.top!.values[0]).toBe(r.lambdaMax);
  });

  it("'smallest' and 'largest' converge their own end", async () => {
    const m = symmetricWithSpectrum(positiveDefinite, 8);
    const small = await lanczos(denseOperator(m), { which: 'smallest', tol: 1e-10 });
    expect(small.converged).toBe(true);
    expect(Math.abs(small.lambdaMin - 0.3)).toBeLessThan(1e-8 * 10);
    const large = await lanczos(denseOperator(m), { which: 'largest', tol: 1e-10 });
    expect(large.converged).toBe(true);
    expect(Math.abs(large.lambdaMax - 10)).toBeLessThan(1e-8 * 10);
    expect(large.matvecs).toBeLessThan(small.matvecs); // the isolated outlier converges first
  });

  it('stops at maxIter without claiming convergence', async () => {
    const r = await lanczos(denseOperator(symmetricWithSpectrum(positiveDefinite, 9)), { maxIter: 10, tol: 1e-12 });
    expect(r.converged).toBe(false);
    expect(r.matvecs).toBe(10);
  });

  it('is deterministic given the seed; other seeds agree on the eigenvalues', async () => {
    const m = symmetricWithSpectrum(indefinite, 10);
    const a = await lanczos(denseOperator(m), { seed: 3, tol: 1e-10 });
    const b = await lanczos(denseOperator(m), { seed: 3, tol: 1e-10 });
    const c = await lanczos(denseOperator(m), { seed: 4, tol: 1e-10 });
    expect(b.lambdaMax).toBe(a.lambdaMax);
    expect(b.matvecs).toBe(a.matvecs);
    expect(Array.from(b.ritzMin)).toEqual(Array.from(a.ritzMin));
    expect(Math.abs(c.lambdaMax - a.lambdaMax)).toBeLessThan(1e-8 * 10);
    expect(Math.abs(c.lambdaMin - a.lambdaMin)).toBeLessThan(1e-8 * 10);
  });

  it('warm start from a neighbouring operator saves matvecs', async () => {
    const m = symmetricWithSpectrum(positiveDefinite, 13);
    const previous = await lanczos(denseOperator(m), { tol: 1e-8 });
    // neighbour: H + εE, E symmetric Gaussian with ‖E‖₂ ≈ 2√n·ε
    const rng = new Rng(14);
    const eps = 1e-5;
    const a = Float64Array.from(m.a);
    for (let i = 0; i < m.n; i++)
      for (let j = 0; j <= i; j++) {
        const e = eps * rng.normal();
        a[i * m.n + j] += e;
        if (j !== i) a[j * m.n + i] += e;
      }
    const neighbour = { n: m.n, a };
    const cold = await lanczos(denseOperator(neighbour), { tol: 1e-8 });
    const warm = await lanczos(denseOperator(neighbour), { tol: 1e-8, v0: warmStartVector(previous) });
    expect(cold.converged && warm.converged).toBe(true);
    expect(Math.abs(warm.lambdaMax - cold.lambdaMax)).toBeLessThan(1e-8 * 10);
    expect(Math.abs(warm.lambdaMin - cold.lambdaMin)).toBeLessThan(1e-8 * 10);
    expect(Math.abs(warm.lambdaMin - previous.lambdaMin)).toBeGreaterThan(1e-8); // a different operator
    expect(warm.matvecs).toBeLessThan(0.7 * cold.matvecs);
  });

  it('warm start across a swap of the two lowest eigenvalues still finds the new λmin', async () => {
    // same eigenvectors, the bottom pair's eigenvalues exchanged: the previous λmin vector now
    // belongs to the second eigenvalue, the new λmin's vector is the previous second Ritz vector
    const bulk = Array.from(linspace(0, 1, 290));
    const top = [2, 3, 4, 5, 6, 7, 8, 9];
    const before = symmetricWithSpectrum(Float64Array.from([-0.5, -0.499, ...bulk, ...top]), 21);
    const after = symmetricWithSpectrum(Float64Array.from([-0.499, -0.5, ...bulk, ...top]), 21);
    const previous = await lanczos(denseOperator(before), { tol: 1e-8, seed: 5 });
    expect(previous.lambdaMin).toBeCloseTo(-0.5, 7);
    const tol = 1e-5;
    const warm = await lanczos(denseOperator(after), { tol, v0: warmStartVector(previous) });
    expect(warm.converged).toBe(true);
    expect(Math.abs(warm.lambdaMin - -0.5)).toBeLessThan(tol * 9);
    // with λmin's vector alone the start barely contains the new lowest eigenvector: the run
    // settles on -0.499, which has as small a residual
    const onlyMin = await lanczos(denseOperator(after), { tol, v0: warmStartVector({ ritzMax: previous.ritzMax, ritzMin: previous.ritzMin }) });
    expect(Math.abs(onlyMin.lambdaMin - -0.499)).toBeLessThan(tol * 9);
  });

  it.each(SPECTRA)("'eigenvalue' convergence, %s: fewer matvecs than 'residual' at the same tol, values within tol", async (_name, eig, seed) => {
    const m = symmetricWithSpectrum(eig, seed);
    const rho = spectralRadius(eig);
    const lmax = Math.max(...eig);
    const lmin = Math.min(...eig);
    for (const tol of [1e-6, 1e-9]) {
      const byResidual = await lanczos(denseOperator(m), { tol, convergence: 'residual' });
      const byValue = await lanczos(denseOperator(m), { tol, convergence: 'eigenvalue' });
      expect(byValue.converged).toBe(true);
      expect(byValue.matvecs).toBeLessThan(byResidual.matvecs);
      // Ritz values approach the ends from inside: the errors are one-sided
      expect(lmax - byValue.lambdaMax).toBeGreaterThanOrEqual(-1e-13 * rho);
      expect(byValue.lambdaMin - lmin).toBeGreaterThanOrEqual(-1e-13 * rho);
      expect(lmax - byValue.lambdaMax).toBeLessThanOrEqual(tol * rho);
      expect(byValue.lambdaMin - lmin).toBeLessThanOrEqual(tol * rho);
      // the vectors are not converged to tol: the residual test would not have stopped yet
      expect(Math.max(byValue.residualMax, byValue.residualMin)).toBeGreaterThan(tol * rho);
    }
  });

  it('eigenvalueError: r²/δ with δ from the neighbours, never above r, r where no gap is known', () => {
    const values = [-1, 0.5, 0.6, 3];
    const r = [1e-3, 0.1, 0.2, 1e-2];
    const res = (i: number) => r[i]!;
    expect(eigenvalueError(values, res, 0)).toBeCloseTo(1e-6 / (1.5 - 0.1), 15);
    expect(eigenvalueError(values, res, 3)).toBeCloseTo(1e-4 / (2.4 - 0.2), 15);
    // interior value: the nearer neighbour sets δ; here δ = 0.1 − 0.2 < 0, so no gap: r
    expect(eigenvalueError(values, res, 1)).toBe(0.1);
    // a large residual against a small gap: the bound r itself
    expect(eigenvalueError([0, 0.011], (i) => [0.01, 0][i]!, 0)).toBeCloseTo(0.01 ** 2 / 0.011, 15);
    expect(eigenvalueError([0, 0.02], (i) => [0.05, 0][i]!, 0)).toBe(0.05);
    expect(eigenvalueError([2], () => 0.3, 0)).toBe(0.3);
  });

  it("'eigenvalue' convergence estimates the true error from above on a known spectrum", async () => {
    // the error estimate of the stopping Ritz values bounds their true error (Kato–Temple)
    const m = symmetricWithSpectrum(indefinite, 5);
    const rho = spectralRadius(indefinite);
    for (const maxIter of [20, 30, 40, 60]) {
      const r = await lanczos(denseOperator(m), { tol: 0, maxIter, convergence: 'eigenvalue' });
      const v = r.ritzValues;
      const residuals = (i: number) => (i === 0 ? r.residualMin : i === v.length - 1 ? r.residualMax : Infinity);
      const estMin = eigenvalueError(v, (i) => (i === 1 ? 0 : residuals(i)), 0);
      const trueMin = r.lambdaMin - Math.min(...indefinite);
      expect(trueMin).toBeGreaterThanOrEqual(-1e-13 * rho);
      // with the neighbour's residual taken as 0 the estimate is the smallest it can be; still above
      expect(trueMin).toBeLessThanOrEqual(estMin * (1 + 1e-9) + 1e-13 * rho);
    }
  });

  it('rejects a start vector of the wrong length or zero norm', async () => {
    const op = denseOperator({ n: 2, a: Float64Array.of(1, 0, 0, 1) });
    await expect(lanczos(op, { v0: new Float64Array(3) })).rejects.toThrow(/length/);
    await expect(lanczos(op, { v0: new Float64Array(2) })).rejects.toThrow(/nonzero/);
  });
});
