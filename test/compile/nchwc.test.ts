/**
 * The NCHWc rewrite of convolutions (GraphBuilder.nchwcBlock): onnxruntime's NCHWc Conv with
 * the weights reordered inside the graph gives the plain Conv's values, for every layout case
 * (inputs below one block kept NCHW, inputs at and above it reordered, channel padding of
 * inputs, outputs and bias, strides, pads, dilations), and the engine's HVPs and planes agree
 * with and without it.
 */

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/compile/graph-builder.js';
import { summarizeModel } from '../../src/compile/inspect.js';
import { mnistBalanced } from '../../src/data/mnist.js';
import { randomPlane } from '../../src/directions/directions.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { nchwcBlockSize } from '../../src/engine/ort/nchwc.js';
import { buildModel } from '../../src/model/zoo.js';
import { expectCloseToScale, rng } from './helpers.js';

const block = await nchwcBlockSize();

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() - 0.5);
}

interface Case {
  x: number[];
  w: number[];
  bias?: boolean;
  attrs?: Record<string, number[]>;
}

function convModel(c: Case, y: number[], nchwc: number): Uint8Array {
  const b = new GraphBuilder();
  b.nchwcBlock = nchwc;
  b.addInput('x', 'float32', c.x);
  b.addInput('w', 'float32', c.w);
  const inputs = ['x', 'w'];
  if (c.bias) {
    b.addInput('b', 'float32', [c.w[0]!]);
    inputs.push('b');
  }
  const out = b.op('Conv', inputs, y, 'float32', c.attrs ?? {});
  b.namedNode('Identity', [out], 'y');
  b.addOutput('y', 'float32', y);
  return b.toModel('conv');
}

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    return (await s.run(feeds)).y!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe.skipIf(!block)('NCHWc convolutions', () => {
  it('the probe finds the block size of an x86 build (8 with AVX2, 16 with AVX-512)', () => {
    expect([8, 16]).toContain(block);
  });

  const B = block ?? 16;
  const cases: [string, Case, number[]][] = [
    ['input below one block (stays NCHW), 5x5', { x: [3, B / 2, 12, 12], w: [B, B / 2, 5, 5] }, [3, B, 8, 8]],
    [
      'input below one block, strides and pads (a ResNet stem)',
      { x: [2, 3, 15, 15], w: [B, 3, 7, 7], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] } },
      [2, B, 8, 8],
    ],
    ['input of one block, bias', { x: [2, B, 9, 9], w: [B, B, 3, 3], bias: true }, [2, B, 7, 7]],
    ['input and output padded to blocks (wgrad-like), bias', { x: [2, B + 3, 7, 7], w: [B + 4, B + 3, 4, 4], bias: true }, [2, B + 4, 4, 4]],
    [
      'two input blocks, strides, pads, dilations',
      { x: [2, 2 * B, 11, 10], w: [2 * B, 2 * B, 3, 3], attrs: { strides: [2, 1], pads: [1, 2, 0, 1], dilations: [1, 2] } },
      [2, 2 * B, 5, 9],
    ],
  ];
  for (const [name, c, y] of cases) {
    it(`${name}: same values as the plain Conv`, async () => {
      const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', random(n(c.x), 1), c.x),
        w: new ort.Tensor('float32', random(n(c.w), 2), c.w),
      };
      if (c.bias) feeds.b = new ort.Tensor('float32', random(c.w[0]!, 3), [c.w[0]!]);
      const fast = convModel(c, y, B);
      expect(summarizeModel(fast).ops['com.microsoft.nchwc.Conv']).toBe(1);
      expect(summarizeModel(fast).ops.Conv ?? 0).toBe(0);
      const plain = await run(convModel(c, y, 0), feeds);
      const got = await run(fast, feeds);
      expect(got.length).toBe(n(y));
      expectCloseToScale(plain, got, 1e-5, 0.1);
    });
  }

  for (const O of [B, 2 * B]) {
    it(`weight-gradient conv (weights = Transpose(s, [1,0,2,3]), ${O} outputs): reordered from s, same values`, async () => {
      const I0 = 2 * B + 5;
      const make = (nchwc: number) => {
        const b = new GraphBuilder();
        b.nchwcBlock = nchwc;
        b.addInput('x', 'float32', [3, I0, 9, 9]);
        b.addInput('s', 'float32', [I0, O, 4, 4]);
        const w = b.op('Transpose', ['s'], [O, I0, 4, 4], 'float32', { perm: [1, 0, 2, 3] });
        b.namedNode('Identity', [b.op('Conv', ['x', w], [3, O, 6, 6], 'float32')], 'y');
        b.addOutput('y', 'float32', [3, O, 6, 6]);
        return b.toModel('wgrad');
      };
      const fast = make(B);
      const ops = summarizeModel(fast).ops;
      expect(ops['com.microsoft.nchwc.Conv']).toBe(1);
      expect(ops.Transpose).toBe(1); // the swap is folded into the reorder
      const feeds = {
        x: new ort.Tensor('float32', random(3 * I0 * 81, 8), [3, I0, 9, 9]),
        s: new ort.Tensor('float32', random(I0 * O * 16, 9), [I0, O, 4, 4]),
      };
      const plain = await run(make(0), feeds);
      const got = await run(fast, feeds);
      expectCloseToScale(plain, got, 1e-5);
    });
  }

  it('two NCHWc convs added: the second accumulates into the first (one reorder, no Add), same values', async () => {
    const make = (nchwc: number) => {
      const b = new GraphBuilder();
      b.nchwcBlock = nchwc;
      b.addInput('x1', 'float32', [2, B / 2, 12, 12]);
      b.addInput('x2', 'float32', [2, B / 2, 12, 12]);
      b.addInput('w1', 'float32', [B, B / 2, 5, 5]);
      b.addInput('w2', 'float32', [B, B / 2, 5, 5]);
      b.addInput('b2', 'float32', [B]);
      const y1 = b.op('Conv', ['x1', 'w1'], [2, B, 8, 8], 'float32');
      const y2 = b.op('Conv', ['x2', 'w2', 'b2'], [2, B, 8, 8], 'float32');
      b.namedNode('Identity', [b.op('Add', [y1, y2], [2, B, 8, 8], 'float32')], 'y');
      b.addOutput('y', 'float32', [2, B, 8, 8]);
      return b.toModel('sum');
    };
    const ops = summarizeModel(make(B)).ops;
    expect(ops['com.microsoft.nchwc.Conv']).toBe(2);
    expect(ops['com.microsoft.nchwc.ReorderOutput']).toBe(1);
    expect(ops.Add ?? 0).toBe(0);
    const feeds = {
      x1: new ort.Tensor('float32', random(2 * (B / 2) * 144, 11), [2, B / 2, 12, 12]),
      x2: new ort.Tensor('float32', random(2 * (B / 2) * 144, 12), [2, B / 2, 12, 12]),
      w1: new ort.Tensor('float32', random(B * (B / 2) * 25, 13), [B, B / 2, 5, 5]),
      w2: new ort.Tensor('float32', random(B * (B / 2) * 25, 14), [B, B / 2, 5, 5]),
      b2: new ort.Tensor('float32', random(B, 15), [B]),
    };
    const plain = await run(make(0), feeds);
    const got = await run(make(B), feeds);
    expectCloseToScale(plain, got, 1e-5, 0.1);
  });

  it('convs it would slow down stay plain: fewer output channels than a block, large kernels, constant weights', () => {
    const few = convModel({ x: [2, 1, 28, 28], w: [B / 2, 1, 5, 5] }, [2, B / 2, 24, 24], B);
    expect(summarizeModel(few).ops.Conv).toBe(1);
    const large = convModel({ x: [1, B, 28, 28], w: [B, B, 24, 24] }, [1, B, 5, 5], B);
    expect(summarizeModel(large).ops.Conv).toBe(1);
    const b = new GraphBuilder();
    b.nchwcBlock = B;
    b.addInput('x', 'float32', [1, B, 8, 8]);
    const w = b.addInitializer('float32', [B, B, 3, 3], new Uint8Array(random(B * B * 9, 4).buffer));
    b.namedNode('Identity', [b.op('Conv', ['x', w], [1, B, 6, 6], 'float32')], 'y');
    b.addOutput('y', 'float32', [1, B, 6, 6]);
    expect(summarizeModel(b.toModel('c')).ops.Conv).toBe(1);
  });

  it('CNN engine: HVPs and plane losses with NCHWc equal the plain graphs', async () => {
    const data = mnistBalanced(20);
    const model = buildModel({ type: 'cnn', channels: [8, 16], kernel: 5 }, data.inputShape, 10);
    const theta = model.init(5);
    const fast = await OrtEngine.create(model, data, { threads: 1, planeBatch: 4 });
    const plain = await OrtEngine.create(model, data, { threads: 1, planeBatch: 4, nchwc: false });
    expect(summarizeModel(fast.hvpProgram().graphs[200]!.rest).ops['com.microsoft.nchwc.Conv']).toBeGreaterThanOrEqual(2);
    expect(summarizeModel(plain.hvpProgram().graphs[200]!.rest).ops['com.microsoft.nchwc.Conv'] ?? 0).toBe(0);
    const v = random(theta.length, 7);
    const a = await fast.hvp(theta, v);
    const b = await plain.hvp(theta, v);
    expectCloseToScale(b, a, 1e-5); // measured 2e-7: float32 rounding of another summation order
    const plane = randomPlane(theta, model.layout, { seed: 2, norm: 'filter', ignore: 'none' });
    const pts = new Float64Array([0, 0, 0.5, -0.25, -1, 1, 0.75, 0.75]);
    const la = await fast.evaluatePlane(theta, plane.dx, plane.dy, pts);
    const lb = await plain.evaluatePlane(theta, plane.dx, plane.dy, pts);
    for (let k = 0; k < 4; k++) expect(Math.abs(la.loss[k]! - lb.loss[k]!) / lb.loss[k]!).toBeLessThan(1e-5);
    await fast.dispose();
    await plain.dispose();
  });
});
