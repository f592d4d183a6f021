/**
 * Real architectures exported by torch.onnx.export (test/fixtures/real-models, made by
 * scripts/real-models/make_fixtures.py with torchvision's own blocks at toy width): the import
 * reproduces onnxruntime's forward pass of the original file and PyTorch's logits, the default
 * backend is the compiled one and its HVPs equal jax-js's, and plane evaluations (surfaces) equal
 * a direct evaluation at each point's weights — with few grid points per call, where the grid
 * axis and a depthwise conv's channel groups are both vmapped.
 */
import { readFileSync } from 'node:fs';
import { numpy as np } from '@jax-js/jax';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { pointWeights } from '../../../src/core/plane.js';
import { randomPlane } from '../../../src/directions/directions.js';
import { JaxEngine } from '../../../src/engine/jax/engine.js';
import type { OrtEngineOptions } from '../../../src/engine/ort/engine.js';
import { createEngine } from '../../../src/engine/registry.js';
import { loadOnnxModel } from '../../../src/model/onnx/load.js';
import { REAL, realData, realMeta } from './real-fixtures.js';

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): { err: number; scale: number } {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { err, scale };
}

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

const MODELS = [
  { name: 'mobilenet_v3', what: 'MobileNetV3 blocks: depthwise convs, squeeze-excitation, hardswish/hardsigmoid' },
  { name: 'shufflenet_v2', what: 'ShuffleNetV2: channel split and shuffle (5-D Reshape/Transpose)' },
  { name: 'efficientnet', what: 'EfficientNet MBConv: SiLU, squeeze-excitation with Sigmoid gating' },
  { name: 'resnet_bn', what: 'ResNet-18 blocks with batch norm kept and a tied downsample bias' },
  { name: 'vit', what: 'ViT, 2 layers: patch conv, multi-head attention, LayerNormalization, erf GELU (opset 17)' },
  { name: 'vit_tanh_gelu', what: 'ViT with tanh GELU, decomposed LayerNorm (opset 13)' },
  { name: 'mobilenet_folded', what: 'MobileNetV3 exported with batch norm folded into the convs' },
];

for (const { name, what } of MODELS) {
  describe(`${name}: ${what}`, () => {
    it('forward = onnxruntime on the original file (1e-5) and = PyTorch', async () => {
      const path = `${REAL}${name}.onnx`;
      const imp = await loadOnnxModel(path);
      const meta = realMeta(name);
      const data = await realData(name, imp.model.inputShape, 4);
      const shape = [4, ...meta.input_shape];
      const params = imp.model.layout.entries.map((e) => np.array(imp.theta.slice(e.offset, e.offset + e.size), { shape: e.shape }));
      const mine = await imp.model.apply(params, np.array(data.x, { shape })).out.data();
      const s = await ort.InferenceSession.create(readFileSync(path));
      const ref = (await s.run({ x: new ort.Tensor('float32', data.x, shape) })).logits!.data as Float32Array;
      await s.release();
      const vsOrt = maxAbs(mine, ref);
      expect(vsOrt.err).toBeLessThan(1e-5 * Math.max(1, vsOrt.scale));
      const vsTorch = maxAbs(mine, meta.logits_first4.flat());
      expect(vsTorch.err).toBeLessThan(1e-5 * Math.max(1, vsTorch.scale));
    });

    it('default backend: onnxruntime, HVP = jax-js (1e-4), surface points = direct evaluations', async () => {
      const imp = await loadOnnxModel(`${REAL}${name}.onnx`);
      const data = await realData(name, imp.model.inputShape, 8);
      const warnings: string[] = [];
      // 4 grid points per plane call: grid axis × a depthwise conv's 16 channel groups ≤ 64 convs per call
      const opts: OrtEngineOptions = { planeBatch: 4 };
      const engine = await createEngine(imp.model, data, opts, (l) => warnings.push(l));
      const jax = await JaxEngine.create(imp.model, data);
      try {
        const v = Float32Array.from({ length: imp.theta.length }, (_, i) => Math.sin(1.7 * i));
        const [ho, hj] = [await engine.hvp(imp.theta, v), await jax.hvp(imp.theta, v)];
        expect(relL2(ho, hj)).toBeLessThan(1e-4);
        const { dx, dy } = randomPlane(imp.theta, imp.model.layout, { seed: 3, norm: 'filter', ignore: 'biasbn' });
        const points = Float64Array.from([0, 0, 0.5, -0.25, -0.75, 1, 1, 0.5, -1, -1, 0.25, 0.75]);
        const plane = await engine.evaluatePlane(imp.theta, dx, dy, points);
        for (let k = 0; k < points.length / 2; k++) {
          const direct = await engine.evaluate(pointWeights(imp.theta, dx, dy, points[2 * k]!, points[2 * k + 1]!));
          expect(Math.abs(plane.loss[k]! - direct.loss)).toBeLessThan(1e-5 * Math.max(1, direct.loss));
          expect(plane.acc[k]).toBe(direct.acc);
        }
        expect(warnings).toEqual([]);
        expect(engine.description).toMatch(/onnxruntime/);
      } finally {
        jax.dispose();
        await engine.dispose();
      }
    });
  });
}
