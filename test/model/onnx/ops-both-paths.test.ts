/**
 * Every op modern exported vision models use, one small graph each (a parameterised Conv in
 * front, the op, a Gemm head), through both paths: the jax-js interpreter (gradients, HVPs)
 * against onnxruntime's own execution of the original graph, and the compiled graphs of the
 * default backend (loss, HVP, plane) against jax-js.
 */
import { numpy as np } from '@jax-js/jax';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { pointWeights } from '../../../src/core/plane.js';
import { Rng } from '../../../src/core/rng.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { JaxEngine } from '../../../src/engine/jax/engine.js';
import { createEngine } from '../../../src/engine/registry.js';
import { DT } from '../../../src/io/onnx-proto.js';
import { loadOnnxModel } from '../../../src/model/onnx/load.js';
import { GraphBuilder, randoms } from '../../interop/onnx-builder.js';

/** Per-sample input [C, H, W]. */
const C = 4;
const H = 6;
const IN = [C, H, H];

interface OpCase {
  name: string;
  opset?: number;
  /** Builds the op(s) on h [N, C, H, H]; returns the result and its per-sample size. */
  build(g: GraphBuilder, h: string): { out: string; size: number };
}

let seed = 10;
const param = (g: GraphBuilder, name: string, shape: number[], s = 0.5) =>
  g.init(
    name,
    shape,
    randoms(
      shape.reduce((a, b) => a * b, 1),
      seed++,
      s,
    ),
  );
const scalar = (g: GraphBuilder, name: string, v: number) => g.init(name, [], [v]);
const all = C * H * H;

/** Scaled-dot-product attention over the H·H positions as tokens (2 heads of width 2). */
function attention(g: GraphBuilder, h: string, split: 'Split' | 'Slice'): { out: string; size: number } {
  const T = H * H;
  let t = g.node('Reshape', [h, g.ints('tok_shape', [0, C, T])]);
  t = g.node('Transpose', [t], { perm: [0, 2, 1] }); // [N, T, C]
  const qkv = g.node('MatMul', [t, param(g, 'attn.in_proj_weight', [C, 3 * C])]);
  const parts =
    split === 'Split'
      ? [0, 1, 2].map((k) => `qkv_${k}`)
      : [0, 1, 2].map((k) => g.node('Slice', [qkv, g.ints(`s${k}`, [k * C]), g.ints(`e${k}`, [(k + 1) * C]), g.ints(`sax${k}`, [-1])]));
  if (split === 'Split') g.node('Split', [qkv, g.ints('split', [C, C, C])], { axis: -1 }, parts);
  // torch's view(N, T, heads, C/heads) with N from Shape → Gather → Unsqueeze → Concat
  const n = g.node('Unsqueeze', [g.node('Gather', [g.node('Shape', [t]), g.init('zero', [], [0], DT.INT64)], { axis: 0 }), g.ints('ax0', [0])]);
  const heads = g.node('Concat', [n, g.ints('rest', [T, 2, C / 2])], { axis: 0 });
  const [q, k, v] = parts.map((p) => g.node('Transpose', [g.node('Reshape', [p, heads])], { perm: [0, 2, 1, 3] }));
  let s = g.node('MatMul', [q!, g.node('Transpose', [k!], { perm: [0, 1, 3, 2] })]);
  s = g.node('Div', [s, scalar(g, 'sqrt_d', Math.sqrt(C / 2))]);
  // a causal mask by Where (as exported for masked attention)
  const mask = Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 1 : 0));
  s = g.node('Where', [g.init('mask', [T, T], mask, DT.BOOL), s, scalar(g, 'neg_inf', -1e9)]);
  const a = g.node('Softmax', [s], { axis: -1 });
  let o = g.node('MatMul', [a, v!]); // [N, 2, T, C/2]
  o = g.node('Reshape', [g.node('Transpose', [o], { perm: [0, 2, 1, 3] }), g.ints('merge', [0, T, C])]);
  // a class token expanded over the batch (Expand of a parameter), read back by Gather
  const cls = g.node('Expand', [param(g, 'cls_token', [1, 1, C]), g.node('Concat', [n, g.ints('one_c', [1, C])], { axis: 0 })]);
  o = g.node('Concat', [cls, o], { axis: 1 });
  const first = g.node('Gather', [o, g.init('idx0', [], [0], DT.INT64)], { axis: 1 });
  return { out: g.node('Add', [first, g.node('ReduceMean', [o], { axes: [1], keepdims: 0 })]), size: C };
}

const CASES: OpCase[] = [
  {
    name: 'grouped Conv: strides 2, dilations 2, asymmetric pads',
    build: (g, h) => ({
      out: g.node('Conv', [h, param(g, 'gconv.weight', [6, 2, 3, 3]), param(g, 'gconv.bias', [6])], {
        group: 2,
        strides: [2, 1],
        dilations: [1, 2],
        pads: [0, 1, 1, 2],
      }),
      size: 6 * 3 * 5,
    }),
  },
  {
    name: 'depthwise Conv 5×5 stride 2 (pads 2) + pointwise',
    build: (g, h) => {
      const d = g.node('Conv', [h, param(g, 'dw.weight', [C, 1, 5, 5])], { group: C, strides: [2, 2], pads: [2, 2, 2, 2] });
      return { out: g.node('Conv', [d, param(g, 'pw.weight', [8, C, 1, 1])]), size: 8 * 3 * 3 };
    },
  },
  { name: 'HardSwish', opset: 14, build: (g, h) => ({ out: g.node('HardSwish', [h]), size: all }) },
  {
    name: 'HardSigmoid gating (squeeze-excitation as MobileNetV3 exports it)',
    build: (g, h) => {
      let s = g.node('GlobalAveragePool', [h]);
      s = g.node('Relu', [g.node('Conv', [s, param(g, 'se.fc1.weight', [2, C, 1, 1]), param(g, 'se.fc1.bias', [2])])]);
      s = g.node('HardSigmoid', [g.node('Conv', [s, param(g, 'se.fc2.weight', [C, 2, 1, 1]), param(g, 'se.fc2.bias', [C])])], {
        alpha: { float: 1 / 6 },
        beta: { float: 0.5 },
      });
      return { out: g.node('Mul', [s, h]), size: all };
    },
  },
  {
    name: 'SiLU and Sigmoid gating (EfficientNet squeeze-excitation, ReduceMean form)',
    build: (g, h) => {
      const x = g.node('Mul', [h, g.node('Sigmoid', [h])]);
      let s = g.node('ReduceMean', [x], { axes: [2, 3], keepdims: 1 });
      s = g.node('Conv', [s, param(g, 'se.reduce.weight', [2, C, 1, 1]), param(g, 'se.reduce.bias', [2])]);
      s = g.node('Mul', [s, g.node('Sigmoid', [s])]);
      s = g.node('Sigmoid', [g.node('Conv', [s, param(g, 'se.expand.weight', [C, 2, 1, 1]), param(g, 'se.expand.bias', [C])])]);
      return { out: g.node('Mul', [x, s]), size: all };
    },
  },
  {
    name: 'GELU, erf form (Div, Erf, Add, Mul)',
    build: (g, h) => {
      const e = g.node('Erf', [g.node('Div', [h, scalar(g, 'sqrt2', Math.SQRT2)])]);
      return { out: g.node('Mul', [g.node('Mul', [h, g.node('Add', [e, scalar(g, 'one', 1)])]), scalar(g, 'half', 0.5)]), size: all };
    },
  },
  {
    name: 'GELU, tanh form (Pow 3, Tanh)',
    build: (g, h) => {
      const cube = g.node('Pow', [h, scalar(g, 'three', 3)]);
      const inner = g.node('Mul', [g.node('Add', [h, g.node('Mul', [cube, scalar(g, 'k', 0.044715)])]), scalar(g, 'c', Math.sqrt(2 / Math.PI))]);
      const t = g.node('Add', [g.node('Tanh', [inner]), scalar(g, 'one', 1)]);
      return { out: g.node('Mul', [g.node('Mul', [h, scalar(g, 'half', 0.5)]), t]), size: all };
    },
  },
  { name: 'Gelu op, tanh approximation (opset 20)', opset: 20, build: (g, h) => ({ out: g.node('Gelu', [h], { approximate: 'tanh' }), size: all }) },
  { name: 'Gelu op, exact (opset 20)', opset: 20, build: (g, h) => ({ out: g.node('Gelu', [h]), size: all }) },
  {
    name: 'channel shuffle (5-D Reshape / Transpose) and channel split by Slice',
    build: (g, h) => {
      const a = g.node('Slice', [h, g.ints('s0', [0]), g.ints('e0', [2]), g.ints('ax1', [1])]);
      const b = g.node('Relu', [g.node('Slice', [h, g.ints('s1', [2]), g.ints('e1', [4]), g.ints('ax1b', [1])])]);
      let x = g.node('Concat', [a, b], { axis: 1 });
      x = g.node('Reshape', [x, g.ints('groups', [-1, 2, 2, H, H])]);
      x = g.node('Transpose', [x], { perm: [0, 2, 1, 3, 4] });
      return { out: g.node('Reshape', [x, g.ints('back', [-1, C, H, H])]), size: all };
    },
  },
  {
    name: 'LayerNormalization over the last axis (opset 17)',
    opset: 17,
    build: (g, h) => ({
      out: g.node('LayerNormalization', [h, param(g, 'ln.weight', [H]), param(g, 'ln.bias', [H])], { axis: -1, epsilon: { float: 1e-5 } }),
      size: all,
    }),
  },
  {
    name: 'LayerNorm, decomposed (ReduceMean, Sub, Pow, Sqrt, Div; axes as input, opset 18)',
    opset: 18,
    build: (g, h) => {
      const ax = g.ints('last', [-1]);
      const mu = g.node('ReduceMean', [h, ax]);
      const d = g.node('Sub', [h, mu]);
      const v = g.node('ReduceMean', [g.node('Pow', [d, scalar(g, 'two', 2)]), ax]);
      const y = g.node('Div', [d, g.node('Sqrt', [g.node('Add', [v, scalar(g, 'eps', 1e-5)])])]);
      return { out: g.node('Add', [g.node('Mul', [y, param(g, 'ln.weight', [H])]), param(g, 'ln.bias', [H])]), size: all };
    },
  },
  { name: 'attention: MatMul, Split, Softmax, Where mask, Expand, Gather, Shape', build: (g, h) => attention(g, h, 'Split') },
  { name: 'attention with q, k, v by Slice (opset 13)', build: (g, h) => attention(g, h, 'Slice') },
  {
    name: 'ReduceSum (axes input), Sqrt, Div',
    build: (g, h) => {
      const ss = g.node('ReduceSum', [g.node('Mul', [h, h]), g.ints('ch', [1])], { keepdims: 1 });
      return { out: g.node('Div', [h, g.node('Sqrt', [g.node('Add', [ss, scalar(g, 'one', 1)])])]), size: all };
    },
  },
  { name: 'Clip (ReLU6)', build: (g, h) => ({ out: g.node('Clip', [h, scalar(g, 'lo', 0), scalar(g, 'hi', 0.6)]), size: all }) },
  {
    name: 'Pad (constant value, asymmetric) then AveragePool',
    build: (g, h) => {
      const p = g.node('Pad', [h, g.ints('pads', [0, 0, 1, 0, 0, 0, 0, 2]), scalar(g, 'val', 0.25)]);
      return { out: g.node('AveragePool', [p], { kernel_shape: [3, 3], strides: [2, 2] }), size: C * 3 * 3 };
    },
  },
  {
    name: 'Resize, nearest ×2',
    build: (g, h) => ({
      out: g.node('Resize', [h, '', g.init('scales', [4], [1, 1, 2, 2])], {
        mode: 'nearest',
        nearest_mode: 'floor',
        coordinate_transformation_mode: 'asymmetric',
      }),
      size: C * 4 * H * H,
    }),
  },
  {
    name: 'Resize, nearest to sizes from Shape (6 → 4 and 6 → 9, half_pixel, round_prefer_ceil)',
    build: (g, h) => {
      const nc = g.node('Slice', [g.node('Shape', [h]), g.ints('z', [0]), g.ints('two', [2])]);
      const sizes = g.node('Concat', [nc, g.ints('hw', [4, 9])], { axis: 0 });
      return {
        out: g.node('Resize', [h, '', '', sizes], { mode: 'nearest', nearest_mode: 'round_prefer_ceil', coordinate_transformation_mode: 'half_pixel' }),
        size: C * 4 * 9,
      };
    },
  },
  {
    name: 'Einsum (channel mixing nchw,oc->nohw)',
    build: (g, h) => ({ out: g.node('Einsum', [h, param(g, 'mix.weight', [3, C])], { equation: 'nchw,oc->nohw' }), size: 3 * H * H }),
  },
  {
    name: 'Einsum, batched attention scores with ... (bhqd,bhkd->bhqk)',
    build: (g, h) => {
      const t = g.node('Reshape', [h, g.ints('heads', [0, 2, 2, H * H])]);
      const q = g.node('Transpose', [t], { perm: [0, 1, 3, 2] });
      return { out: g.node('Einsum', [q, q], { equation: '...qd,...kd->...qk' }), size: 2 * H * H * H * H };
    },
  },
  { name: 'Softmax over channels', build: (g, h) => ({ out: g.node('Softmax', [h], { axis: 1 }), size: all }) },
];

function caseGraph(c: OpCase): Uint8Array {
  const g = new GraphBuilder().input('x', ['N', ...IN]).output('logits');
  const h = g.node('Conv', ['x', param(g, 'stem.weight', [C, C, 3, 3]), param(g, 'stem.bias', [C])], { pads: [1, 1, 1, 1] });
  const { out, size } = c.build(g, h);
  const flat = g.node('Flatten', [out], { axis: 1 });
  g.node('Gemm', [flat, param(g, 'head.weight', [3, size], 1 / Math.sqrt(size)), param(g, 'head.bias', [3])], { transB: 1 }, ['logits']);
  return g.bytes(c.opset ?? 13);
}

function randomData(n: number): Dataset {
  const rng = new Rng(4, 'default', 11);
  return {
    name: 'random',
    inputShape: IN,
    x: Float32Array.from({ length: n * all }, () => rng.normal()),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    task: 'classification',
    outputDim: 3,
  };
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

describe('ops of exported vision models, both paths', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = caseGraph(c);
      const imp = await loadOnnxModel(bytes, { label: `${c.name}.onnx` });
      const data = randomData(6);
      // jax-js interpreter vs onnxruntime on the original graph
      const params = imp.model.layout.entries.map((e) => np.array(imp.theta.slice(e.offset, e.offset + e.size), { shape: e.shape }));
      const mine = await imp.model.apply(params, np.array(data.x, { shape: [6, ...IN] })).out.data();
      const s = await ort.InferenceSession.create(bytes);
      const ref = (await s.run({ x: new ort.Tensor('float32', data.x, [6, ...IN]) })).logits!.data as Float32Array;
      await s.release();
      expect(relL2(mine, ref)).toBeLessThan(1e-5);
      // compiled graphs (default backend) vs jax-js: loss, HVP, plane points
      const warnings: string[] = [];
      const engine = await createEngine(imp.model, data, {}, (l) => warnings.push(l));
      const jax = await JaxEngine.create(imp.model, data);
      try {
        expect(Math.abs((await engine.evaluate(imp.theta)).loss - (await jax.evaluate(imp.theta)).loss)).toBeLessThan(1e-5);
        const v = Float32Array.from(imp.theta, (_, i) => Math.cos(0.7 * i));
        expect(relL2(await engine.hvp(imp.theta, v), await jax.hvp(imp.theta, v))).toBeLessThan(1e-4);
        const d1 = Float32Array.from(imp.theta, (_, i) => 0.05 * Math.sin(i));
        const d2 = Float32Array.from(imp.theta, (_, i) => 0.05 * Math.sin(3 * i + 1));
        const plane = await engine.evaluatePlane(imp.theta, d1, d2, Float64Array.from([1, -1, -0.5, 0.5]));
        const direct = await jax.evaluate(pointWeights(imp.theta, d1, d2, -0.5, 0.5));
        expect(Math.abs(plane.loss[1]! - direct.loss)).toBeLessThan(1e-5 * Math.max(1, direct.loss));
        expect(warnings).toEqual([]);
      } finally {
        jax.dispose();
        await engine.dispose();
      }
    });
  }
});
