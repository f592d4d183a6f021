import { describe, expect, it } from 'vitest';
import { view } from '../../src/core/layout.js';
import { cosine, gaussianDirection, normalizeDirection, orthogonalize, randomDirection, randomPlane } from '../../src/directions/directions.js';
import { buildModel } from '../../src/model/zoo.js';

const model = buildModel({ type: 'cnn', channels: [4, 6], kernel: 3, batchNorm: true, dense: [12] }, [1, 14, 14], 5);
const theta = model.init(7);
// make the BN running stats non-trivial so "states" has something to copy
for (const e of model.layout.entries) if (e.role === 'running_var') view(theta, e).fill(2.5);

const norm = (a: Float32Array) => Math.hypot(...a);

describe('filter normalization (Li et al. 2018)', () => {
  const d = randomDirection(theta, model.layout, { seed: 123 });
  it('gives every output slice exactly the norm of the same slice of the weights', () => {
    let checked = 0;
    for (const e of model.layout.entries) {
      if (e.shape.length <= 1) continue;
      const rows = e.shape[0]!;
      const len = e.size / rows;
      for (let r = 0; r < rows; r++) {
        const ds = view(d, e).subarray(r * len, (r + 1) * len);
        const ws = view(theta, e).subarray(r * len, (r + 1) * len);
        expect(Math.abs(norm(ds) - norm(ws)) / norm(ws)).toBeLessThan(1e-6);
        checked++;
      }
    }
    expect(checked).toBe(4 + 6 + 12 + 5);
  });
  it('zeroes biases, BN scale/shift and running statistics (ignore biasbn)', () => {
    for (const e of model.layout.entries) {
      if (e.shape.length <= 1) expect(view(d, e).every((v) => v === 0)).toBe(true);
    }
  });
  it('is deterministic in the seed and different across seeds', () => {
    const again = randomDirection(theta, model.layout, { seed: 123 });
    const other = randomDirection(theta, model.layout, { seed: 124 });
    expect(Buffer.from(again.buffer).equals(Buffer.from(d.buffer))).toBe(true);
    expect(Math.abs(cosine(d, other))).toBeLessThan(0.2);
    expect(other.some((v, i) => v !== d[i])).toBe(true);
  });
  it('does not depend on the weights for the raw Gaussian, only for the scale', () => {
    const g = gaussianDirection(model.layout, 5);
    const a = normalizeDirection(g.slice(), theta, model.layout);
    const theta2 = theta.map((v) => 3 * v);
    const b = normalizeDirection(g.slice(), theta2, model.layout);
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(3 * a[i]!, 5);
  });
});

describe('other normalizations and options', () => {
  it('layer: whole tensor to the norm of the weights', () => {
    const d = randomDirection(theta, model.layout, { seed: 1, norm: 'layer' });
    for (const e of model.layout.entries.filter((e) => e.shape.length > 1)) {
      expect(norm(view(d, e)) / norm(view(theta, e))).toBeCloseTo(1, 6);
    }
  });
  it('weight: elementwise product with θ', () => {
    const g = gaussianDirection(model.layout, 2);
    const d = randomDirection(theta, model.layout, { seed: 2, norm: 'weight' });
    const e = model.layout.entries[0]!;
    for (let i = 0; i < 10; i++) expect(view(d, e)[i]).toBeCloseTo(view(g, e)[i]! * view(theta, e)[i]!, 6);
  });
  it('ignore none keeps 1-D tensors (filter-normalized as one slice), include states perturbs running stats', () => {
    const d = randomDirection(theta, model.layout, { seed: 3, ignore: 'none', include: 'states' });
    const rv = model.layout.entries.find((e) => e.role === 'running_var')!;
    expect(norm(view(d, rv)) / norm(view(theta, rv))).toBeCloseTo(1, 6);
    const w = randomDirection(theta, model.layout, { seed: 3, ignore: 'none', include: 'weights' });
    expect(view(w, rv).every((v) => v === 0)).toBe(true);
    const b = model.layout.entries.find((e) => e.role === 'bias')!;
    expect(norm(view(w, b))).toBeGreaterThan(0);
  });
  it('Gram–Schmidt makes the plane orthogonal and keeps the norm', () => {
    const p = randomPlane(theta, model.layout, { seed: 10 });
    const q = orthogonalize(p.dx, p.dy);
    expect(Math.abs(cosine(p.dx, q))).toBeLessThan(1e-6);
    expect(norm(q) / norm(p.dy)).toBeCloseTo(1, 5);
    const r = randomPlane(theta, model.layout, { seed: 10, orthogonal: true });
    expect(Math.abs(r.cosine)).toBeLessThan(1e-6);
    expect(Math.abs(p.cosine)).toBeGreaterThan(0);
  });
});
