/**
 * Depthwise convs with per-point weights (plane graphs) run as onnxruntime's NCHWc depthwise
 * Conv (compile/passes/conv.ts nchwcConvs): channels zero-padded to the block size where needed,
 * the values jax-js's at every plane point and the HVP jax-js's.
 */
import { describe, expect, it } from 'vitest';
import { summarizeModel } from '../../src/compile/inspect.js';
import { pointWeights } from '../../src/core/plane.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { nchwcBlockSize } from '../../src/engine/ort/nchwc.js';
import { loadOnnxModel } from '../../src/model/onnx/load.js';
import { GraphBuilder, randoms } from '../interop/onnx-builder.js';
import { randomImages, relErr } from './helpers.js';

const H = 8;

function graph(C: number, k: number, stride: number): { bytes: Uint8Array; out: number } {
  const g = new GraphBuilder().input('x', ['N', C, H, H]).output('logits');
  const pad = Math.floor(k / 2);
  const d = g.node('Conv', ['x', g.init('dw.weight', [C, 1, k, k], randoms(C * k * k, 1, 0.5)), g.init('dw.bias', [C], randoms(C, 2, 0.5))], {
    group: C,
    pads: [pad, pad, pad, pad],
    strides: [stride, stride],
  });
  const out = Math.floor((H + 2 * pad - k) / stride) + 1;
  const size = C * out * out;
  const flat = g.node('Flatten', [g.node('Relu', [d])], { axis: 1 });
  g.node('Gemm', [flat, g.init('head.weight', [3, size], randoms(3 * size, 3, 0.2)), g.init('head.bias', [3], randoms(3, 4, 0.5))], { transB: 1 }, ['logits']);
  return { bytes: g.bytes(13), out };
}

describe('depthwise convs in NCHWc', () => {
  for (const c of [
    { C: 16, k: 3, stride: 1 },
    { C: 12, k: 5, stride: 2 },
  ]) {
    it(`${c.C} channels, ${c.k}×${c.k} stride ${c.stride}: NCHWc depthwise Conv in the plane graphs, jax-js's values`, async () => {
      const { bytes } = graph(c.C, c.k, c.stride);
      const imp = await loadOnnxModel(bytes, { label: 'dw.onnx' });
      const ds = randomImages(6, [c.C, H, H], 6);
      const engine = await OrtEngine.create(imp.model, ds, { threads: 1 });
      const jax = await JaxEngine.create(imp.model, ds);
      try {
        const d1 = Float32Array.from(imp.theta, (_, i) => 0.1 * Math.sin(i));
        const d2 = Float32Array.from(imp.theta, (_, i) => 0.1 * Math.cos(3 * i));
        const pts = Float64Array.from([0, 0, 1, -1, -0.5, 0.75, 0.3, 0.2]);
        const plane = await engine.evaluatePlane(imp.theta, d1, d2, pts);
        for (let k = 0; k < 4; k++) {
          const direct = await jax.evaluate(pointWeights(imp.theta, d1, d2, pts[2 * k]!, pts[2 * k + 1]!));
          expect(Math.abs(plane.loss[k]! - direct.loss)).toBeLessThan(1e-5 * Math.max(1, direct.loss));
        }
        const v = Float32Array.from(imp.theta, (_, i) => Math.cos(0.3 * i));
        expect(relErr(await engine.hvp(imp.theta, v), await jax.hvp(imp.theta, v))).toBeLessThan(1e-4);
        const planes = [...engine.graphs].filter(([k]) => /^plane:\d+$/.test(k));
        expect(planes.length).toBeGreaterThan(0);
        for (const [, g] of planes) {
          const ops = summarizeModel(g).ops;
          // (no NCHWc kernels on this machine: plain Convs)
          const nchwc = (await nchwcBlockSize()) !== null;
          expect((ops['com.microsoft.nchwc.Conv'] ?? 0) > 0).toBe(nchwc);
          expect((ops.Conv ?? 0) > 0).toBe(!nchwc);
        }
      } finally {
        jax.dispose();
        await engine.dispose();
      }
    });
  }
});
