/**
 * Eigenvalue maps on a tiny model: orientation and values against direct
 * point computations, snake order, chunk-local warm starts, resume invariance
 * (a map computed in pieces equals one computed at once), fingerprints, 1-D
 * slices, the bench helper.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinates, type Grid } from '../../src/core/grid.js';
import { Rng } from '../../src/core/rng.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { computeEigenmap, type EigenmapRequest, gridPointWeights, hessianPointCost, snakeOrder } from '../../src/hessian/eigenmap.js';
import { pointEigenvalues } from '../../src/hessian/point.js';
import { readH5 } from '../../src/io/h5.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { buildModel } from '../../src/model/zoo.js';
import { randomData } from './dense.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-eigenmap-'));

describe('snake order', () => {
  const grid: Grid = { x: { min: 0, max: 1, n: 3 }, y: { min: 0, max: 1, n: 3 } };
  it('rows of even index left to right, odd rows right to left; by global row parity', () => {
    expect(snakeOrder(grid, 0, 9)).toEqual([0, 1, 2, 5, 4, 3, 6, 7, 8]);
    expect(snakeOrder(grid, 2, 7)).toEqual([2, 5, 4, 3, 6]);
    expect(snakeOrder(grid, 3, 6)).toEqual([5, 4, 3]);
  });
});

describe('eigenvalue maps (tiny tanh MLP, jax-js float64)', () => {
  const model = buildModel({ type: 'mlp', hidden: [8], activation: 'tanh' }, [4], 3);
  const data = randomData(40, [4], 3, 5);
  const theta = model.init(2);
  const rng = new Rng(9);
  const dx = Float32Array.from({ length: model.layout.size }, () => 0.3 * rng.normal());
  const dy = Float32Array.from({ length: model.layout.size }, () => 0.3 * rng.normal());
  // non-square on purpose: [ny, nx] = [3, 4]
  const grid: Grid = { x: { min: -1, max: 1, n: 4 }, y: { min: -0.5, max: 0.5, n: 3 } };
  let engine: JaxEngine;
  const base = (): EigenmapRequest => ({ engine, theta, dx, dy, grid, path: '', context: 'tiny', tol: 1e-6 });

  beforeAll(async () => {
    engine = await JaxEngine.create(model, data, { dtype: 'float64' });
  });
  afterAll(() => engine.dispose());

  it('element [i, j] is the point (x[j], y[i]); values equal direct computations', async () => {
    const path = join(dir, 'orient.h5');
    const { file, stats } = await computeEigenmap({ ...base(), path, tol: 1e-10 });
    const xs = coordinates(grid.x);
    const ys = coordinates(grid.y!);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const k = i * 4 + j;
        const r = await pointEigenvalues(engine, gridPointWeights(engine, theta, dx, dy, xs[j]!, ys[i]!), { tol: 1e-10 });
        const s = Math.abs(r.lambdaMax);
        expect(Math.abs(file.values.max_eig![k]! - r.lambdaMax) / s).toBeLessThan(1e-8);
        expect(Math.abs(file.values.min_eig![k]! - r.lambdaMin) / s).toBeLessThan(1e-8);
        expect(file.values.eig_ratio![k]).toBeCloseTo(Math.abs(file.values.min_eig![k]! / file.values.max_eig![k]!), 12);
        expect(file.values.converged![k]).toBe(1);
      }
    }
    expect(stats.points).toBe(12);
    const h = await readH5(path);
    expect(h.get('max_eig')!.shape).toEqual([3, 4]);
    expect(h.get('hvps')!.shape).toEqual([3, 4]);
    expect(h.attrs.params).toBe('all');
    expect(h.attrs.tol).toBe(1e-10);
    expect(Array.from(h.get('hvps')!.value as Float64Array).reduce((a, b) => a + b, 0)).toBe(stats.hvps);
    expect(existsSync(`${path}.journal`)).toBe(false);
  });

  it('warm starts only inside a chunk: the first point of every chunk starts cold', async () => {
    const { stats } = await computeEigenmap({ ...base(), path: join(dir, 'warm.h5'), chunkSize: 4 });
    const byIndex = new Map(stats.perPoint.map((p) => [p.index, p]));
    for (let k = 0; k < 12; k++) {
      const firstOfChunk = snakeOrder(grid, Math.floor(k / 4) * 4, Math.floor(k / 4) * 4 + 4)[0] === k;
      expect(byIndex.get(k)!.warm).toBe(!firstOfChunk);
    }
    // computed in snake order: row 1 (odd) right to left
    expect(stats.perPoint.map((p) => p.index)).toEqual([0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11]);
  });

  it('a map computed in pieces (interrupted, then resumed) equals one computed at once', async () => {
    const once = await computeEigenmap({ ...base(), path: join(dir, 'once.h5') });
    const path = join(dir, 'pieces.h5');
    const first = await computeEigenmap({ ...base(), path, chunks: [2, 0] });
    expect(first.stats.points).toBe(8);
    const rest = await computeEigenmap({ ...base(), path });
    expect(rest.stats.points).toBe(4);
    expect(rest.stats.resumed).toBe(8);
    const a = once.file.values;
    const b = (await readGridFile(path)).values;
    for (const c of ['max_eig', 'min_eig', 'eig_ratio', 'hvps']) expect(Array.from(b[c]!)).toEqual(Array.from(a[c]!));
    // nothing left to do: a rerun computes nothing
    const again = await computeEigenmap({ ...base(), path });
    expect(again.stats.points).toBe(0);
    expect(again.stats.resumed).toBe(12);
  });

  it('another setting (tol, convergence test, params) is refused; fresh recomputes', async () => {
    const path = join(dir, 'stale.h5');
    await computeEigenmap({ ...base(), path, chunks: [0] });
    await expect(computeEigenmap({ ...base(), path, tol: 1e-3 })).rejects.toMatchObject({ name: 'LosscapeError', kind: 'state' });
    await expect(computeEigenmap({ ...base(), path, convergence: 'residual' })).rejects.toMatchObject({ name: 'LosscapeError', kind: 'state' });
    // the default test, named, is the same setting
    expect((await computeEigenmap({ ...base(), path, convergence: 'eigenvalue', chunks: [0] })).stats.resumed).toBeGreaterThan(0);
    await expect(computeEigenmap({ ...base(), path, params: 'ndim>1' })).rejects.toThrow(/different configuration/);
    const r = await computeEigenmap({ ...base(), path, params: 'ndim>1', fresh: true });
    expect(r.stats.points).toBe(12);
    expect((await readH5(path)).attrs.params).toBe('ndim>1');
  });

  it('1-D slice: channels of shape [nx]', async () => {
    const path = join(dir, 'slice.h5');
    const { file } = await computeEigenmap({ ...base(), dy: undefined, grid: { x: grid.x }, path });
    expect(file.values.max_eig!.length).toBe(4);
    const h = await readH5(path);
    expect(h.get('min_eig')!.shape).toEqual([4]);
    expect(h.has('ycoordinates')).toBe(false);
  });

  it('hessianPointCost: HVPs and time per point for benchmarks', async () => {
    const c = await hessianPointCost(engine, theta, dx, dy, grid, { points: 3 });
    expect(c.points).toBe(3);
    expect(c.hvpsPerPoint).toBeGreaterThan(2);
    expect(c.hvpsPerPoint).toBeLessThanOrEqual(model.layout.size);
    expect(c.msPerPoint).toBeGreaterThan(0);
    expect(c.msPerHvp).toBeGreaterThan(0);
  });
});
