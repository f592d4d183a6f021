import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { hutchinsonTrace } from '../../src/linalg/trace.js';
import { denseOperator, symmetricWithSpectrum } from '../hessian/helpers.js';

const rng = new Rng(99);
const eig = Float64Array.from({ length: 200 }, (_, i) => (i < 5 ? 5 + i : rng.normal() * 0.5 + 0.2));
const m = symmetricWithSpectrum(eig, 100);
const exactTrace = eig.reduce((a, b) => a + b, 0);
// Var[zᵀHz] = 2 Σ_{i≠j} H_ij² for Rademacher z
let offDiag2 = 0;
for (let i = 0; i < m.n; i++) for (let j = 0; j < m.n; j++) if (i !== j) offDiag2 += m.a[i * m.n + j] ** 2;
const sampleSd = Math.sqrt(2 * offDiag2);

describe('hutchinsonTrace (Rademacher probes)', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: within 3 standard errors of the exact trace, stderr ≈ theory', async (seed) => {
    const op = denseOperator(m);
    const r = await hutchinsonTrace(op, { probes: 100, seed });
    expect(r.probes).toBe(100);
    expect(r.matvecs).toBe(100);
    expect(op.calls).toBe(100);
    expect(r.samples.length).toBe(100);
    expect(Math.abs(r.trace - exactTrace)).toBeLessThan(3 * r.stderr);
    const ratio = r.stderr / (sampleSd / Math.sqrt(100));
    expect(ratio).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(1.3);
    // trace and stderr are the sample mean and s/√p of the samples
    const mean = r.samples.reduce((a, b) => a + b, 0) / 100;
    expect(r.trace).toBeCloseTo(mean, 10);
  });

  it('is exact, with zero standard error, for a diagonal operator', async () => {
    const d = Float64Array.from({ length: 50 }, (_, i) => i - 20.5);
    const a = new Float64Array(50 * 50);
    d.forEach((x, i) => (a[i * 50 + i] = x));
    const r = await hutchinsonTrace(denseOperator({ n: 50, a }), { probes: 7, seed: 1 });
    expect(r.trace).toBe(d.reduce((s, x) => s + x, 0));
    expect(r.stderr).toBe(0);
  });

  it('stops early once stderr/|mean| < tol', async () => {
    const r = await hutchinsonTrace(denseOperator(m), { probes: 1000, seed: 7, tol: 0.05 });
    expect(r.probes).toBeGreaterThanOrEqual(10);
    expect(r.probes).toBeLessThan(1000);
    expect(r.stderr / Math.abs(r.trace)).toBeLessThan(0.05);
    expect(r.matvecs).toBe(r.probes);
    expect(Math.abs(r.trace - exactTrace)).toBeLessThan(4 * r.stderr);
  });

  it('is deterministic given the seed', async () => {
    const a = await hutchinsonTrace(denseOperator(m), { probes: 10, seed: 3 });
    const b = await hutchinsonTrace(denseOperator(m), { probes: 10, seed: 3 });
    expect(Array.from(a.samples)).toEqual(Array.from(b.samples));
  });
});
