import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { grad, numpy as np } from '@jax-js/jax';
import { TensorProto_DataType as DT, StringStringEntryProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/data/dataset.js';
import { loadDataFile } from '../../src/data/files.js';
import { readDirectionFile } from '../../src/directions/file.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { sampleLosses } from '../../src/engine/loss.js';
import { makeTensor } from '../../src/io/onnx-proto.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { loadOnnxModel } from '../../src/model/onnx/load.js';
import { buildModel } from '../../src/model/zoo.js';
import { computeSurface } from '../../src/surface/surface.js';
import { FIXTURE, fixtureData, fixtureTheta } from '../helpers/fixture.js';
import { maxRelDiff } from '../helpers/numeric.js';
import { GraphBuilder, randoms, zooCnnGraph, zooResnetGraph } from './onnx-builder.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-onnx-'));

/** Run an import through jax-js (eval mode) and through onnxruntime on graphBytes; max abs difference. */
async function vsOnnxruntime(bytes: Uint8Array, inShape: number[], n = 3) {
  const imp = await loadOnnxModel(bytes, { label: 'test.onnx' });
  const x = randoms(n * inShape.reduce((a, b) => a * b, 1), 7, 2);
  const params = imp.model.layout.entries.map((e) => np.array(imp.theta.slice(e.offset, e.offset + e.size), { shape: e.shape }));
  const r = imp.model.apply(params, np.array(x, { shape: [n, ...inShape] }));
  const mine = await r.out.data();
  const s = await ort.InferenceSession.create(imp.graphBytes);
  const feeds: Record<string, ort.Tensor> = { [imp.inputName]: new ort.Tensor('float32', x, [n, ...inShape]) };
  for (const e of imp.model.layout.entries) feeds[e.name] = new ort.Tensor('float32', imp.theta.slice(e.offset, e.offset + e.size), e.shape);
  const ref = (await s.run(feeds))[imp.outputName]!.data as Float32Array;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(ref[i]! - mine[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return { err, scale, count: ref.length, imp };
}

describe('loadOnnxModel on the reference fixture (torch.onnx.export MLP)', () => {
  it('takes the parameters in net.parameters() order with torch names, shapes and roles', async () => {
    const imp = await loadOnnxModel(`${FIXTURE}model.onnx`);
    const ref = JSON.parse(readFileSync(`${FIXTURE}params.json`, 'utf8')).params as { onnx_initializer_name: string; shape: number[]; flat_offset: number }[];
    expect(imp.model.layout.entries.map((e) => e.name)).toEqual(ref.map((p) => p.onnx_initializer_name));
    expect(imp.model.layout.entries.map((e) => e.shape)).toEqual(ref.map((p) => p.shape));
    expect(imp.model.layout.entries.map((e) => e.offset)).toEqual(ref.map((p) => p.flat_offset));
    expect(imp.model.layout.entries.map((e) => e.role)).toEqual(['weight', 'bias', 'weight', 'bias']);
    expect(imp.model.inputShape).toEqual([784]);
    expect(imp.model.outputDim).toBe(10);
    expect([imp.inputName, imp.outputName]).toEqual(['x', 'logits']);
    expect(Array.from(imp.theta)).toEqual(Array.from(fixtureTheta()));
    expect(imp.model.name).toBe('onnx model.onnx (pytorch 1.13.0, opset 13)');
  });

  it('reproduces surface.h5 from model.onnx + directions.h5 + data.h5 (1e-5 relative, accuracy exact)', async () => {
    const imp = await loadOnnxModel(`${FIXTURE}model.onnx`);
    const data = await loadDataFile(`${FIXTURE}data.h5`);
    const dirs = await readDirectionFile(`${FIXTURE}directions.h5`, imp.model.layout);
    const ref = await readGridFile(`${FIXTURE}surface.h5`);
    const engine = await JaxEngine.create(imp.model, data);
    const t0 = performance.now();
    const gf = await computeSurface({
      theta: imp.theta,
      dx: dirs.dx,
      dy: dirs.dy,
      grid: ref.grid,
      engines: { train: engine },
      path: join(tmp(), 's.h5'),
      context: 'onnx fixture',
    });
    const ms = performance.now() - t0;
    engine.dispose();
    const rel = maxRelDiff(gf.values.train_loss!, ref.values.train_loss!);
    let accDiff = 0;
    gf.values.train_acc!.forEach((v, i) => (accDiff = Math.max(accDiff, Math.abs(v - ref.values.train_acc![i]!))));
    console.log(`onnx fixture surface: 441 points in ${ms.toFixed(0)} ms, max rel loss error ${rel.toExponential(2)}`);
    expect(gf.values.train_loss!.length).toBe(441);
    expect(rel).toBeLessThan(1e-5);
    expect(accDiff).toBe(0);
  });

  it('gives the same loss, gradient and HVP as the zoo MLP with the same weights', async () => {
    const imp = await loadOnnxModel(`${FIXTURE}model.onnx`);
    const zoo = buildModel({ type: 'mlp', hidden: [64] }, [784], 10);
    const data = fixtureData();
    const theta = fixtureTheta();
    const a = await JaxEngine.create(imp.model, data);
    const b = await JaxEngine.create(zoo, data);
    const ga = await a.gradient(theta);
    const gb = await b.gradient(theta);
    const v = Float32Array.from({ length: theta.length }, (_, i) => Math.sin(i));
    const ha = await a.hvp(theta, v);
    const hb = await b.hvp(theta, v);
    a.dispose();
    b.dispose();
    expect(ga.loss).toBe(gb.loss);
    expect(maxRelDiff(ga.grad, gb.grad)).toBeLessThan(1e-6);
    expect(maxRelDiff(ha, hb)).toBeLessThan(1e-6);
  });

  it('graphBytes (weights as inputs) runs in onnxruntime-node and agrees with jax-js at a perturbed θ', async () => {
    const imp = await loadOnnxModel(`${FIXTURE}model.onnx`);
    const s = await ort.InferenceSession.create(imp.graphBytes);
    expect(s.inputNames).toEqual(['x', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(s.outputNames).toEqual(['logits']);
    const theta = imp.theta.map((t, i) => t + 0.01 * Math.cos(i));
    const data = take(
      fixtureData(),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', data.x, [50, 784]) };
    for (const e of imp.model.layout.entries) feeds[e.name] = new ort.Tensor('float32', theta.slice(e.offset, e.offset + e.size), e.shape);
    const ref = (await s.run(feeds)).logits!.data as Float32Array;
    const params = imp.model.layout.entries.map((e) => np.array(theta.slice(e.offset, e.offset + e.size), { shape: e.shape }));
    const mine = await imp.model.apply(params, np.array(data.x, { shape: [50, 784] })).out.data();
    expect(maxRelDiff(mine, ref)).toBeLessThan(1e-6);
  });
});

describe('ONNX graphs built here match the zoo twins exactly (eval and train mode)', () => {
  const data = take(
    fixtureData(),
    Array.from({ length: 16 }, (_, i) => i * 7),
  );
  const perturbState = (layout: ReturnType<typeof buildModel>['layout'], theta: Float32Array) => {
    for (const e of layout.entries) {
      if (e.role === 'weight' || e.role === 'bias') continue;
      for (let i = 0; i < e.size; i++) theta[e.offset + i]! += (e.role === 'running_var' ? 0.5 : 0.1) * Math.sin(i + e.offset);
    }
  };
  async function compare(zoo: ReturnType<typeof buildModel>, bytes: Uint8Array, theta: Float32Array) {
    const imp = await loadOnnxModel(bytes, { label: 'twin.onnx' });
    expect(imp.model.layout.entries.map((e) => [e.name, e.role, e.shape])).toEqual(zoo.layout.entries.map((e) => [e.name, e.role, e.shape]));
    expect(imp.model.batchNorms).toEqual(zoo.batchNorms);
    expect(imp.theta).toEqual(theta);
    const v = Float32Array.from({ length: theta.length }, (_, i) => Math.cos(i));
    for (const mode of ['eval', 'train'] as const) {
      const a = await JaxEngine.create(imp.model, data, { mode });
      const b = await JaxEngine.create(zoo, data, { mode });
      const [ma, mb] = [await a.evaluate(theta), await b.evaluate(theta)];
      const [ga, gb] = [await a.gradient(theta), await b.gradient(theta)];
      const [ha, hb] = [await a.hvp(theta, v), await b.hvp(theta, v)];
      a.dispose();
      b.dispose();
      expect(ma.loss, mode).toBeCloseTo(mb.loss, 6);
      expect(ma.acc, mode).toBe(mb.acc);
      expect(maxRelDiff(ga.grad, gb.grad), mode).toBeLessThan(1e-5);
      expect(maxRelDiff(ha, hb), mode).toBeLessThan(1e-5);
    }
  }

  it('CNN: Reshape(0,…) → Conv → BatchNormalization → Relu → MaxPool ×2 → Flatten → Gemm', async () => {
    const zoo = buildModel({ type: 'cnn', channels: [4, 8], kernel: 3, batchNorm: true, dense: [] }, [784], 10);
    const theta = zoo.init(1);
    perturbState(zoo.layout, theta);
    await compare(zoo, zooCnnGraph(zoo.layout, theta, [784], [4, 8], true, 'max'), theta);
  });

  it('ResNet: strided convs, BN, residual Add, GlobalAveragePool, torch-style Shape/Gather/Concat/Reshape flatten', async () => {
    const zoo = buildModel({ type: 'resnet', width: 4, blocks: [1, 1] }, [784], 10);
    const theta = zoo.init(2);
    perturbState(zoo.layout, theta);
    await compare(zoo, zooResnetGraph(zoo.layout, theta, 4, [1, 1]), theta);
  });

  it('MLP with Dropout: train mode uses the same fixed masks as the zoo MLP', async () => {
    const zoo = buildModel({ type: 'mlp', hidden: [32], dropout: 0.3 }, [784], 10);
    const theta = zoo.init(3);
    const g = new GraphBuilder().input('x', ['batch', 784]).output('logits');
    for (const e of zoo.layout.entries) g.init(e.name, e.shape, theta.subarray(e.offset, e.offset + e.size));
    let h = g.node('Relu', [g.node('Gemm', ['x', 'fc1.weight', 'fc1.bias'], { transB: 1 })]);
    h = g.node('Dropout', [h, g.init('ratio', [], [0.3]), g.init('training', [], [1], DT.BOOL)]);
    g.node('Gemm', [h, 'fc2.weight', 'fc2.bias'], { transB: 1 }, ['logits']);
    const imp = await loadOnnxModel(g.bytes(13));
    expect(imp.model.dropoutSites).toEqual(zoo.dropoutSites);
    await compare(zoo, g.bytes(13), theta);
  });
});

describe('ONNX op semantics agree with onnxruntime-node', () => {
  it('a CNN with Conv / MaxPool / BatchNormalization / GlobalAveragePool / Flatten / Gemm, and its float64 gradient', async () => {
    const g = new GraphBuilder().input('x', ['N', 3, 10, 10]).output('logits');
    g.init('conv.weight', [6, 3, 3, 3], randoms(162, 1, 0.4));
    g.init('conv.bias', [6], randoms(6, 2, 0.1));
    g.init(
      'bn.weight',
      [6],
      randoms(6, 3, 0.5).map((v) => 1 + v),
    );
    g.init('bn.bias', [6], randoms(6, 4, 0.2));
    g.init('bn.running_mean', [6], randoms(6, 5, 0.3));
    g.init(
      'bn.running_var',
      [6],
      randoms(6, 6, 0.4).map((v) => 1 + v),
    );
    g.init('fc.weight', [4, 6], randoms(24, 7, 0.5));
    g.init('fc.bias', [4], randoms(4, 8, 0.1));
    let h = g.node('Conv', ['x', 'conv.weight', 'conv.bias'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
    h = g.node('BatchNormalization', [h, 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], { epsilon: { float: 1e-5 } });
    h = g.node('Relu', [h]);
    h = g.node('MaxPool', [h], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    h = g.node('GlobalAveragePool', [h]);
    h = g.node('Flatten', [h]);
    g.node('Gemm', [h, 'fc.weight', 'fc.bias'], { transB: 1 }, ['logits']);
    const bytes = g.bytes();
    const { err, scale, imp } = await vsOnnxruntime(bytes, [3, 10, 10], 4);
    expect(err / scale).toBeLessThan(1e-5);
    expect(imp.model.layout.entries.map((e) => e.role)).toEqual(['weight', 'bias', 'bn_scale', 'bn_shift', 'running_mean', 'running_var', 'weight', 'bias']);

    // gradient vs central differences, everything in float64 (arrays made by astype: jax-js's
    // array() cannot take a Float64Array on Node 20). Squared error, not cross-entropy: jax-js's
    // float64 exp/log are only about float32-accurate, which would swamp the differences.
    const n = 6;
    const f64 = (a: Float32Array, shape: number[]) => np.array(a, { shape }).astype(np.float64);
    const x = f64(randoms(n * 300, 11, 1), [n, 3, 10, 10]);
    const t = f64(
      Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0)),
      [n, 4],
    );
    const lossOf = (params: np.Array[]) => sampleLosses(imp.model.apply(params, x.ref).out, t.ref, 'mse').sum();
    const entries = imp.model.layout.entries;
    const theta = imp.theta;
    const dir = Float32Array.from({ length: theta.length }, (_, i) => Math.sin(3 * i + 1));
    const at = (eps: number) =>
      entries.map((e) => f64(theta.slice(e.offset, e.offset + e.size), e.shape).add(f64(dir.slice(e.offset, e.offset + e.size), e.shape).mul(eps)));
    const gr = grad(lossOf)(at(0)) as np.Array[];
    let an = 0;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      const gk = await gr[k]!.data();
      for (let i = 0; i < e.size; i++) an += gk[i]! * dir[e.offset + i]!;
    }
    const eps = 1e-6;
    const plus = (await lossOf(at(eps)).data())[0]!;
    const minus = (await lossOf(at(-eps)).data())[0]!;
    const fd = (plus - minus) / (2 * eps);
    x.dispose();
    t.dispose();
    expect(gr[0]!.dtype).toBe(np.float64);
    expect(Math.abs(fd - an) / Math.abs(an)).toBeLessThan(1e-8);
  });

  const convCases: [string, Record<string, unknown>, number[]][] = [
    ['stride 2, asymmetric pads', { strides: [2, 2], pads: [1, 0, 2, 1] }, [6, 3, 3, 3]],
    ['group 3, dilation 2', { group: 3, dilations: [2, 2], pads: [2, 2, 2, 2] }, [6, 1, 3, 3]],
    ['auto_pad SAME_UPPER, stride 2', { auto_pad: 'SAME_UPPER', strides: [2, 2] }, [4, 3, 4, 4]],
    ['auto_pad SAME_LOWER', { auto_pad: 'SAME_LOWER' }, [4, 3, 2, 2]],
    ['depthwise', { group: 3 }, [3, 1, 3, 3]],
  ];
  for (const [label, attrs, w] of convCases) {
    it(`Conv: ${label}`, async () => {
      const g = new GraphBuilder().input('x', ['N', 3, 9, 8]).output('y');
      g.init(
        'w',
        w,
        randoms(
          w.reduce((a, b) => a * b, 1),
          3,
        ),
      );
      g.init('b', [w[0]!], randoms(w[0]!, 4));
      g.node('Conv', ['x', 'w', 'b'], attrs as never, ['y']);
      const { err, scale } = await vsOnnxruntime(g.bytes(), [3, 9, 8]);
      expect(err / scale).toBeLessThan(1e-6);
    });
  }

  it('Conv 1-D', async () => {
    const g = new GraphBuilder().input('x', ['N', 2, 11]).output('y');
    g.init('w', [3, 2, 3], randoms(18, 5));
    g.node('Conv', ['x', 'w'], { strides: [2], pads: [1, 1] }, ['y']);
    const { err, scale } = await vsOnnxruntime(g.bytes(), [2, 11]);
    expect(err / scale).toBeLessThan(1e-6);
  });

  const poolCases: [string, string, Record<string, unknown>][] = [
    ['MaxPool k3 s2 pads 1', 'MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['MaxPool ceil_mode', 'MaxPool', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }],
    ['MaxPool k3 s1', 'MaxPool', { kernel_shape: [3, 3] }],
    ['MaxPool dilations', 'MaxPool', { kernel_shape: [2, 2], dilations: [2, 2] }],
    ['AveragePool pads, count_include_pad 0', 'AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['AveragePool pads, count_include_pad 1', 'AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }],
    ['AveragePool ceil_mode', 'AveragePool', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }],
    [
      'AveragePool ceil_mode + pads, count_include_pad 1',
      'AveragePool',
      { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, pads: [1, 1, 1, 1], count_include_pad: 1 },
    ],
    ['AveragePool 2×2 tiles', 'AveragePool', { kernel_shape: [2, 2], strides: [2, 2] }],
    ['GlobalAveragePool', 'GlobalAveragePool', {}],
    ['GlobalMaxPool', 'GlobalMaxPool', {}],
  ];
  for (const [label, op, attrs] of poolCases) {
    it(label, async () => {
      const g = new GraphBuilder().input('x', ['N', 2, 9, 8]).output('y');
      g.init('w', [2], [1.5, -0.5]);
      const m = g.node('Mul', ['x', g.node('Unsqueeze', ['w', g.ints('ax', [1, 2])])]);
      g.node(op, [m], attrs as never, ['y']);
      const { err, scale, imp } = await vsOnnxruntime(g.bytes(), [2, 9, 8]);
      expect(imp.model.layout.entries.map((e) => e.name)).toEqual(['w']);
      expect(err / scale).toBeLessThan(1e-6);
    });
  }

  it('MatMul, Add, LeakyRelu, Sigmoid, Tanh, Mul, Concat, Reshape(0, -1), Transpose, Identity, Flatten, Dropout, Gemm(α, β), Constant, Div, a delegated op (Selu), LogSoftmax', async () => {
    const g = new GraphBuilder().input('x', ['N', 12]).output('y');
    g.init('w1', [12, 8], randoms(96, 1));
    g.init('b1', [8], randoms(8, 2));
    g.init('w2', [5, 16], randoms(80, 3));
    g.init('b2', [5], randoms(5, 4));
    let h = g.node('Add', [g.node('MatMul', ['x', 'w1']), 'b1']);
    const a = g.node('LeakyRelu', [h], { alpha: { float: 0.2 } });
    const d = g.node('Mul', [a, g.node('Sigmoid', [h])]);
    const cat = g.node('Concat', [d, g.node('Tanh', [h])], { axis: 1 });
    const t = g.node('Transpose', [g.node('Reshape', [cat, g.ints('s', [0, 4, -1])])], { perm: [0, 2, 1] });
    const f = g.node('Flatten', [g.node('Identity', [t])]);
    const dr = g.node('Dropout', [f, g.init('ratio', [], [0.25])]);
    h = g.node('Gemm', [dr, 'w2', 'b2'], { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } });
    const k = g.node('Constant', [], { value: makeTensor('k', DT.FLOAT, [1], [3]) });
    g.node('LogSoftmax', [g.node('Selu', [g.node('Div', [h, k])])], { axis: 1 }, ['y']);
    const { err, scale, imp } = await vsOnnxruntime(g.bytes(), [12]);
    expect(imp.model.layout.entries.map((e) => e.name)).toEqual(['w1', 'b1', 'w2', 'b2']);
    expect(imp.model.dropoutSites).toEqual([{ p: 0.25, shape: [16] }]);
    // jax-js's float32 log/exp are accurate to ~1e-5 relative (LogSoftmax)
    expect(err / scale).toBeLessThan(2e-5);
  });

  it('opset 11: Pad, strided Slice, Clip, Pow, ReduceMean (axes attribute), Softmax on a 2-D coercion', async () => {
    const g = new GraphBuilder().input('x', ['N', 2, 3, 4]).output('y');
    g.init('w', [2, 1, 1], [0.7, -1.3]);
    let h = g.node('Mul', ['x', 'w']);
    h = g.node('Pad', [h, g.ints('pads', [0, 0, 1, 0, 0, 0, 0, 2])]);
    h = g.node('Slice', [h, g.ints('st', [0, 1]), g.ints('en', [100, -1]), g.ints('ax', [2, 3]), g.ints('sp', [2, 2])]);
    h = g.node('Clip', [h, g.init('lo', [], [-1]), g.init('hi', [], [1.5])]);
    h = g.node('Pow', [h, g.init('two', [], [2])]);
    h = g.node('ReduceMean', [h], { axes: [3], keepdims: 0 });
    g.node('Softmax', [h], { axis: 1 }, ['y']);
    const imp = await loadOnnxModel(g.bytes(11), { keepSoftmax: true });
    const { err, scale } = await vsOnnxruntime(g.bytes(11), [2, 3, 4]);
    expect(imp.outputName).toBe('y');
    expect(err / scale).toBeLessThan(1e-6);
  });

  it('ops delegated to @jax-js/onnx (Selu, Tile with a static input, Softsign, HardSigmoid) work under jit in the engine', async () => {
    const g = new GraphBuilder().input('x', ['N', 6]).output('y');
    g.init('w', [4, 6], randoms(24, 1));
    g.init('b', [4], randoms(4, 2));
    let h = g.node('Selu', [g.node('Gemm', ['x', 'w', 'b'], { transB: 1 })]);
    h = g.node('Softsign', [g.node('Tile', [h, g.ints('reps', [1, 2])])]);
    g.node('HardSigmoid', [h], {}, ['y']);
    const { err, scale, imp } = await vsOnnxruntime(g.bytes(), [6], 5);
    expect(err / scale).toBeLessThan(1e-6);
    expect(imp.model.outputDim).toBe(8);
    const ds = { name: 'r', inputShape: [6], x: randoms(5 * 6, 7, 2), y: Int32Array.from([0, 1, 2, 3, 7]), task: 'classification' as const, outputDim: 8 };
    const e = await JaxEngine.create(imp.model, ds);
    const first = await e.gradient(imp.theta);
    const again = await e.gradient(imp.theta);
    const h1 = await e.hvp(imp.theta, imp.theta);
    e.dispose();
    expect(again.grad).toEqual(first.grad);
    expect(first.grad.every(Number.isFinite) && first.grad.some((v) => v !== 0)).toBe(true);
    expect(h1.every(Number.isFinite)).toBe(true);
    // the engine's loss equals the cross-entropy of onnxruntime's logits (the same x as vsOnnxruntime: seed 7, scale 2)
    const s = await ort.InferenceSession.create(imp.graphBytes);
    const logits = (
      await s.run({
        x: new ort.Tensor('float32', ds.x, [5, 6]),
        w: new ort.Tensor('float32', imp.theta.slice(0, 24), [4, 6]),
        b: new ort.Tensor('float32', imp.theta.slice(24), [4]),
      })
    ).y!.data as Float32Array;
    let ce = 0;
    for (let n = 0; n < 5; n++) {
      const z = Array.from(logits.slice(8 * n, 8 * n + 8));
      const m = Math.max(...z);
      ce += m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[ds.y[n]!]!;
    }
    // (relative 1e-5: jax-js's float32 exp/log inside the loss)
    expect(Math.abs(first.loss - ce / 5) / (ce / 5)).toBeLessThan(1e-5);
  });

  it('drops a final Softmax (the losses want logits) and says so', async () => {
    const g = new GraphBuilder().input('x', ['N', 4]).output('probs');
    g.init('w', [3, 4], randoms(12, 9));
    g.node('Softmax', [g.node('Gemm', ['x', 'w'], { transB: 1 }, ['logits'])], { axis: 1 }, ['probs']);
    const imp = await loadOnnxModel(g.bytes());
    expect(imp.outputName).toBe('logits');
    expect(imp.notes[0]).toMatch(/dropped the final Softmax/);
    const s = await ort.InferenceSession.create(imp.graphBytes);
    expect(s.outputNames).toEqual(['logits']);
  });
});

describe('ONNX file variants', () => {
  it('initializers also listed as graph inputs (keep_initializers_as_inputs=True, IR < 4)', async () => {
    const g = new GraphBuilder().input('x', ['N', 4]).input('w', [3, 4]).input('b', [3]).output('y');
    g.init('w', [3, 4], randoms(12, 1));
    g.init('b', [3], randoms(3, 2));
    g.node('Gemm', ['x', 'w', 'b'], { transB: 1 }, ['y']);
    const { err, scale, imp } = await vsOnnxruntime(g.bytes(), [4]);
    expect(imp.inputName).toBe('x');
    expect(imp.model.layout.entries.map((e) => e.name)).toEqual(['w', 'b']);
    expect(err / scale).toBeLessThan(1e-6);
  });

  it('weights in an external data file (large torch exports)', async () => {
    const dir = tmp();
    const w = randoms(12, 1);
    const b = randoms(3, 2);
    const bin = new Uint8Array(64 + 48 + 12);
    bin.set(new Uint8Array(w.buffer), 64);
    bin.set(new Uint8Array(b.buffer), 112);
    writeFileSync(join(dir, 'weights.bin'), bin);
    const g = new GraphBuilder().input('x', ['N', 4]).output('y');
    for (const [name, shape, off, len] of [
      ['w', [3, 4], 64, 48],
      ['b', [3], 112, 12],
    ] as const) {
      const t = makeTensor(name, DT.FLOAT, [...shape], []);
      t.rawData = new Uint8Array(0);
      t.dataLocation = TensorProto_DataLocation.EXTERNAL;
      t.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: 'weights.bin' }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(off) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(len) }),
      ];
      g.inits.push(t);
    }
    g.node('Gemm', ['x', 'w', 'b'], { transB: 1 }, ['y']);
    writeFileSync(join(dir, 'm.onnx'), g.bytes());
    const imp = await loadOnnxModel(join(dir, 'm.onnx'));
    expect(Array.from(imp.theta)).toEqual([...w, ...b]);
    const s = await ort.InferenceSession.create(imp.graphBytes);
    expect(s.inputNames).toEqual(['x', 'w', 'b']);
    // from bytes, the external file cannot be found: one line
    await expect(loadOnnxModel(g.bytes(), { label: 'bytes.onnx' })).rejects.toThrow(
      /^bytes\.onnx: tensor "w" is stored in an external file; load the model from its path$/,
    );
  });
});

describe('loadOnnxModel errors are one clear line', () => {
  const oneLine = async (p: Promise<unknown>): Promise<string> => {
    const e = await p.then(
      () => null,
      (err: Error) => err,
    );
    expect(e, 'expected an error').toBeInstanceOf(Error);
    const msg = (e as Error).message;
    expect(msg.split('\n')).toHaveLength(1);
    return msg;
  };

  it('unsupported op names the op and the node', async () => {
    const g = new GraphBuilder().input('x', ['N', 5, 4]).output('y');
    g.init('W', [1, 32, 4], randoms(128, 1));
    g.init('R', [1, 32, 8], randoms(256, 2));
    g.node('LSTM', ['x', 'W', 'R'], { hidden_size: 8 }, ['y'], '/rnn/LSTM');
    const dir = tmp();
    writeFileSync(join(dir, 'model.onnx'), g.bytes());
    const msg = await oneLine(loadOnnxModel(join(dir, 'model.onnx'), { label: 'model.onnx' }));
    expect(msg).toBe('model.onnx: unsupported ONNX op "LSTM" (node "/rnn/LSTM")');
  });

  it('custom-domain op', async () => {
    const g = new GraphBuilder().input('x', ['N', 4]).output('y');
    g.node('Relu', ['x'], {}, ['y'], 'fused');
    g.nodes[0]!.domain = 'com.microsoft';
    const msg = await oneLine(loadOnnxModel(g.bytes(), { label: 'm.onnx' }));
    expect(msg).toBe('m.onnx: unsupported ONNX op "com.microsoft.Relu" (node "fused")');
  });

  it('truncated files, garbage, empty and missing files', async () => {
    const full = readFileSync(`${FIXTURE}model.onnx`);
    for (const cut of [1, 10, 100, 1000, 60000, 200000, full.length - 5]) {
      const msg = await oneLine(loadOnnxModel(full.subarray(0, cut), { label: 'cut.onnx' }));
      expect(msg.startsWith('cut.onnx: '), msg).toBe(true);
    }
    const half = await oneLine(loadOnnxModel(full.subarray(0, 100000), { label: 'half.onnx' }));
    expect(half).toMatch(/^half\.onnx: not a valid ONNX model \(truncated or corrupt protobuf/);
    const garbage = await oneLine(loadOnnxModel(new TextEncoder().encode('this is not an onnx file at all'), { label: 'g.onnx' }));
    expect(garbage).toMatch(/^g\.onnx: not a valid ONNX model/);
    expect(await oneLine(loadOnnxModel(new Uint8Array(0), { label: 'e.onnx' }))).toBe('e.onnx: empty file, not an ONNX model');
    expect(await oneLine(loadOnnxModel('/nonexistent/m.onnx'))).toBe('/nonexistent/m.onnx: cannot read the file (ENOENT)');
  });

  it('a fixed batch size baked into a Reshape is named as the likely cause', async () => {
    const g = new GraphBuilder().input('x', [8, 2, 2]).output('y');
    g.init('w', [3, 4], randoms(12, 9));
    g.node('Gemm', [g.node('Reshape', ['x', g.ints('s', [8, 4])]), 'w'], { transB: 1 }, ['y']);
    const msg = await oneLine(loadOnnxModel(g.bytes(), { label: 'fixed.onnx' }));
    expect(msg).toMatch(
      /^fixed\.onnx: node "\/Reshape_0" \(Reshape\): Reshape: cannot reshape \[1,2,2\] \(4 values\) to \[8,4\] \(the model was exported with a fixed batch size of 8; export it with dynamic_axes=\{"x": \{0: "batch"\}\}\)$/,
    );
  });

  it('symbolic input dims need inputShape; a wrong one is rejected', async () => {
    const g = new GraphBuilder().input('x', ['N', 'C']).output('y');
    g.init('w', [3, 4], randoms(12, 9));
    g.node('Gemm', ['x', 'w'], { transB: 1 }, ['y']);
    expect(await oneLine(loadOnnxModel(g.bytes(), { label: 'm.onnx' }))).toBe(
      'm.onnx: the model input "x" has shape [N,C]; give the per-sample input shape (inputShape)',
    );
    const ok = await loadOnnxModel(g.bytes(), { inputShape: [4] });
    expect(ok.model.outputDim).toBe(3);
    const msg = await oneLine(loadOnnxModel(g.bytes(), { inputShape: [5], label: 'm.onnx' }));
    expect(msg).toMatch(/^m\.onnx: node "\/Gemm_0" \(Gemm\): /);
  });
});

describe('Model.init on an import', () => {
  it('draws PyTorch-style fresh weights (U(±1/√fan_in)) and BN defaults', async () => {
    const zoo = buildModel({ type: 'cnn', channels: [4, 8], kernel: 3, batchNorm: true, dense: [] }, [784], 10);
    const imp = await loadOnnxModel(zooCnnGraph(zoo.layout, zoo.init(0), [784], [4, 8], true, 'max'));
    const t = imp.model.init(5);
    expect(Array.from(imp.model.init(5))).toEqual(Array.from(t));
    for (const e of imp.model.layout.entries) {
      const v = t.subarray(e.offset, e.offset + e.size);
      if (e.role === 'bn_scale' || e.role === 'running_var') expect(v.every((x) => x === 1)).toBe(true);
      else if (e.role === 'bn_shift' || e.role === 'running_mean') expect(v.every((x) => x === 0)).toBe(true);
      else {
        const fan = e.name.startsWith('conv1') ? 9 : e.name.startsWith('conv2') ? 36 : 8 * 5 * 5;
        const bound = 1 / Math.sqrt(fan);
        expect(Math.max(...v.map(Math.abs)), e.name).toBeLessThanOrEqual(bound);
        expect(Math.max(...v.map(Math.abs)), e.name).toBeGreaterThan(bound / 2);
      }
    }
  });
});
