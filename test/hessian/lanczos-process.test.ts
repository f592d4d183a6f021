import { describe, expect, it } from 'vitest';
import { LanczosProcess } from '../../src/hessian/lanczos-process.js';
import { Rng } from '../../src/hessian/rng.js';
import { denseOperator, dotv, linspace, matvecDense, symmetricWithSpectrum } from './helpers.js';

function diagonal(d: number[]) {
  const n = d.length;
  const a = new Float64Array(n * n);
  d.forEach((x, i) => (a[i * n + i] = x));
  return { n, a };
}

describe('LanczosProcess (three-term recurrence + full reorthogonalization)', () => {
  it('keeps Q orthonormal and satisfies H q_j = β_{j−1} q_{j−1} + α_j q_j + β_j q_{j+1}', async () => {
    const eig = Float64Array.from([...linspace(0, 1, 290), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const m = symmetricWithSpectrum(eig, 1);
    const rng = new Rng(2);
    const p = new LanczosProcess(denseOperator(m), rng.normalVector(m.n), { restart: true, rng });
    for (let j = 0; j < 120; j++) await p.step(); // long past convergence of the outliers
    const q = p.basis;
    let orth = 0;
    for (let i = 0; i < q.length; i++)
      for (let j = 0; j <= i; j++) orth = Math.max(orth, Math.abs(dotv(q[i], q[j]) - (i === j ? 1 : 0)));
    expect(orth).toBeLessThan(1e-13);
    let worst = 0;
    for (let j = 0; j + 1 < q.length; j++) {
      const r = matvecDense(m.a, m.n, q[j]);
      for (let i = 0; i < m.n; i++) {
        r[i] -= p.alpha[j] * q[j][i] + p.beta[j] * q[j + 1][i];
        if (j > 0) r[i] -= p.beta[j - 1] * q[j - 1][i];
      }
      worst = Math.max(worst, Math.sqrt(dotv(r, r)));
    }
    expect(worst).toBeLessThan(1e-13 * 11);
    expect(p.matvecs).toBe(120);
    expect(p.blockStart).toBe(0);
  });

  it('detects an invariant subspace; restarts orthogonally in a new block, or stops', async () => {
    const op = denseOperator(diagonal([1, 2, 3, 4, 5, 6]));
    const v0 = Float64Array.of(1, 1, 0, 0, 0, 0); // Krylov space = span(e1, e2)

    const rng = new Rng(3);
    const restart = new LanczosProcess(op, v0, { restart: true, rng });
    await restart.step();
    await restart.step();
    expect(restart.beta[1]).toBe(0);
    expect(restart.blockStart).toBe(2);
    expect(restart.exhausted).toBe(false);
    for (let j = 2; j < 6; j++) await restart.step();
    expect(restart.exhausted).toBe(true); // ℝ⁶ is spanned
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < i; j++) expect(Math.abs(dotv(restart.basis[i], restart.basis[j]))).toBeLessThan(1e-15);
    await expect(restart.step()).rejects.toThrow(/exhausted/);

    const stop = new LanczosProcess(op, v0, { restart: false, rng: new Rng(3) });
    await stop.step();
    await stop.step();
    expect(stop.exhausted).toBe(true);
    expect(stop.size).toBe(2);
    expect(stop.alpha.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 14); // T ~ diag(1, 2)
  });
});
