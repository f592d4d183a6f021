import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/linalg/rng.js';

describe('Rng (splitmix32 → xoshiro128**, Box–Muller)', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42).normalVector(16);
    const b = new Rng(42).normalVector(16);
    const c = new Rng(43).normalVector(16);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('draws uniforms in [0, 1) and standard normals with mean 0, variance 1', () => {
    const rng = new Rng(1);
    const n = 40000;
    let sum = 0;
    let sum2 = 0;
    let umin = 1;
    let umax = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      umin = Math.min(umin, u);
      umax = Math.max(umax, u);
      const z = rng.normal();
      sum += z;
      sum2 += z * z;
    }
    expect(umin).toBeGreaterThanOrEqual(0);
    expect(umax).toBeLessThan(1);
    expect(Math.abs(sum / n)).toBeLessThan(0.02); // 4 standard errors
    expect(Math.abs(sum2 / n - 1)).toBeLessThan(0.03);
  });

  it('draws balanced Rademacher signs', () => {
    const v = new Rng(5).rademacherVector(100001);
    expect(v.every((x) => x === 1 || x === -1)).toBe(true);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.0127); // 4/√n
    // neighbouring signs are uncorrelated
    let lag = 0;
    for (let i = 1; i < v.length; i++) lag += v[i] * v[i - 1];
    expect(Math.abs(lag / v.length)).toBeLessThan(0.0127);
  });
});
