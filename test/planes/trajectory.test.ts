/**
 * The trajectory relative to a frame's plane (run/planes.ts, directions/projection.ts):
 * checkpoints that lie in the plane project onto themselves with distance 0 off the plane, and
 * in a run the marker of the next checkpoint sits at the grid point whose evaluated loss is that
 * checkpoint's loss. A run with `directions.type: hessian` writes eigenvector planes, a
 * hidden-curvature report per frame and trajectory.json.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { makeLayout } from '../../src/core/layout.js';
import { pointWeights } from '../../src/core/plane.js';
import { Rng } from '../../src/core/rng.js';
import { readDirectionFile } from '../../src/directions/file.js';
import { projectOntoPlane } from '../../src/directions/projection.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { resolveConfig } from '../../src/run/config.js';
import { runEvalEngine } from '../../src/run/engine.js';
import { runPipeline } from '../../src/run/pipeline.js';
import { frameTrajectory, TRAJECTORY_FILE, type TrajectoryDoc, writeRunTrajectory } from '../../src/run/planes.js';
import { frameFile, RunStore } from '../../src/store/run-store.js';
import { tinyConfig } from '../helpers/cli.js';

describe('projection onto a plane', () => {
  it('a point on the plane in exact arithmetic projects onto itself, 0 off the plane', () => {
    const theta = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const dx = Float32Array.from([1, 0, 0.5, 0, 0, 2]);
    const dy = Float32Array.from([0, 1, 0, 0.25, 1, 0]);
    const w = pointWeights(theta, dx, dy, 0.5, -0.25);
    const p = projectOntoPlane(theta, dx, dy, w);
    expect([p.alpha, p.beta, p.offPlane]).toEqual([0.5, -0.25, 0]);
  });

  it('random planes: checkpoints in the plane sit at their (α, β); others are off by their orthogonal part', () => {
    const n = 500;
    const rng = new Rng(3);
    const theta = Float32Array.from(rng.normalVector(n));
    const dx = Float32Array.from(rng.normalVector(n));
    const dy = Float32Array.from(rng.normalVector(n));
    const inPlane = [pointWeights(theta, dx, dy, 0.3, -0.7), pointWeights(theta, dx, dy, -0.1, 0.45)];
    const off = Float32Array.from(inPlane[1]!);
    // a component orthogonal to the plane: a Gaussian with its projection removed
    const zv = Float64Array.from(rng.normalVector(n));
    const zp = projectOntoPlane(new Float32Array(n), dx, dy, zv);
    for (let i = 0; i < n; i++) off[i] = off[i]! + 0.01 * (zv[i]! - zp.alpha * dx[i]! - zp.beta * dy[i]!);
    const weights = [theta, ...inPlane, off];
    const f = frameTrajectory(0, theta, dx, dy, [0, 1, 2, 3], (k) => weights[k]!);
    expect(f.next!.checkpoint).toBe(1);
    expect(f.next!.alpha).toBeCloseTo(0.3, 6);
    expect(f.next!.beta).toBeCloseTo(-0.7, 6);
    expect(f.next!.offPlane).toBeLessThan(1e-6 * f.unitX);
    expect(f.next!.captured).toBeCloseTo(1, 9);
    expect(f.path[2]!.offPlane).toBeLessThan(1e-6 * f.unitX);
    expect(f.path[3]!.alpha).toBeCloseTo(-0.1, 5);
    expect(f.path[3]!.offPlane).toBeCloseTo(0.01 * zp.offPlane, 5);
    expect(f.path.map((p) => p.near)).toEqual([true, true, true, true]);
    // the last frame has no next checkpoint
    expect(frameTrajectory(3, off, dx, dy, [0, 1, 2, 3], (k) => weights[k]!).next).toBeUndefined();
  });
});

describe('a run with Hessian-eigenvector planes', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'losscape-planes-')), 'run');
  // examples/configs/hessian-planes.yaml at reduced size (2 epochs, a 9×7 grid), ε = 0.05
  const doc = parseYaml(readFileSync(new URL('../../examples/configs/hessian-planes.yaml', import.meta.url), 'utf8'));
  const cfg = resolveConfig({ ...doc, train: { ...doc.train, epochs: 2 }, surface: tinyConfig().surface, curvature: { epsilon: 0.05 } });

  it('writes eigenvector directions, a curvature report per frame and trajectory.json', async () => {
    const m = await runPipeline(cfg, dir);
    expect(m.frames.length).toBeGreaterThanOrEqual(2);
    for (const f of m.frames) {
      const c = f.curvature!;
      expect(c.epsilon).toBe(0.05);
      // the plane is spanned by the eigenvectors of λmax and λmin: its curvatures are theirs
      expect(Math.abs(c.curvatureX - c.lambdaMax)).toBeLessThan(1e-3 * Math.abs(c.lambdaMax));
      expect(Math.abs(c.curvatureY - c.lambdaMin)).toBeLessThan(1e-3 * Math.abs(c.lambdaMax));
      expect(c.hiddenSaddle).toBe(false);
      const d = await readDirectionFile(join(dir, f.directions!), makeLayout(m.model.layout));
      expect(d.attrs.type).toBe('hessian');
      expect(Number(d.attrs.lambda_x)).toBeCloseTo(c.lambdaMax, 4);
    }
    const doc: TrajectoryDoc = JSON.parse(readFileSync(join(dir, TRAJECTORY_FILE), 'utf8'));
    expect(doc.frames.map((f) => f.checkpoint)).toEqual(m.frames.map((f) => f.checkpoint));
    expect(doc.frames.at(-1)!.next).toBeUndefined();
    expect(doc.frames[0]!.next!.checkpoint).toBe(m.frames[1]!.checkpoint);
  });

  it('a next checkpoint placed at a grid point of the plane: its marker sits there, 0 off the plane, with the evaluated loss', async () => {
    const store = new RunStore(dir);
    const m = store.readManifest();
    const thetas = await store.readCheckpoints();
    const engine = await runEvalEngine(cfg);
    try {
      const dirs = await readDirectionFile(store.path(frameFile('directions', 0)), engine.layout);
      const gf = await readGridFile(store.path(frameFile('surfaces', 0)));
      const [j, i] = [6, 1];
      const a = gf.grid.x.min + ((gf.grid.x.max - gf.grid.x.min) * j) / (gf.grid.x.n - 1);
      const b = gf.grid.y!.min + ((gf.grid.y!.max - gf.grid.y!.min) * i) / (gf.grid.y!.n - 1);
      const next = pointWeights(thetas.get(0)!.theta, dirs.dx, dirs.dy!, a, b);
      thetas.set(1, { ...thetas.get(1)!, theta: next });
      await store.writeCheckpoints(m.model.layout, thetas);
      const doc = await writeRunTrajectory(store, engine.layout);
      const f0 = doc.frames[0]!;
      expect(f0.next!.checkpoint).toBe(1);
      expect(f0.next!.alpha).toBeCloseTo(a, 6);
      expect(f0.next!.beta).toBeCloseTo(b, 6);
      expect(f0.next!.offPlane).toBeLessThan(1e-6 * f0.unitX);
      expect(f0.next!.near).toBe(true);
      const surfaceLoss = gf.values.train_loss![i * gf.grid.x.n + j]!;
      const loss = (await engine.evaluate(next)).loss;
      expect(Math.abs(surfaceLoss - loss)).toBeLessThan(1e-5 * Math.abs(loss));
    } finally {
      await engine.dispose();
    }
  });
});
