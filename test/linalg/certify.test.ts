/**
 * The check that no eigenvalue lies beyond reported extremes (linalg/certify.ts) and the
 * Hessian solver that uses it (linalg/extremes.ts), on dense matrices with known spectra.
 */
import { describe, expect, it } from 'vitest';
import { makeLayout } from '../../src/core/layout.js';
import { certifyExtremes } from '../../src/linalg/certify.js';
import { extremeEigenvalues } from '../../src/linalg/extremes.js';
import { hessianOperatorOf } from '../../src/linalg/hessian-operator.js';
import { lanczos } from '../../src/linalg/lanczos.js';
import { denseOperator, linspace, matvecDense, symmetricWithSpectrum } from '../hessian/helpers.js';

/** A spectrum with a low cluster: λ1 = −1.003 just below λ2 = −1, the bulk in [0, 1], λmax = 4. */
const spectrum = () => Float64Array.from([-1.003, -1, ...linspace(0, 1, 116), 3.5, 4]);

/** A start vector with no component along λ1's eigenvector: the classic blind spot. */
function blindStart(m: ReturnType<typeof symmetricWithSpectrum>): Float64Array {
  const v = new Float64Array(m.n);
  for (let k = 1; k < m.n; k++) for (let i = 0; i < m.n; i++) v[i]! += m.q[k]![i]! / (k === 1 || k === m.n - 1 ? 1 : 40);
  return v;
}

function asHessian(m: ReturnType<typeof symmetricWithSpectrum>) {
  const layout = makeLayout([{ name: 'w', shape: [m.n], role: 'weight' }]);
  return hessianOperatorOf(async (_t, v) => matvecDense(m.a, m.n, v), layout, new Float32Array(m.n));
}

describe('certifyExtremes', () => {
  it('a run blind to λ1 reports λ2 as converged; the check refutes it and hands back λ1', async () => {
    const m = symmetricWithSpectrum(spectrum(), 3);
    const op = denseOperator(m);
    const r = await lanczos(op, { v0: blindStart(m), convergence: 'eigenvalue', tol: 1e-6 });
    expect(r.converged).toBe(true);
    expect(r.lambdaMin).toBeCloseTo(-1, 6); // the blind spot: λ1 = −1.003 never emerged
    const c = await certifyExtremes(op, r, [r.ritzMin, r.ritzMax], { tol: 1e-5, seed: 1 });
    expect(c.outcome).toBe('refuted');
    if (c.outcome !== 'refuted') return;
    expect(c.side).toBe('min');
    expect(c.value).toBeLessThan(-1 - 4e-5);
    expect(c.value).toBeGreaterThanOrEqual(-1.003 - 1e-12); // a Ritz value: never beyond the spectrum
  });

  it('certifies correct extremes, and the deflated run never sees the deflated vectors', async () => {
    for (const seed of [1, 2, 3]) {
      const m = symmetricWithSpectrum(spectrum(), 10 + seed);
      const op = denseOperator(m);
      const r = await lanczos(op, { convergence: 'residual', tol: 1e-10, seed });
      expect(r.lambdaMin).toBeCloseTo(-1.003, 9);
      const c = await certifyExtremes(op, r, [r.ritzMin, r.ritzMax], { tol: 1e-5, seed });
      expect(c.outcome).toBe('certified');
    }
    // a positive definite matrix: the deflated operator's zero eigenvalues (along the deflated
    // vectors) must not appear below λmin
    const m = symmetricWithSpectrum(Float64Array.from([0.5, ...linspace(1, 2, 60), 5]), 4);
    const r = await lanczos(denseOperator(m), { convergence: 'residual', tol: 1e-10 });
    expect((await certifyExtremes(denseOperator(m), r, [r.ritzMin, r.ritzMax], { tol: 1e-5 })).outcome).toBe('certified');
  });

  it('the solver recovers: from the blind start it reports λ1, certified, and counts the check in its HVPs', async () => {
    const m = symmetricWithSpectrum(spectrum(), 3);
    const blind = await extremeEigenvalues(asHessian(m), 'float64', { v0: blindStart(m), certify: false });
    expect(blind.lambdaMin).toBeCloseTo(-1, 6);
    expect(blind.converged).toBe(true);
    expect(blind.certified).toBe(false);
    const op = asHessian(m);
    const fixed = await extremeEigenvalues(op, 'float64', { v0: blindStart(m) });
    expect(Math.abs(fixed.lambdaMin + 1.003)).toBeLessThan(1e-6 * 4);
    expect(Math.abs(fixed.lambdaMax - 4)).toBeLessThan(1e-6 * 4);
    expect(fixed.certified).toBe(true);
    expect(fixed.converged).toBe(true);
    expect(fixed.certifyHvps).toBeGreaterThan(0);
    expect(fixed.hvps).toBe(op.hvps);
    expect(fixed.hvps).toBeGreaterThan(blind.hvps + fixed.certifyHvps - 1);
  });
});
