import { describe, expect, it } from 'vitest';
import { lanczos } from '../../src/linalg/lanczos.js';
import { referenceMethodEigenvalues } from '../../src/linalg/reference-method.js';
import { denseOperator, symmetricWithSpectrum } from '../hessian/helpers.js';

/** dim 100 spectrum: the given extremes and 98 interior values spread by a golden-ratio sequence. */
function spectrum(lmin: number, lmax: number): Float64Array {
  const interior = Array.from({ length: 98 }, (_, i) => lmin + (lmax - lmin) * (0.01 + 0.98 * ((i * 0.6180339887) % 1)));
  return Float64Array.from([lmin, ...interior, lmax]);
}

describe('reference code method (λ"max" = largest magnitude; λ"min" via shift 0.51·λ"max")', () => {
  it('is wrong for a positive-definite H with λmin = 0.3·λmax: returns ≈ λmax again, Lanczos is right', async () => {
    const eig = spectrum(3, 10);
    const op = denseOperator(symmetricWithSpectrum(eig, 1));
    const ref = await referenceMethodEigenvalues(op);
    const ours = await lanczos(op, { tol: 1e-10 });
    expect(ref.lambdaMax).toBeCloseTo(10, 8);
    expect(ref.shift).toBeCloseTo(5.1, 8);
    expect(Math.abs(ref.lambdaMin - 10)).toBeLessThan(1e-8 * 10); // wrong: λmax again
    expect(Math.abs(ours.lambdaMin - 3)).toBeLessThan(1e-8 * 10); // right
    expect(Math.abs(ours.lambdaMax - 10)).toBeLessThan(1e-8 * 10);
  });

  it.each([
    [0.05, false], // PD, λmin > 0.02·λmax: wrong
    [0.01, true], // PD, λmin < 0.02·λmax: right
  ])('positive definite with λmin = %s·λmax → correct = %s (the 0.02 threshold)', async (ratio, correct) => {
    const eig = spectrum(10 * ratio, 10);
    const ref = await referenceMethodEigenvalues(denseOperator(symmetricWithSpectrum(eig, 2)));
    expect(Math.abs(ref.lambdaMin - 10 * ratio) < 1e-8 * 10).toBe(correct);
  });

  it('is right (within its method) for an indefinite H with λmin < 0.02·λmax', async () => {
    const eig = spectrum(-0.5, 10);
    const op = denseOperator(symmetricWithSpectrum(eig, 3));
    const ref = await referenceMethodEigenvalues(op);
    const ours = await lanczos(op, { tol: 1e-10 });
    expect(Math.abs(ref.lambdaMax - 10)).toBeLessThan(1e-8 * 10);
    expect(Math.abs(ref.lambdaMin + 0.5)).toBeLessThan(1e-8 * 10);
    expect(Math.abs(ref.lambdaMin - ours.lambdaMin)).toBeLessThan(1e-8 * 10);
    expect(ref.matvecs).toBeGreaterThan(ours.matvecs); // two solves instead of one
  });

  it('reports the negative end as "max" when |λmin| > λmax, and then λmax as "min"', async () => {
    const eig = spectrum(-8, 5);
    const ref = await referenceMethodEigenvalues(denseOperator(symmetricWithSpectrum(eig, 4)));
    expect(Math.abs(ref.lambdaMax + 8)).toBeLessThan(1e-8 * 8);
    expect(Math.abs(ref.lambdaMin - 5)).toBeLessThan(1e-8 * 8);
  });
});
