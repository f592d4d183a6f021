/**
 * The hidden-curvature report (hessian/plane-curvature.ts) and eigenvector planes
 * (hessian/eigen-plane.ts): on a quadratic with one negative eigenvalue whose eigenvector is
 * orthogonal to a random plane, the plane's landscape is convex and the hidden-saddle flag
 * fires; the eigenvector plane shows the saddle; in-plane curvatures equal second differences
 * of the loss (quadratic and a float64 MLP in onnxruntime).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { eigenvectorPlane } from '../../src/hessian/eigen-plane.js';
import { planeCurvature } from '../../src/hessian/plane-curvature.js';
import { buildModel } from '../../src/model/zoo.js';
import { randomData } from '../hessian/dense.js';
import { symmetricWithSpectrum } from '../hessian/helpers.js';
import { quadraticEngine } from './quadratic-engine.js';

const n = 40;
// one negative eigenvalue (index 0), the rest in [0.5, 10]
const spectrum = Float64Array.from({ length: n }, (_, i) => (i === 0 ? -2 : 0.5 + (9.5 * (i - 1)) / (n - 2)));
const A = symmetricWithSpectrum(spectrum, 5);
const negative = A.q[0]!;
const engine = quadraticEngine(A.a, n);
const theta = Float32Array.from(new Rng(1).normalVector(n), (x) => 0.1 * x);

/** A random Gaussian direction with its component along `v` removed. */
function orthogonalTo(v: Float64Array, seed: number): Float32Array {
  const d = new Rng(seed).normalVector(n);
  let c = 0;
  for (let i = 0; i < n; i++) c += d[i]! * v[i]!;
  return Float32Array.from(d, (x, i) => x - c * v[i]!);
}

/** Second difference of the loss along d at θ, per unit length²: (L(θ+hd) − 2L(θ) + L(θ−hd)) / (h²‖d‖²). */
async function secondDifference(
  e: { evaluate(t: Float64Array): Promise<{ loss: number }> },
  t: ArrayLike<number>,
  d: ArrayLike<number>,
  h: number,
): Promise<number> {
  const at = (s: number) => Float64Array.from(t, (x, i) => x + s * d[i]!);
  const [p, z, m] = [await e.evaluate(at(h)), await e.evaluate(at(0)), await e.evaluate(at(-h))];
  let dd = 0;
  for (let i = 0; i < d.length; i++) dd += d[i]! * d[i]!;
  return (p.loss - 2 * z.loss + m.loss) / (h * h * dd);
}

describe('hidden-curvature report on a quadratic', () => {
  const dx = orthogonalTo(negative, 11);
  const dy = orthogonalTo(negative, 12);

  it('a random plane orthogonal to the negative eigenvector looks convex, and the hidden-saddle flag fires', async () => {
    const r = await planeCurvature(engine, theta, dx, dy);
    expect(r.lambdaMin).toBeCloseTo(-2, 6);
    expect(r.lambdaMax).toBeCloseTo(10, 6);
    expect(Math.min(...r.planeEigenvalues)).toBeGreaterThan(0);
    expect(r.hiddenSaddle).toBe(true);
    // the landscape on the plane: every second difference along α, β and the diagonals is positive
    const m = 21;
    const pts = new Float64Array(2 * m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) pts.set([-1 + (2 * j) / (m - 1), -1 + (2 * i) / (m - 1)], 2 * (i * m + j));
    const { loss } = await engine.evaluatePlane(theta, dx, dy, pts);
    const at = (i: number, j: number) => loss[i * m + j]!;
    for (let i = 1; i < m - 1; i++)
      for (let j = 1; j < m - 1; j++) {
        expect(at(i, j - 1) - 2 * at(i, j) + at(i, j + 1)).toBeGreaterThan(0);
        expect(at(i - 1, j) - 2 * at(i, j) + at(i + 1, j)).toBeGreaterThan(0);
        expect(at(i - 1, j - 1) - 2 * at(i, j) + at(i + 1, j + 1)).toBeGreaterThan(0);
        expect(at(i - 1, j + 1) - 2 * at(i, j) + at(i + 1, j - 1)).toBeGreaterThan(0);
      }
  });

  it('a plane containing the negative eigenvector shows it: no flag', async () => {
    const r = await planeCurvature(engine, theta, dx, Float32Array.from(negative));
    expect(Math.min(...r.planeEigenvalues)).toBeCloseTo(-2, 5);
    expect(r.hiddenSaddle).toBe(false);
  });

  it('the plane eigenvalues are those of QᵀAQ and lie within [λmin, λmax]', async () => {
    const r = await planeCurvature(engine, theta, dx, dy);
    // Q = Gram–Schmidt(dx, dy)
    const q1 = Float64Array.from(dx);
    const n1 = Math.hypot(...q1);
    q1.forEach((v, i) => (q1[i] = v / n1));
    const q2 = Float64Array.from(dy);
    const c = q2.reduce((s, v, i) => s + v * q1[i]!, 0);
    q2.forEach((v, i) => (q2[i] = v - c * q1[i]!));
    const n2 = Math.hypot(...q2);
    q2.forEach((v, i) => (q2[i] = v / n2));
    const aq = (u: Float64Array, w: Float64Array) => {
      const au = engine.hvp(theta, u);
      return au.then((x) => x.reduce((s, v, i) => s + v * w[i]!, 0));
    };
    const [m11, m12, m22] = [await aq(q1, q1), await aq(q1, q2), await aq(q2, q2)];
    const tr = m11 + m22;
    const det = m11 * m22 - m12 * m12;
    const disc = Math.sqrt((tr * tr) / 4 - det);
    expect(r.planeEigenvalues[0]).toBeCloseTo(tr / 2 - disc, 9);
    expect(r.planeEigenvalues[1]).toBeCloseTo(tr / 2 + disc, 9);
    for (const l of r.planeEigenvalues) {
      expect(l).toBeGreaterThanOrEqual(r.lambdaMin);
      expect(l).toBeLessThanOrEqual(r.lambdaMax);
    }
  });

  it('in-plane curvatures equal second differences of the loss to 1e-4', async () => {
    const r = await planeCurvature(engine, theta, dx, dy);
    for (const [d, c] of [
      [dx, r.curvatureX],
      [dy, r.curvatureY],
    ] as const) {
      const fd = await secondDifference(engine, theta, d, 1e-3);
      expect(Math.abs(fd - c)).toBeLessThan(1e-4 * Math.abs(c));
    }
  });

  it('the eigenvector plane is spanned by the eigenvectors of λmax and λmin, and shows the saddle', async () => {
    const p = await eigenvectorPlane(engine, theta, { pair: 'top-bottom', length: 3 });
    expect(p.lambdaX).toBeCloseTo(10, 6);
    expect(p.lambdaY).toBeCloseTo(-2, 6);
    const cos = (d: Float32Array, v: Float64Array) => Math.abs(d.reduce((s, x, i) => s + x * v[i]!, 0)) / Math.hypot(...d);
    expect(cos(p.dx, A.q[n - 1]!)).toBeGreaterThan(1 - 1e-6);
    expect(cos(p.dy, negative)).toBeGreaterThan(1 - 1e-6);
    expect(Math.hypot(...p.dx)).toBeCloseTo(3, 5);
    const r = await planeCurvature(engine, theta, p.dx, p.dy, { known: p.extremes });
    expect(r.curvatureX).toBeCloseTo(10, 5);
    expect(r.curvatureY).toBeCloseTo(-2, 5);
    expect(r.hiddenSaddle).toBe(false);
    const top2 = await eigenvectorPlane(engine, theta, { pair: 'top-2' });
    expect(top2.lambdaX).toBeCloseTo(10, 6);
    expect(top2.lambdaY).toBeCloseTo(spectrum[n - 2]!, 6);
  });
});

describe('in-plane curvatures of an MLP (onnxruntime, float64)', () => {
  const model = buildModel({ type: 'mlp', hidden: [8], activation: 'tanh' }, [4], 3);
  const data = randomData(32, [4], 3, 11);
  const w = model.init(7);
  let ort: OrtEngine;
  beforeAll(async () => {
    ort = await OrtEngine.create(model, data, { dtype: 'float64', threads: 1 });
  });
  afterAll(async () => ort?.dispose());

  it('equal second differences of the loss to 1e-4 (relative)', async () => {
    const rng = new Rng(4);
    const dx = Float32Array.from(rng.normalVector(model.layout.size), (x) => 0.3 * x);
    const dy = Float32Array.from(rng.normalVector(model.layout.size), (x) => 0.3 * x);
    const r = await planeCurvature(ort, w, dx, dy);
    for (const [d, c] of [
      [dx, r.curvatureX],
      [dy, r.curvatureY],
    ] as const) {
      const fd = await secondDifference(ort, w, d, 1e-3);
      expect(Math.abs(fd - c)).toBeLessThan(1e-4 * Math.abs(c));
    }
  });
});
