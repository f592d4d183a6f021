/**
 * The WebAssembly SIMD kernels against the plain-JS ones (vector.ts), on arena vectors of odd
 * and even length, and the committed module against its source (kernels.wat).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { dotAndNormSq, recurrence, reorthogonalize } from '../../src/linalg/vector.js';
import { VectorArena } from '../../src/linalg/wasm-kernels.js';
import { maxRelDiff } from '../helpers/numeric.js';

function plainCopy<T extends Float32Array | Float64Array>(v: T): T {
  return (v instanceof Float32Array ? Float32Array.from(v) : Float64Array.from(v)) as T;
}

describe('WebAssembly SIMD vector kernels', () => {
  it('are available here (Node 20: SIMD and shared memory)', () => {
    expect(VectorArena.create()).not.toBeNull();
  });

  for (const n of [1, 2, 7, 1000, 1001]) {
    it(`n = ${n}: projections, subtraction, recurrence, dot/norm and store equal the JS kernels`, () => {
      const arena = VectorArena.create()!;
      const rng = new Rng(n);
      const rows = Array.from({ length: 7 }, () => {
        const q = arena.float32(n);
        q.set(rng.normalVector(n));
        return q;
      });
      const w = arena.float64(n);
      w.set(rng.normalVector(n));
      const plainRows = rows.map(plainCopy);
      const plainW = plainCopy(w);
      expect(VectorArena.of(w)).toBe(arena);
      expect(VectorArena.of(plainW)).toBeNull();

      // Gram–Schmidt against the 7 rows (projections + subtraction, 4-row and 1-row sweeps)
      reorthogonalize(w, rows, true);
      reorthogonalize(plainW, plainRows, true);
      expect(maxRelDiff(w, plainW)).toBeLessThan(1e-12);

      const a = new Float64Array(2);
      const b = new Float64Array(2);
      dotAndNormSq(rows[0]!, w, a);
      dotAndNormSq(plainRows[0]!, plainW, b);
      const scale = Math.sqrt(b[1]! * n); // ‖w‖·‖q‖ (q has entries of size ~1)
      expect(Math.abs(a[0]! - b[0]!)).toBeLessThan(1e-12 * scale);
      expect(Math.abs(a[1]! / b[1]! - 1)).toBeLessThan(1e-12);

      const r1 = recurrence(w, 0.3, rows[1]!, -0.7, rows[2]!);
      const r2 = recurrence(plainW, 0.3, plainRows[1]!, -0.7, plainRows[2]!);
      expect(Math.abs(r1 / r2 - 1)).toBeLessThan(1e-12);
      const r3 = recurrence(w, 0.1, rows[3]!, 0, undefined);
      const r4 = recurrence(plainW, 0.1, plainRows[3]!, 0, undefined);
      expect(Math.abs(r3 / r4 - 1)).toBeLessThan(1e-12);
      expect(maxRelDiff(w, plainW)).toBeLessThan(1e-12);

      const dst = arena.float32(n);
      expect(arena.store(w, 0.5, dst)).toBe(true);
      for (let i = 0; i < n; i++) expect(dst[i]).toBe(Math.fround(w[i]! * 0.5));
    });
  }

  it('a recycled arena hands out zeros again', () => {
    const a = VectorArena.create()!;
    a.float64(100).fill(7);
    a.float32(100).fill(7);
    VectorArena.recycle(a);
    const b = VectorArena.create()!;
    expect(b).toBe(a);
    expect(b.float64(100).every((x) => x === 0)).toBe(true);
    expect(b.float32(100).every((x) => x === 0)).toBe(true);
  });

  it('views stay valid when the arena grows', () => {
    const arena = VectorArena.create()!;
    const first = arena.float32(10);
    first.fill(3);
    for (let k = 0; k < 40; k++) arena.float64(100_000); // 32 MB: several grows
    expect(first.length).toBe(10);
    expect(Array.from(first)).toEqual(Array(10).fill(3));
  });

  it('the committed module is what kernels.wat assembles to', () => {
    const out = execFileSync(process.execPath, ['scripts/build-kernels.mjs', '--check'], { encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});
