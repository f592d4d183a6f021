import { describe, expect, it } from 'vitest';
import { RNG_STREAMS, Rng } from '../../src/core/rng.js';

describe('Rng (xoshiro128**, Box–Muller)', () => {
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

describe('Rng streams', () => {
  const first = (r: Rng) => [r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()].join(',');

  it('gives every (seed, stream, index) its own sequence: training dropout never replays a shuffle', () => {
    // the old offsets 0xd0000 + step and 0xe0000 + epoch met at step 0x10000 + epoch
    for (const epoch of [0, 1, 7, 300]) {
      const step = 0x10000 + epoch;
      expect(first(new Rng(3, 'dropout', step))).not.toBe(first(new Rng(3, 'shuffle', epoch)));
    }
    const seen = new Set<string>();
    for (const stream of RNG_STREAMS) {
      for (const index of [0, 1, 2, 0xffff, 0x10000, 0x10001, 2 ** 32 - 1]) {
        for (const seed of [0, 1, 2 ** 32, 2 ** 32 + 1]) seen.add(first(new Rng(seed, stream, index)));
      }
    }
    expect(seen.size).toBe(RNG_STREAMS.length * 7 * 4);
  });

  it('is the same sequence for the same triple, and rejects unknown streams and bad indices', () => {
    expect(first(new Rng(9, 'dropout', 12))).toBe(first(new Rng(9, 'dropout', 12)));
    expect(() => new Rng(1, 'nope' as never)).toThrow(/unknown random stream/);
    expect(() => new Rng(1, 'dropout', -1)).toThrow(/index/);
    expect(() => new Rng(1, 'dropout', 1.5)).toThrow(/index/);
  });
});
