import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { LanczosProcess } from '../../src/linalg/lanczos-process.js';
import { symTridiagonalEigen } from '../../src/linalg/tridiagonal-eigen.js';
import { denseOperator, dotv, linspace, matvecDense, symmetricWithSpectrum } from '../hessian/helpers.js';

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
    for (let i = 0; i < q.length; i++) for (let j = 0; j <= i; j++) orth = Math.max(orth, Math.abs(dotv(q[i], q[j]) - (i === j ? 1 : 0)));
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
    for (let i = 0; i < 6; i++) for (let j = 0; j < i; j++) expect(Math.abs(dotv(restart.basis[i], restart.basis[j]))).toBeLessThan(1e-15);
    await expect(restart.step()).rejects.toThrow(/exhausted/);

    const stop = new LanczosProcess(op, v0, { restart: false, rng: new Rng(3) });
    await stop.step();
    await stop.step();
    expect(stop.exhausted).toBe(true);
    expect(stop.size).toBe(2);
    expect(stop.alpha.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 14); // T ~ diag(1, 2)
  });

  it('partial reorthogonalization: semi-orthogonal basis, the same Ritz values, fewer full sweeps', async () => {
    const eig = Float64Array.from([...linspace(0, 1, 290), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const m = symmetricWithSpectrum(eig, 1);
    const v0 = new Rng(2).normalVector(m.n);
    const full = new LanczosProcess(denseOperator(m), v0, { restart: true, rng: new Rng(2) });
    const part = new LanczosProcess(denseOperator(m), v0, { restart: true, rng: new Rng(2), reorthogonalization: 'partial' });
    for (let j = 0; j < 120; j++) {
      await full.step();
      await part.step();
    }
    expect(full.reorthogonalizations).toBe(120);
    expect(part.reorthogonalizations).toBeLessThan(90);
    expect(part.reorthogonalizations).toBeGreaterThan(0); // the outliers converge: orthogonality must be restored
    const q = part.basis;
    let orth = 0;
    for (let i = 0; i < q.length; i++) for (let j = 0; j < i; j++) orth = Math.max(orth, Math.abs(dotv(q[i], q[j])));
    expect(orth).toBeLessThan(Math.sqrt(2 ** -53) * 10); // semi-orthogonality
    const ritz = (p: LanczosProcess) => symTridiagonalEigen(p.alpha, p.beta.slice(0, p.size - 1), []).values;
    const a = ritz(full);
    const b = ritz(part);
    // the extreme Ritz values agree to working precision (no ghost copies at the ends)
    for (const i of [0, 1, 2, a.length - 1, a.length - 2, a.length - 3]) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-12 * 11);
  });

  it("partial reorthogonalization with a noisy (float32-like) operator: orthogonality kept at the operator's precision", async () => {
    const eig = Float64Array.from([...linspace(-0.5, 1, 390), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const m = symmetricWithSpectrum(eig, 4);
    const dense = denseOperator(m);
    const f32 = {
      dim: m.n,
      matvec: async (v: Float64Array) => Float64Array.from(Float32Array.from(await dense.matvec(Float64Array.from(Float32Array.from(v))))),
    };
    const p = new LanczosProcess(f32, new Rng(5).normalVector(m.n), { restart: true, rng: new Rng(5), reorthogonalization: 'partial', matvecEps: 1e-7 });
    for (let j = 0; j < 100; j++) await p.step();
    const vals = symTridiagonalEigen(p.alpha, p.beta.slice(0, p.size - 1), []).values;
    const top = Array.from(vals).slice(-6).reverse();
    top.forEach((t, i) => expect(Math.abs(t - (11 - i))).toBeLessThan(1e-5));
    expect(p.reorthogonalizations).toBeLessThan(100);
    // semi-orthogonal: every |q_iᵀq_k| (i ≠ k) at most √u = 3.2e-4, as measured, not estimated
    let worst = 0;
    for (let i = 0; i < p.size; i++) {
      for (let k = 0; k < i; k++) {
        let d = 0;
        for (let t = 0; t < m.n; t++) d += p.basis[i]![t]! * p.basis[k]![t]!;
        worst = Math.max(worst, Math.abs(d));
      }
    }
    expect(worst).toBeLessThan(Math.sqrt(1e-7));
    // the estimate ran ahead of the truth: some triggered checks found nothing to orthogonalize
    expect(p.checks).toBeGreaterThan(0);
  });

  it('a float32 basis: Float32Array storage, the operator sees the stored vectors, extremes to float32 accuracy', async () => {
    const eig = Float64Array.from([...linspace(-1, 1, 200), 3, 4, 5]);
    const m = symmetricWithSpectrum(eig, 6);
    const dense = denseOperator(m);
    const seen: Float64Array[] = [];
    const op = { dim: m.n, matvec: async (v: Float64Array) => (seen.push(Float64Array.from(v)), dense.matvec(v)) };
    const p = new LanczosProcess(op, new Rng(1).normalVector(m.n), { restart: true, rng: new Rng(1), basisPrecision: 'float32' });
    for (let j = 0; j < 60; j++) await p.step();
    expect(p.basis.every((q) => q instanceof Float32Array)).toBe(true);
    seen.forEach((v, j) => expect(Array.from(v)).toEqual(Array.from(p.basis[j]!)));
    const vals = symTridiagonalEigen(p.alpha, p.beta.slice(0, p.size - 1), []).values;
    expect(Math.abs(vals[vals.length - 1] - 5)).toBeLessThan(1e-6);
    expect(Math.abs(vals[0] - -1)).toBeLessThan(1e-3); // the bottom of a dense bulk converges slowly
  });
});
