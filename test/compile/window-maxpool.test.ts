/**
 * Overlapping max pooling (kernel > stride), which the importer writes as a maximum over window
 * slices, runs as one MaxPool in the compiled forward graphs (compile/passes/pool.ts): the plane
 * and loss graphs hold a MaxPool and no Slice, and give jax-js's values; the HVP graph (whose
 * backward reads the partial maxima) keeps the slices and gives jax-js's HVP. Maxima of slices
 * that are not a window grid stay as they are.
 */
import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { summarizeModel } from '../../src/compile/inspect.js';
import { pointWeights } from '../../src/core/plane.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { loadOnnxModel } from '../../src/model/onnx/load.js';
import { GraphBuilder, randoms } from '../interop/onnx-builder.js';
import { compareWithJit, randn, randomImages, relErr, rng } from './helpers.js';

const C = 4;

function graph(H: number, pool: Record<string, number | number[]>, out: number): Uint8Array {
  const g = new GraphBuilder().input('x', ['N', C, H, H]).output('logits');
  const h = g.node('Conv', ['x', g.init('stem.weight', [C, C, 3, 3], randoms(C * C * 9, 1, 0.5)), g.init('stem.bias', [C], randoms(C, 2, 0.5))], {
    pads: [1, 1, 1, 1],
  });
  const p = g.node('MaxPool', [g.node('Relu', [h])], pool);
  const flat = g.node('Flatten', [p], { axis: 1 });
  const size = C * out * out;
  g.node('Gemm', [flat, g.init('head.weight', [3, size], randoms(3 * size, 3, 0.2)), g.init('head.bias', [3], randoms(3, 4, 0.5))], { transB: 1 }, ['logits']);
  return g.bytes(13);
}

describe('overlapping max pooling in compiled graphs', () => {
  const cases: { name: string; H: number; out: number; pool: Record<string, number | number[]> }[] = [
    { name: '3×3 stride 2, pads 1: one MaxPool in the forward graphs', H: 9, out: 5, pool: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
    {
      name: '3×3 stride 2, ceil_mode (a partial window, padded with −inf): one MaxPool',
      H: 8,
      out: 4,
      pool: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const imp = await loadOnnxModel(graph(c.H, c.pool, c.out), { label: 'pool.onnx' });
      const ds = randomImages(8, [C, c.H, c.H], 5);
      const engine = await OrtEngine.create(imp.model, ds, { threads: 1 });
      const jax = await JaxEngine.create(imp.model, ds);
      try {
        const d1 = Float32Array.from(imp.theta, (_, i) => 0.1 * Math.sin(i));
        const d2 = Float32Array.from(imp.theta, (_, i) => 0.1 * Math.cos(2 * i + 1));
        const pts = Float64Array.from([0, 0, 1, -1, -0.5, 0.5, 0.25, 1]);
        const plane = await engine.evaluatePlane(imp.theta, d1, d2, pts);
        for (let k = 0; k < 4; k++) {
          const direct = await jax.evaluate(pointWeights(imp.theta, d1, d2, pts[2 * k]!, pts[2 * k + 1]!));
          expect(Math.abs(plane.loss[k]! - direct.loss)).toBeLessThan(1e-5 * Math.max(1, direct.loss));
          expect(plane.acc[k]).toBe(direct.acc);
        }
        expect(Math.abs((await engine.evaluate(imp.theta)).loss - (await jax.evaluate(imp.theta)).loss)).toBeLessThan(1e-5);
        const v = Float32Array.from(imp.theta, (_, i) => Math.cos(0.7 * i));
        expect(relErr(await engine.hvp(imp.theta, v), await jax.hvp(imp.theta, v))).toBeLessThan(1e-5);
        const forward = [...engine.graphs].filter(([k]) => /^(plane|metrics):\d+$/.test(k));
        expect(forward.length).toBeGreaterThanOrEqual(2);
        for (const [k, bytes] of forward) {
          const ops = summarizeModel(bytes).ops;
          expect([k, ops.MaxPool]).toEqual([k, 1]);
          expect([k, ops.Slice ?? 0, ops.Max ?? 0]).toEqual([k, 0, 0]);
        }
        const hvpGraphs = [...engine.graphs].filter(([k]) => k.startsWith('hvp'));
        expect(hvpGraphs.length).toBeGreaterThan(0);
        for (const [, bytes] of hvpGraphs) expect(summarizeModel(bytes).ops.MaxPool ?? 0).toBe(0);
      } finally {
        jax.dispose();
        await engine.dispose();
      }
    });
  }
});

describe('maxima of slices', () => {
  /** The maximum over 5×5 windows of x [2, 3, 7, 7] at the given offsets (stride 1). */
  const maxOver = (offsets: [number, number][]) => (x: np.Array) =>
    offsets.map(([r, c]) => x.ref.slice([], [], [r, r + 5], [c, c + 5])).reduce((a, b) => np.maximum(a, b));

  it('a 3×3 grid of offsets: one MaxPool (kernel 3, stride 1), the same values', async () => {
    const x = randn(rng(3), [2, 3, 7, 7]);
    const grid: [number, number][] = [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => [r, c] as [number, number]));
    const r = await compareWithJit(maxOver(grid), [x]);
    expect(r.summary.ops.MaxPool).toBe(1);
    expect(r.summary.ops.Max ?? 0).toBe(0);
    expect(r.errors[0]).toBe(0);
  });

  it('offsets that are not a grid: left as Max of slices', async () => {
    const x = randn(rng(4), [2, 3, 7, 7]);
    const r = await compareWithJit(
      maxOver([
        [0, 0],
        [0, 2],
        [2, 0],
        [1, 1],
      ]),
      [x],
    );
    expect(r.summary.ops.MaxPool ?? 0).toBe(0);
    expect(r.summary.ops.Max).toBe(3);
    expect(r.errors[0]).toBe(0);
  });
});
