import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm, { type Dataset as H5Dataset } from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { coordinates, gridPoints, parseAxis } from '../../src/core/grid.js';
import { pointWeights } from '../../src/core/plane.js';
import { synthetic } from '../../src/data/synthetic.js';
import { randomPlane } from '../../src/directions/directions.js';
import type { LossEngine } from '../../src/engine/engine.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { buildModel } from '../../src/model/zoo.js';
import { computeSurface } from '../../src/surface/surface.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-grid-'));

/** An engine whose "loss" is α + 10β and "accuracy" 100·α·β: exact, so orientation errors show. */
function planeProbe(): LossEngine {
  return {
    layout: { entries: [], size: 1 },
    samples: 1,
    dtype: 'float64',
    description: 'probe',
    async evaluate() {
      return { loss: 0, acc: 0 };
    },
    async gradient() {
      throw new Error('unused');
    },
    async hvp() {
      throw new Error('unused');
    },
    async evaluatePlane(_t, _a, _b, pts) {
      const k = pts.length / 2;
      const loss = new Float64Array(k);
      const acc = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        loss[i] = pts[2 * i]! + 10 * pts[2 * i + 1]!;
        acc[i] = 100 * pts[2 * i]! * pts[2 * i + 1]!;
      }
      return { loss, acc };
    },
    dispose() {},
  };
}

describe('axes', () => {
  it('parses min:max:n and rejects bad axes with one line', () => {
    expect(parseAxis('-1:1:51')).toEqual({ min: -1, max: 1, n: 51 });
    expect(parseAxis('0:0.5:3')).toEqual({ min: 0, max: 0.5, n: 3 });
    expect(() => parseAxis('1:0:3')).toThrow(/greater than min/);
    expect(() => parseAxis('-1:1')).toThrow(/min:max:n/);
    expect(() => parseAxis('-1:1:2.5')).toThrow(/positive integer/);
    expect(() => parseAxis('a:1:3')).toThrow(/three numbers/);
    expect([...coordinates({ min: -1, max: 1, n: 5 })]).toEqual([-1, -0.5, 0, 0.5, 1]);
  });
});

describe('grid orientation on a 7 × 4 grid', () => {
  it('stores [ny, nx] with element [i, j] = (x[j], y[i])', async () => {
    const dir = tmp();
    const grid = { x: { min: -3, max: 3, n: 7 }, y: { min: 0, max: 0.3, n: 4 } };
    const z = new Float32Array(1);
    const gf = await computeSurface({
      theta: z,
      dx: z,
      dy: z,
      grid,
      engines: { train: planeProbe() },
      path: join(dir, 's.h5'),
      context: 'orientation',
      chunkSize: 5,
    });
    const xs = coordinates(grid.x);
    const ys = coordinates(grid.y);
    await h5wasm.ready;
    const f = new h5wasm.File(join(dir, 's.h5'), 'r');
    const ds = f.get('train_loss') as H5Dataset;
    expect(ds.shape).toEqual([4, 7]);
    expect((f.get('xcoordinates') as H5Dataset).shape).toEqual([7]);
    expect((f.get('ycoordinates') as H5Dataset).shape).toEqual([4]);
    const loss = ds.value as Float64Array;
    const acc = (f.get('train_acc') as H5Dataset).value as Float64Array;
    f.close();
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 7; j++) {
        expect(loss[i * 7 + j]).toBeCloseTo(xs[j]! + 10 * ys[i]!, 12);
        expect(acc[i * 7 + j]).toBeCloseTo(100 * xs[j]! * ys[i]!, 12);
      }
    }
    expect(gf.values.train_loss).toEqual(loss);
    const back = await readGridFile(join(dir, 's.h5'));
    expect(back.grid).toEqual(grid);
    expect(back.done.every((d) => d === 1)).toBe(true);
    // the point order used for chunks is row-major over [ny, nx]
    expect([...gridPoints(grid, 8, 9)]).toEqual([xs[1], ys[1]]);
  });

  it("a real model's surface has the checkpoint's loss at the centre and the right point at every cell", async () => {
    const data = synthetic({ kind: 'moons', n: 120, seed: 3 });
    const model = buildModel({ type: 'mlp', hidden: [8], activation: 'tanh' }, [2], 2);
    const theta = model.init(1);
    const engine = await JaxEngine.create(model, data);
    const plane = randomPlane(theta, model.layout, { seed: 4 });
    const grid = { x: { min: -1, max: 1, n: 7 }, y: { min: -0.6, max: 0.6, n: 5 } };
    const gf = await computeSurface({
      theta,
      dx: plane.dx,
      dy: plane.dy,
      grid,
      engines: { train: engine },
      path: join(tmp(), 'c.h5'),
      context: 'centre',
    });
    const centre = await engine.evaluate(theta);
    expect(gf.values.train_loss![2 * 7 + 3]).toBe(centre.loss);
    expect(gf.values.train_acc![2 * 7 + 3]).toBe(centre.acc);
    const xs = coordinates(grid.x);
    const ys = coordinates(grid.y);
    for (const [i, j] of [
      [0, 6],
      [4, 0],
      [1, 5],
    ] as const) {
      const m = await engine.evaluate(pointWeights(theta, plane.dx, plane.dy, xs[j]!, ys[i]!));
      expect(gf.values.train_loss![i * 7 + j]).toBe(m.loss);
    }
    // not symmetric: swapping the axes would give other values
    expect(gf.values.train_loss![0 * 7 + 6]).not.toBe(gf.values.train_loss![4 * 7 + 0]);
    engine.dispose();
  });
});
