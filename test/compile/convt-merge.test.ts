/**
 * ConvT(a, W1) + ConvT(b, W2) → one ConvT over [a, b] and [W1; W2] (GraphBuilder): the same
 * values, one ConvTranspose; not merged when a ConvT result has another reader.
 */

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/compile/graph-builder.js';
import { summarizeModel } from '../../src/compile/inspect.js';
import { expectCloseToScale, rng } from './helpers.js';

function tensor(shape: number[], seed: number): ort.Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: n }, () => r() - 0.5),
    shape,
  );
}

function model(shared: boolean): Uint8Array {
  const b = new GraphBuilder();
  b.addInput('a', 'float32', [2, 6, 5, 5]);
  b.addInput('b', 'float32', [2, 4, 5, 5]);
  b.addInput('w1', 'float32', [6, 3, 3, 3]);
  b.addInput('w2', 'float32', [4, 3, 3, 3]);
  const attrs = { strides: [2, 2], pads: [1, 1, 0, 0] };
  const p = b.op('ConvTranspose', ['a', 'w1'], [2, 3, 10, 10], 'float32', attrs);
  const q = b.op('ConvTranspose', ['b', 'w2'], [2, 3, 10, 10], 'float32', attrs);
  b.namedNode('Identity', [b.op('Add', [p, q], [2, 3, 10, 10], 'float32')], 'y');
  b.addOutput('y', 'float32', [2, 3, 10, 10]);
  if (shared) {
    b.namedNode('Identity', [q], 'z');
    b.addOutput('z', 'float32', [2, 3, 10, 10]);
  }
  return b.toModel('convt');
}

describe('summed transposed convolutions', () => {
  it('run as one ConvTranspose with the same values', async () => {
    const feeds = { a: tensor([2, 6, 5, 5], 1), b: tensor([2, 4, 5, 5], 2), w1: tensor([6, 3, 3, 3], 3), w2: tensor([4, 3, 3, 3], 4) };
    const merged = model(false);
    expect(summarizeModel(merged).ops.ConvTranspose).toBe(1);
    expect(summarizeModel(model(true)).ops.ConvTranspose).toBe(2);
    const s1 = await ort.InferenceSession.create(merged);
    const s2 = await ort.InferenceSession.create(model(true));
    const y1 = (await s1.run(feeds)).y!.data as Float32Array;
    const y2 = (await s2.run(feeds)).y!.data as Float32Array;
    expect(y1.length).toBe(600);
    expectCloseToScale(y2, y1, 1e-6, 0.1);
    await s1.release();
    await s2.release();
  });
});
