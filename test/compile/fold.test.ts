/**
 * Rewrites made at the prefix/rest split (GraphBuilder.toSplitModels), where it is known what
 * varies per call: invariant factors folded, (v·m₁)·m₂ → v·(m₁·m₂) (also through a Reshape,
 * the product computed by the prefix; a product another node also reads keeps its own value),
 * and convolutions of an invariant input with a varying kernel as GEMMs over patches unfolded
 * once by the prefix. The split graphs must give the unsplit graph's values.
 */

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/compile/graph-builder.js';
import { summarizeModel } from '../../src/compile/inspect.js';
import { expectCloseToScale, rng } from './helpers.js';

const opts = { intraOpNumThreads: 1 };

function data(shape: number[], seed: number): ort.Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: n }, () => r() + 0.5),
    shape,
  );
}

/**
 * y = (((v·m1)·m5 → [6,4])·m2)·m3 (m5 broadcast), z = (m1·v)·m4 + (m1·v) (the inner product
 * also read directly: not folded).
 */
function graph(): GraphBuilder {
  const b = new GraphBuilder();
  b.addInput('v', 'float32', [2, 3, 4]);
  b.addInput('m1', 'float32', [2, 3, 4]);
  b.addInput('m2', 'float32', [6, 4]);
  b.addInput('m3', 'float32', [6, 4]);
  b.addInput('m4', 'float32', [3, 1]);
  b.addInput('m5', 'float32', [1, 3, 1]);
  const p0 = b.op('Mul', ['v', 'm1'], [2, 3, 4], 'float32');
  const p = b.op('Mul', [p0, 'm5'], [2, 3, 4], 'float32');
  const r = b.op('Reshape', [p, b.int64s([6, 4])], [6, 4], 'float32');
  const q = b.op('Mul', [r, 'm2'], [6, 4], 'float32');
  b.namedNode('Mul', [q, 'm3'], 'y'); // a graph output: kept as an Identity of the folded product
  b.shapes.set('y', [6, 4]);
  b.dtypes.set('y', 'float32');
  b.addOutput('y', 'float32', [6, 4]);
  const w = b.op('Mul', ['m1', 'v'], [2, 3, 4], 'float32'); // a second, separate product
  const u = b.op('Mul', [w, 'm4'], [2, 3, 4], 'float32');
  b.namedNode('Add', [u, w], 'z');
  b.addOutput('z', 'float32', [2, 3, 4]);
  return b;
}

/** Run prefix then rest as the engine does; the outputs of the split pair. */
async function runSplit(b: GraphBuilder, vary: string[], feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const split = b.toSplitModels('g', vary);
  expect(split.prefix).not.toBeNull();
  const pre = await run(split.prefix!, Object.fromEntries(split.prefixInputs.map((n) => [n, feeds[n]!])));
  const restFeeds: Record<string, ort.Tensor> = {};
  for (const n of split.restInputs) restFeeds[n] = feeds[n] ?? pre[n]!;
  return run(split.rest, restFeeds);
}

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(model, opts);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe('invariant factors folded into the prefix', () => {
  it('split graphs give the unsplit values; the per-call graph has one Mul per product', async () => {
    const feeds: Record<string, ort.Tensor> = {
      v: data([2, 3, 4], 1),
      m1: data([2, 3, 4], 2),
      m2: data([6, 4], 3),
      m3: data([6, 4], 4),
      m4: data([3, 1], 5),
      m5: data([1, 3, 1], 6),
    };
    const whole = await run(graph().toModel('g'), feeds);
    const split = graph().toSplitModels('g', ['v']);
    expect(split.prefix).not.toBeNull();
    const pre = await run(split.prefix!, Object.fromEntries(split.prefixInputs.map((n) => [n, feeds[n]!])));
    const restFeeds: Record<string, ort.Tensor> = {};
    for (const n of split.restInputs) restFeeds[n] = feeds[n] ?? pre[n]!;
    const got = await run(split.rest, restFeeds);
    for (const k of ['y', 'z']) {
      const a = whole[k]!.data as Float32Array;
      const b = got[k]!.data as Float32Array;
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThan(1e-6 * Math.abs(a[i]!));
    }
    // y: v·(m1·m5·m2·m3) is one Mul per call; z: w = m1·v is read twice, so w·m4 stays
    const rest = summarizeModel(split.rest);
    expect(rest.ops.Mul).toBe(3);
  });
});

describe('convolutions of an invariant input with a varying kernel', () => {
  for (const swapped of [false, true]) {
    it(`run as GEMMs over patches unfolded by the prefix${swapped ? ' (kernel = Transpose(s, [1,0,2,3]))' : ''}`, async () => {
      const [C, O, H, k] = [7, 3, 9, 6];
      const o = H - k + 1;
      const make = () => {
        const b = new GraphBuilder();
        b.addInput('x', 'float32', [1, C, H, H]);
        b.addInput('v', 'float32', swapped ? [C, O, k, k] : [O, C, k, k]);
        const w = swapped ? b.op('Transpose', ['v'], [O, C, k, k], 'float32', { perm: [1, 0, 2, 3] }) : 'v';
        b.namedNode('Identity', [b.op('Conv', ['x', w], [1, O, o, o], 'float32')], 'y');
        b.addOutput('y', 'float32', [1, O, o, o]);
        return b;
      };
      const feeds = { x: data([1, C, H, H], 7), v: data(swapped ? [C, O, k, k] : [O, C, k, k], 8) };
      const split = make().toSplitModels('g', ['v']);
      const ops = summarizeModel(split.rest).ops;
      expect(ops.Conv ?? 0).toBe(0);
      expect(ops.MatMul).toBe(1);
      expect(ops.Transpose ?? 0).toBe(0);
      expect(summarizeModel(split.prefix!).ops.Slice).toBe(o * o);
      const whole = await run(make().toModel('g'), feeds);
      const got = await runSplit(make(), ['v'], feeds);
      expectCloseToScale(whole.y!.data as Float32Array, got.y!.data as Float32Array, 1e-6);
    });
  }

  it('the bias gradient (a ReduceSum of the same kernel tensor) comes out of the same GEMM', async () => {
    const [C, O, H, k] = [7, 3, 9, 6];
    const o = H - k + 1;
    const make = () => {
      const b = new GraphBuilder();
      b.addInput('x', 'float32', [1, C, H, H]);
      b.addInput('v', 'float32', [C, O, k, k]);
      const w = b.op('Transpose', ['v'], [O, C, k, k], 'float32', { perm: [1, 0, 2, 3] });
      b.namedNode('Identity', [b.op('Conv', ['x', w], [1, O, o, o], 'float32')], 'y');
      b.addOutput('y', 'float32', [1, O, o, o]);
      b.namedNode('Identity', [b.op('ReduceSum', ['v', b.int64s([0, 2, 3])], [O], 'float32', { keepdims: 0 })], 'db');
      b.addOutput('db', 'float32', [O]);
      return b;
    };
    const feeds = { x: data([1, C, H, H], 9), v: data([C, O, k, k], 10) };
    const split = make().toSplitModels('g', ['v']);
    const ops = summarizeModel(split.rest).ops;
    expect(ops.MatMul).toBe(1);
    expect(ops.ReduceSum).toBe(1); // the GEMM's sum over channels only
    const whole = await run(make().toModel('g'), feeds);
    const got = await runSplit(make(), ['v'], feeds);
    expectCloseToScale(whole.y!.data as Float32Array, got.y!.data as Float32Array, 1e-6);
    expectCloseToScale(whole.db!.data as Float32Array, got.db!.data as Float32Array, 1e-6);
  });

  it('a varying input, or a large output, keeps the Conv', () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', [1, 4, 20, 20]);
    b.addInput('w', 'float32', [2, 4, 3, 3]);
    b.namedNode('Identity', [b.op('Conv', ['x', 'w'], [1, 2, 18, 18], 'float32')], 'y');
    b.addOutput('y', 'float32', [1, 2, 18, 18]);
    expect(summarizeModel(b.toSplitModels('g', ['w']).rest).ops.Conv).toBe(1);
    expect(summarizeModel(b.toSplitModels('g', ['x']).rest).ops.Conv).toBe(1);
  });
});

describe('a setup graph for what depends on the fixed inputs (the data) alone', () => {
  // e = exp(x) depends on the data only; a = e·w on θ too; y = a·v + e·v per call
  const make = () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', [4, 5]);
    b.addInput('w', 'float32', [5, 3]);
    b.addInput('v', 'float32', [4, 3]);
    const e = b.op('Exp', ['x'], [4, 5], 'float32');
    const e3 = b.op('Slice', [e, b.int64s([0]), b.int64s([3]), b.int64s([1])], [4, 3], 'float32');
    const a = b.op('MatMul', [e, 'w'], [4, 3], 'float32');
    b.namedNode('Add', [b.op('Mul', [a, 'v'], [4, 3], 'float32'), b.op('Mul', [e3, 'v'], [4, 3], 'float32')], 'y');
    b.addOutput('y', 'float32', [4, 3]);
    return b;
  };
  const feeds = { x: data([4, 5], 11), w: data([5, 3], 12), v: data([4, 3], 13) };

  it('setup → prefix → rest give the unsplit values; the data-only nodes run in setup only', async () => {
    const split = make().toSplitModels('g', ['v'], undefined, ['x']);
    expect(split.setup).not.toBeNull();
    expect(split.setupInputs).toEqual(['x']);
    expect(summarizeModel(split.setup!).ops.Exp).toBe(1);
    expect(summarizeModel(split.prefix!).ops.Exp ?? 0).toBe(0);
    expect(summarizeModel(split.rest).ops.Exp ?? 0).toBe(0);
    const fixed = split.fixedOutputs.map((f) => f.name);
    expect(fixed.length).toBe(2); // exp(x) for the prefix's MatMul, its slice for the rest
    expect(split.prefixInputs).not.toContain('x');
    expect(split.restInputs).not.toContain('x');
    expect(split.prefixInputs.filter((n) => fixed.includes(n)).length).toBe(1);
    expect(split.restInputs.filter((n) => fixed.includes(n)).length).toBe(1);
    const set = await run(split.setup!, { x: feeds.x });
    const pick = (names: string[], extra: Record<string, ort.Tensor>) =>
      Object.fromEntries(names.map((n) => [n, extra[n] ?? set[n] ?? (feeds as Record<string, ort.Tensor>)[n]!]));
    const pre = await run(split.prefix!, pick(split.prefixInputs, {}));
    const got = await run(split.rest, pick(split.restInputs, pre));
    const whole = await run(make().toModel('g'), feeds);
    expectCloseToScale(whole.y!.data as Float32Array, got.y!.data as Float32Array, 1e-6);
  });

  it('without fixed inputs there is no setup graph and the prefix computes them', () => {
    const split = make().toSplitModels('g', ['v']);
    expect(split.setup).toBeNull();
    expect(split.fixedOutputs).toEqual([]);
    expect(summarizeModel(split.prefix!).ops.Exp).toBe(1);
  });
});
