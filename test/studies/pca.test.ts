import { describe, expect, it } from 'vitest';
import { makeLayout } from '../../src/core/layout.js';
import { Rng } from '../../src/core/rng.js';
import { pathGrid, trajectoryPca } from '../../src/studies/pca/trajectory.js';

const layout = makeLayout([
  { name: 'fc1.weight', shape: [8, 12], role: 'weight' },
  { name: 'fc1.bias', shape: [8], role: 'bias' },
  { name: 'fc2.weight', shape: [3, 8], role: 'weight' },
  { name: 'fc2.bias', shape: [3], role: 'bias' },
]);
const P = layout.size;
const weightMask = new Float64Array(P);
for (const e of layout.entries) if (e.shape.length > 1) weightMask.fill(1, e.offset, e.offset + e.size);

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Orthonormal u, v supported on the weight tensors. */
function plane(seed: number): [Float64Array, Float64Array] {
  const rng = new Rng(seed, 'default', 1);
  const u = Float64Array.from({ length: P }, (_, i) => rng.normal() * weightMask[i]!);
  const v = Float64Array.from({ length: P }, (_, i) => rng.normal() * weightMask[i]!);
  const nu = Math.sqrt(dot(u, u));
  u.forEach((x, i) => (u[i] = x / nu));
  const c = dot(u, v);
  v.forEach((x, i) => (v[i] = x - c * u[i]!));
  const nv = Math.sqrt(dot(v, v));
  v.forEach((x, i) => (v[i] = x / nv));
  return [u, v];
}

describe('trajectory PCA', () => {
  it('a trajectory lying exactly in a known plane: the directions span it, explained variance ≈ 1', async () => {
    const [u, v] = plane(7);
    const rng = new Rng(3, 'default', 2);
    const final = Float32Array.from({ length: P }, () => rng.normal());
    const k = 9;
    const coef: [number, number][] = [];
    const thetas: Float32Array[] = [];
    for (let i = 0; i < k; i++) {
      // a curved path ending at θ_final; the biases move too (they must be ignored)
      const t = 1 - i / (k - 1);
      const a = 3 * t + 0.3 * Math.sin(5 * t);
      const b = 1.5 * t * t - 0.8 * t;
      coef.push([a, b]);
      thetas.push(Float32Array.from({ length: P }, (_, p) => final[p]! + a * u[p]! + b * v[p]! + (weightMask[p] ? 0 : 0.5 * t * Math.cos(p))));
    }
    const r = await trajectoryPca(thetas, layout, { ignore: 'biasbn' });
    expect(r.explained[0] + r.explained[1]).toBeGreaterThan(1 - 1e-6);
    expect(r.explained[0]).toBeGreaterThan(r.explained[1]);
    // unit, orthogonal, zero on biases
    expect(dot(r.d1, r.d1)).toBeCloseTo(1, 6);
    expect(dot(r.d2, r.d2)).toBeCloseTo(1, 6);
    expect(Math.abs(dot(r.d1, r.d2))).toBeLessThan(1e-6);
    for (let p = 0; p < P; p++) if (!weightMask[p]) expect(r.d1[p]).toBe(0), expect(r.d2[p]).toBe(0);
    // span{d1, d2} = span{u, v}: u and v have (almost) all their norm inside
    for (const w of [u, v]) {
      const a = dot(w, r.d1);
      const b = dot(w, r.d2);
      expect(a * a + b * b).toBeGreaterThan(1 - 1e-6);
    }
    // the path is the exact projection: distances to θ_final are kept, the last point is (0, 0)
    r.path.forEach(([x, y], i) => {
      const [a, b] = coef[i]!;
      expect(Math.hypot(x, y)).toBeCloseTo(Math.hypot(a, b), 5);
      expect(r.residual[i]!).toBeLessThan(1e-3);
    });
    expect(r.path[k - 1]).toEqual([0, 0]);
    expect(r.path[0]![0]).toBeLessThanOrEqual(0);
    expect(r.tensors).toEqual(['fc1.weight', 'fc2.weight']);
    // Gram-matrix Lanczos: at most k products of a k × k matrix
    expect(r.matvecs).toBeLessThanOrEqual(k);
  });

  it('explained variance equals a direct PCA of the P × P covariance (3-D trajectory, centred as sklearn)', async () => {
    const rng = new Rng(11, 'default', 0);
    const k = 7;
    const thetas = Array.from({ length: k }, () => Float32Array.from({ length: P }, () => rng.normal()));
    const r = await trajectoryPca(thetas, layout, { ignore: 'none' });
    // direct: covariance of the centred rows (all learnable tensors), eigenvalues by Jacobi
    const rows = thetas.map((t) => Float64Array.from(t, (x, p) => x - thetas[k - 1]![p]!));
    const m = new Float64Array(P);
    for (const row of rows) row.forEach((x, p) => (m[p]! += x / k));
    const C = Array.from({ length: P }, (_, a) =>
      Float64Array.from({ length: P }, (_, b) => rows.reduce((s, row) => s + (row[a]! - m[a]!) * (row[b]! - m[b]!), 0)),
    );
    const eig = jacobiEigenvalues(C).sort((a, b) => b - a);
    const total = eig.reduce((a, b) => a + b, 0);
    expect(r.explained[0]).toBeCloseTo(eig[0]! / total, 8);
    expect(r.explained[1]).toBeCloseTo(eig[1]! / total, 8);
    expect(r.eigenvalues[0]).toBeCloseTo(eig[0]!, 6);
    // the first direction is the covariance's top eigenvector: Rayleigh quotient = λ1
    const Cd = C.map((row) => dot(row, r.d1));
    expect(dot(Cd, r.d1)).toBeCloseTo(eig[0]!, 5);
  });

  it('a straight trajectory: PC2 has no variance, d2 is still a unit direction orthogonal to d1', async () => {
    const [u] = plane(5);
    const thetas = [3, 2, 1, 0].map((a) => Float32Array.from(u, (x) => a * x));
    const r = await trajectoryPca(thetas, layout);
    expect(r.degenerate).toBe(true);
    expect(r.explained[0]).toBeCloseTo(1, 6);
    expect(r.explained[1]).toBe(0);
    expect(Math.abs(dot(r.d1, r.d2))).toBeLessThan(1e-6);
    expect(dot(r.d2, r.d2)).toBeCloseTo(1, 5);
  });

  it('the grid covers the path with the margin', () => {
    const g = pathGrid(
      [
        [-2, -1],
        [-1, 0.5],
        [0, 0],
      ],
      11,
      0.25,
    );
    expect(g.x.min).toBeCloseTo(-2.5, 6);
    expect(g.x.max).toBeCloseTo(0.5, 6);
    expect(g.y!.min).toBeCloseTo(-1.375, 6);
    expect(g.y!.max).toBeCloseTo(0.875, 6);
  });
});

function jacobiEigenvalues(A0: Float64Array[]): number[] {
  const n = A0.length;
  const A = A0.map((r) => Float64Array.from(r));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += A[i]![j]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = A[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q]![q]! - A[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k]![p]!;
          const akq = A[k]![q]!;
          A[k]![p] = c * akp - s * akq;
          A[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p]![k]!;
          const aqk = A[q]![k]!;
          A[p]![k] = c * apk - s * aqk;
          A[q]![k] = s * apk + c * aqk;
        }
      }
  }
  return A.map((r, i) => r[i]!);
}
