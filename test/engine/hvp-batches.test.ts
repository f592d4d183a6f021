/**
 * HVP sub-batches (OrtEngine hvpBatch / hvpMemoryMB): a data batch runs as near-equal parts,
 * each with its own hoisted prefix; H·v is the same sum, to float32 rounding.
 */
import { describe, expect, it } from 'vitest';
import { mnistBalanced } from '../../src/data/mnist.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { HvpRunner, subBatchSizes } from '../../src/engine/ort/hvp-runner.js';
import { buildModel } from '../../src/model/zoo.js';
import { expectCloseToScale } from '../compile/helpers.js';

describe('HVP sub-batches', () => {
  it('near-equal parts of at most the batch size, covering every sample', () => {
    expect(subBatchSizes(1000, 250)).toEqual([250, 250, 250, 250]);
    expect(subBatchSizes(1000, 300)).toEqual([250, 250, 250, 250]);
    expect(subBatchSizes(1000, 1000)).toEqual([1000]);
    expect(subBatchSizes(1000, 5000)).toEqual([1000]);
    expect(subBatchSizes(10, 3)).toEqual([3, 3, 3, 1]);
    for (const [n, b] of [
      [7, 2],
      [999, 250],
      [1, 1],
      [64, 7],
    ] as const) {
      const s = subBatchSizes(n, b);
      expect(s.reduce((a, x) => a + x, 0)).toBe(n);
      expect(Math.max(...s)).toBeLessThanOrEqual(b);
    }
  });

  it('a CNN: whole batches and sub-batches give the same H·v; the default splits by hoisted bytes', async () => {
    const data = mnistBalanced(6); // 60 samples
    const model = buildModel({ type: 'cnn', channels: [8, 16], kernel: 5 }, data.inputShape, 10);
    const theta = model.init(1);
    const whole = await OrtEngine.create(model, data, { threads: 1, hvpBatch: 60 });
    const parts = await OrtEngine.create(model, data, { threads: 1, hvpBatch: 16 });
    const tight = await OrtEngine.create(model, data, { threads: 1, hvpMemoryMB: 2 });
    expect(whole.hvpProgram().batch).toBe(60);
    expect(Object.keys(whole.hvpProgram().graphs)).toEqual(['60']);
    expect(parts.hvpProgram().batch).toBe(16);
    expect(
      Object.keys(parts.hvpProgram().graphs)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([15]);
    // ~130 KB of hoisted inputs per sample: 60 samples are ~8 MB, over 2 MB: 4–5 parts
    const tb = tight.hvpProgram().batch;
    expect(tb).toBeGreaterThanOrEqual(12);
    expect(tb).toBeLessThanOrEqual(15);
    expect(Object.keys(tight.hvpProgram().graphs).map(Number)).toEqual([...new Set(subBatchSizes(60, tb))].sort((x, y) => x - y));
    const r = (s: number) => {
      let a = s >>> 0;
      return () => (a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
    };
    const g = r(3);
    const v = Float32Array.from({ length: theta.length }, g);
    const a = await whole.hvp(theta, v);
    const b = await parts.hvp(theta, v);
    expectCloseToScale(a, b, 1e-5);
    // the data's unfolded patches (the first conv's weight gradient) come from a setup graph run
    // once per sub-batch; the prefix runs once per θ and sub-batch
    const hp = parts.hvpProgram().graphs[15]!;
    expect(hp.setup).toBeTruthy();
    const runner = new HvpRunner(parts.hvpProgram(), parts.planeBatches(), { threads: 1 });
    const theta2 = theta.map((t) => t * 1.01);
    const ref2 = await parts.hvp(theta2, v);
    expectCloseToScale(ref2, await runner.hvp(theta2, v), 1e-6);
    expectCloseToScale(b, await runner.hvp(theta, v), 1e-6);
    await runner.hvp(
      theta,
      v.map((x) => -x),
    );
    expect(runner.setupRuns).toBe(4);
    expect(runner.prefixRuns).toBe(8);
    await runner.dispose();
    await whole.dispose();
    await parts.dispose();
    await tight.dispose();
    // an MLP's hoisted inputs are a few KB per sample: whole batches
    const mlp = await OrtEngine.create(buildModel({ type: 'mlp', hidden: [64] }, data.inputShape, 10), data, { threads: 1 });
    expect(mlp.hvpProgram().batch).toBe(60);
    await mlp.dispose();
  });
});
