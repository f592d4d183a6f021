/**
 * Invariant factors folded at the prefix/rest split (GraphBuilder.toSplitModels):
 * (v·m₁)·m₂ → v·(m₁·m₂), also through a Reshape, with the product computed by the prefix.
 * The split graphs must give the unsplit graph's values, and a product that another node also
 * reads must keep its own value.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../../src/engine/onnx/graph-builder.js';
import { summarizeModel } from '../../../src/engine/onnx/inspect.js';
import { rng } from './helpers.js';

const opts = { intraOpNumThreads: 1 };

function data(shape: number[], seed: number): ort.Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, () => r() + 0.5), shape);
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
    expect(rest.ops['Mul']).toBe(3);
  });
});
