/** The bench's deterministic parts (no timings): FLOP counts of the benchmark models and the table. */
import { describe, expect, it } from 'vitest';
import { forwardFlops } from '../../bench/flops.js';
import { benchCase, formatTable, REFERENCE, TARGET } from '../../bench/main.js';
import { buildModel } from '../../src/model/zoo.js';

describe('bench', () => {
  it('counts the forward FLOPs of the benchmark models', () => {
    const mlp = buildModel({ type: 'mlp', hidden: [64] }, [784], 10);
    expect(forwardFlops(mlp, 1000)).toBe(2 * 1000 * (784 * 64 + 64 * 10));
    const cnn = buildModel({ type: 'cnn', channels: [8, 16], kernel: 5 }, [784], 10);
    // conv1 24·24·8 outputs × 25 MACs, conv2 8·8·16 outputs × 200 MACs, fc 256 → 10
    expect(forwardFlops(cnn, 1000)).toBe(2 * 1000 * (24 * 24 * 8 * 25 + 8 * 8 * 16 * 200 + 256 * 10));
  });

  it('builds the cases on the fixture layout (1000 MNIST digits) and prints a table against the reference', () => {
    const c = benchCase('mlp');
    expect(c.model.layout.size).toBe(50890);
    expect(c.flops).toBe(101_632_000);
    const t = formatTable([
      { work: 'MLP surface', engine: 'onnxruntime', workers: 2, msPerPoint: 0.1, points: 441, reference: REFERENCE.mlpSurface, target: TARGET.mlpSurface },
    ]);
    expect(t).toMatch(/\| MLP surface \| onnxruntime \| 2 \| 0\.100 \|/);
    expect(t).toMatch(/13\.9×/);
    expect(t).toMatch(/\| yes \|$/);
  });
});
