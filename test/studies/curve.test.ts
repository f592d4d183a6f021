import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { synthetic } from '../../src/data/synthetic.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { buildModel } from '../../src/model/zoo.js';
import { RunStore } from '../../src/store/run-store.js';
import { runCurve } from '../../src/studies/curve/curve.js';
import { curveInputsFromRuns } from '../../src/studies/curve/inputs.js';
import { curveCoordinates, curvePlane } from '../../src/studies/curve/plane.js';
import { bezierPoint, createCurveLoop, curveT, midpoint } from '../../src/train/curve.js';
import { loadRun } from '../../src/viewer/server/scene.js';
import { tempDir, tinyRun } from './helpers.js';

function randomVector(n: number, seed: number): Float32Array {
  const r = new Rng(seed, 'default', 0);
  return Float32Array.from({ length: n }, () => r.normal());
}

describe('Bézier curve', () => {
  it('has the two models as its end points, exactly', () => {
    const a = randomVector(1000, 1);
    const b = randomVector(1000, 2);
    const bend = randomVector(1000, 3);
    expect(bezierPoint(0, a, bend, b)).toEqual(a);
    expect(bezierPoint(1, a, bend, b)).toEqual(b);
    const m = bezierPoint(0.5, a, bend, b);
    for (const i of [0, 17, 999]) expect(m[i]!).toBeCloseTo(0.25 * a[i]! + 0.5 * bend[i]! + 0.25 * b[i]!, 5);
  });

  it('puts θ₁, θ₂ and θ_b at (0, 0), (1, 0) and their Gram–Schmidt coordinates in its plane', () => {
    const n = 500;
    const a = randomVector(n, 4);
    const b = randomVector(n, 5);
    const bend = randomVector(n, 6);
    const p = curvePlane(a, bend, b);
    // reconstruct θ_b = θ₁ + x_b·u + y_b·v and the curve's points from their plane coordinates
    let uu = 0;
    let vv = 0;
    let uv = 0;
    for (let i = 0; i < n; i++) {
      uu += p.dx[i]! ** 2;
      vv += p.dy[i]! ** 2;
      uv += p.dx[i]! * p.dy[i]!;
    }
    expect(Math.sqrt(uu)).toBeCloseTo(p.distance, 4);
    expect(Math.sqrt(vv) / Math.sqrt(uu)).toBeCloseTo(1, 5);
    expect(Math.abs(uv) / uu).toBeLessThan(1e-6);
    expect(p.bend[1]).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) expect(a[i]! + p.bend[0] * p.dx[i]! + p.bend[1] * p.dy[i]!).toBeCloseTo(bend[i]!, 4);
    expect(curveCoordinates(0, p.bend)).toEqual([0, 0]);
    expect(curveCoordinates(1, p.bend)).toEqual([1, 0]);
    const t = 0.3;
    const [x, y] = curveCoordinates(t, p.bend);
    const phi = bezierPoint(t, a, bend, b);
    for (let i = 0; i < n; i += 7) expect(a[i]! + x * p.dx[i]! + y * p.dy[i]!).toBeCloseTo(phi[i]!, 4);
    // θ_b expressed against u: x_b = ⟨θ_b − θ₁, u⟩/‖u‖²
    let wu = 0;
    for (let i = 0; i < n; i++) wu += (bend[i]! - a[i]!) * p.dx[i]!;
    expect(p.bend[0]).toBeCloseTo(wu / uu, 6);
  });

  it('steps the bend by the chain rule: ∂L/∂θ_b = 2t(1 − t)·∇L(φ(t))', async () => {
    const data: Dataset = synthetic({ kind: 'spirals', n: 64, noise: 0.1, seed: 7 });
    const model = buildModel({ type: 'mlp', hidden: [8], activation: 'tanh' }, data.inputShape, data.outputDim);
    const a = model.init(1);
    const b = model.init(2);
    const lr = 0.1;
    const engine = await JaxEngine.create(model, data);
    for (const backend of ['jax', 'onnx'] as const) {
      // one batch holding every sample, plain SGD: θ_b' = θ_b − η·2t(1 − t)·∇L(φ(t))
      const loop = await createCurveLoop({ model, data, a, b, optimizer: { type: 'sgd', lr, momentum: 0, weightDecay: 0 }, batchSize: 64, seed: 5 }, backend);
      const start = midpoint(a, b);
      const r = await loop.step(0, lr);
      const after = await loop.bend();
      loop.dispose();
      const t = curveT(5, 0);
      expect(r.t).toBe(t);
      const g = await engine.gradient(bezierPoint(t, a, start, b));
      expect(r.loss).toBeCloseTo(g.loss, 4);
      const c = 2 * t * (1 - t);
      let err = 0;
      let size = 0;
      for (let i = 0; i < a.length; i++) {
        err = Math.max(err, Math.abs((start[i]! - after[i]!) / lr - c * g.grad[i]!));
        size = Math.max(size, Math.abs(c * g.grad[i]!));
      }
      expect(size).toBeGreaterThan(1e-3);
      expect(err / size).toBeLessThan(1e-3);
    }
    // and ∇L itself against a central finite difference along a random direction
    const theta = bezierPoint(0.4, a, midpoint(a, b), b);
    const d = randomVector(a.length, 9);
    const g = await engine.gradient(theta);
    const h = 1e-3;
    const shifted = (s: number) => Float32Array.from(theta, (v, i) => v + s * h * d[i]!);
    const fd = ((await engine.evaluate(shifted(1))).loss - (await engine.evaluate(shifted(-1))).loss) / (2 * h);
    let dir = 0;
    for (let i = 0; i < a.length; i++) dir += g.grad[i]! * d[i]!;
    expect(fd).toBeCloseTo(dir, 2);
    await engine.dispose();
  });
});

describe('losscape curve, reduced end to end', () => {
  it('finds a curve whose barrier is well below the line’s, and writes a run the viewer opens', async () => {
    const root = tempDir('curve');
    // two concentric circles: two ReLU nets from different seeds fit them, with a high ridge between them on the line
    const over = (seed: number) => ({
      data: { source: 'circles', n: 600, noise: 0.1, subset: { size: 120, seed: 1 }, testSubset: { size: 60, seed: 1 } },
      model: { type: 'mlp', hidden: [16, 16], activation: 'relu' },
      train: { epochs: 40, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 }, seed },
      surface: { x: '-1:1:3', y: '-1:1:3', chunk: 8 },
    });
    const ra = await tinyRun(join(root, 'a'), over(1));
    const rb = await tinyRun(join(root, 'b'), over(2));
    const inputs = await curveInputsFromRuns(ra, rb, { backend: 'jax' });
    const out = join(root, 'curve');
    const r = await runCurve(inputs, {
      steps: 300,
      optimizer: { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
      schedule: 'cosine',
      batchSize: 32,
      seed: 0,
      trainBackend: 'auto',
      points: 21,
      grid: 7,
      margin: 0.2,
      frames: 4,
      window: 0.3,
      windowGrid: 5,
      out,
    });
    // the ends of the trained curve are still the two models
    expect(r.rows[0]!.curve_loss).toBe(r.rows[0]!.line_loss);
    expect(r.rows.at(-1)!.curve_loss).toBe(r.rows.at(-1)!.line_loss);
    expect(r.line.barrier).toBeGreaterThan(0.1);
    expect(r.curve.barrier).toBeLessThan(0.3 * r.line.barrier);
    for (const f of ['barrier.csv', 'barrier.md', 'curve.json', 'curve.h5', 'checkpoints.h5', 'surfaces/plane.h5']) expect(existsSync(join(out, f))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
    expect(summary.curve.barrier).toBeCloseTo(r.curve.barrier, 10);
    const scene = await loadRun(out);
    expect(scene.error).toBeUndefined();
    expect(scene.warnings).toEqual([]);
    expect(scene.frames).toHaveLength(4);
    expect(scene.pca?.path).toHaveLength(4);
    expect(scene.pca?.path[0]).toEqual([0, 0]);
    expect(scene.pca?.path[3]).toEqual([1, 0]);
    expect(scene.pca?.surface).toBeDefined();
    // frame k is φ(t_k): frame 0 is θ₁ itself, its window's centre value the line's loss at t = 0
    expect(scene.frames.map((f) => f.checkpoint)).toEqual([0, 1, 2, 3]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.frames[0].center_loss).toBeCloseTo(r.rows[0]!.line_loss, 6);
    expect(manifest.frames[3].center_loss).toBeCloseTo(r.rows.at(-1)!.line_loss, 6);
    const thetas = await new RunStore(out).readCheckpoints();
    expect(thetas.get(0)!.theta).toEqual(inputs.a);
    expect(thetas.get(3)!.theta).toEqual(inputs.b);
  }, 90_000);
});
