/**
 * The first layer is linear in its weights: X(W + αD₁ + βD₂) + (b + αd₁ + βd₂)
 * = (XW + b) + α(XD₁ + d₁) + β(XD₂ + d₂). The onnxruntime engine computes the three products
 * once per (θ, d1, d2) in a prefix graph and only combines them per grid point. These tests
 * check that path against the direct evaluation (the same engine without hoisting, and the
 * forward pass at θ + αd1 + βd2) and the reference 21×21 surface, for a first dense layer and a
 * first convolution.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeModel } from '../../src/compile/inspect.js';
import { gridPoints } from '../../src/core/grid.js';
import { pointWeights } from '../../src/core/plane.js';
import { mnistBalanced } from '../../src/data/mnist.js';
import { randomPlane } from '../../src/directions/directions.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { nchwcBlockSize } from '../../src/engine/ort/nchwc.js';
import { buildModel } from '../../src/model/zoo.js';
import { computeSurface } from '../../src/surface/surface.js';
import { fixtureData, fixtureDirections, fixtureSurface, fixtureTheta } from '../helpers/fixture.js';

const grid = { x: { min: -1, max: 1, n: 21 }, y: { min: -1, max: 1, n: 21 } };

describe('first-layer linearity (hoisted prefix graph)', () => {
  it('MLP on the reference fixture: the 21×21 surface to 1e-5, the same as without hoisting and as direct forward passes', async () => {
    const model = buildModel({ type: 'mlp', hidden: [64] }, [784], 10);
    const data = fixtureData();
    const theta = fixtureTheta();
    const [dx, dy] = await fixtureDirections();
    const hoisted = await OrtEngine.create(model, data, { threads: 1, planeBatch: 16 });
    const direct = await OrtEngine.create(model, data, { threads: 1, planeBatch: 16, hoist: false });
    const dir = mkdtempSync(join(tmpdir(), 'losscape-linearity-'));
    const gf = await computeSurface({ theta, dx, dy, grid, engines: { train: hoisted }, path: join(dir, 's.h5'), context: 'fixture' });
    const ref = fixtureSurface();
    let maxRel = 0;
    for (let i = 0; i < 21; i++) {
      for (let j = 0; j < 21; j++) {
        maxRel = Math.max(maxRel, Math.abs(gf.values.train_loss![i * 21 + j]! - ref.loss[i]![j]!) / ref.loss[i]![j]!);
        expect(gf.values.train_acc![i * 21 + j]).toBeCloseTo(ref.acc[i]![j]!, 9);
      }
    }
    expect(maxRel).toBeLessThan(1e-5);

    const pts = gridPoints(grid);
    const other = await direct.evaluatePlane(theta, dx, dy, pts);
    for (let k = 0; k < 441; k++) expect(Math.abs(other.loss[k]! - gf.values.train_loss![k]!) / other.loss[k]!).toBeLessThan(1e-5);
    for (const k of [0, 17, 220, 440]) {
      const m = await hoisted.evaluate(pointWeights(theta, dx, dy, pts[2 * k]!, pts[2 * k + 1]!));
      expect(Math.abs(m.loss - gf.values.train_loss![k]!) / m.loss).toBeLessThan(1e-5);
    }

    // the first layer's products live in the prefix graph, which ran once for the whole grid
    const prefix = summarizeModel(hoisted.graphs.get('plane:1000.prefix')!);
    const rest = summarizeModel(hoisted.graphs.get('plane:1000')!);
    expect(prefix.ops.MatMul).toBe(3);
    expect(rest.ops.MatMul).toBe(2); // the combination and the second layer
    expect(rest.ops.Add ?? 0).toBeLessThan(summarizeModel(direct.graphs.get('plane:1000')!).ops.Add!);
    expect((hoisted as unknown as { planeRunner: { prefixRuns: number } }).planeRunner.prefixRuns).toBe(1);
    await hoisted.dispose();
    await direct.dispose();
  });

  it('CNN (first convolution): hoisted plane = direct evaluation to 1e-5', async () => {
    const data = mnistBalanced(10);
    const model = buildModel({ type: 'cnn', channels: [8, 16], kernel: 5 }, data.inputShape, 10);
    const theta = model.init(3);
    const plane = randomPlane(theta, model.layout, { seed: 4, norm: 'filter', ignore: 'none' });
    const hoisted = await OrtEngine.create(model, data, { threads: 1, planeBatch: 4 });
    const direct = await OrtEngine.create(model, data, { threads: 1, planeBatch: 4, hoist: false });
    const pts = gridPoints(grid, 100, 110);
    const a = await hoisted.evaluatePlane(theta, plane.dx, plane.dy, pts);
    const b = await direct.evaluatePlane(theta, plane.dx, plane.dy, pts);
    for (let k = 0; k < 10; k++) {
      expect(Math.abs(a.loss[k]! - b.loss[k]!) / b.loss[k]!).toBeLessThan(1e-5);
      const m = await direct.evaluate(pointWeights(theta, plane.dx, plane.dy, pts[2 * k]!, pts[2 * k + 1]!));
      expect(Math.abs(a.loss[k]! - m.loss) / m.loss).toBeLessThan(1e-5);
    }
    // the graph structure in plain ONNX (the default engine runs conv2 as NCHWc Convs, below)
    const plain = await OrtEngine.create(model, data, { threads: 1, planeBatch: 4, nchwc: false });
    const c = await plain.evaluatePlane(theta, plane.dx, plane.dy, pts);
    for (let k = 0; k < 10; k++) expect(Math.abs(c.loss[k]! - b.loss[k]!) / b.loss[k]!).toBeLessThan(1e-5);
    const prefix = summarizeModel(plain.graphs.get('plane:100.prefix')!);
    const rest = summarizeModel(plain.graphs.get('plane:100')!);
    expect(prefix.ops.Conv).toBe(1); // conv1 over [W, D1, D2] at once
    expect(rest.ops.Conv).toBe(4); // conv2 only, one per grid point of a call (its bias folded in)
    expect(rest.ops.Transpose ?? 0).toBeLessThanOrEqual(2); // no layout shuffles around it
    expect(rest.ops.MaxPool).toBe(2);
    const fast = summarizeModel(hoisted.graphs.get('plane:100')!);
    // conv2 (16 output channels) qualifies for NCHWc at block size 8 and 16; no NCHWc on CPUs without it
    expect(fast.ops['com.microsoft.nchwc.Conv'] ?? 0).toBe((await nchwcBlockSize()) ? 4 : 0);
    expect(fast.ops.Conv ?? 0).toBe((await nchwcBlockSize()) ? 0 : 4);
    await plain.dispose();
    await hoisted.dispose();
    await direct.dispose();
  });
});
