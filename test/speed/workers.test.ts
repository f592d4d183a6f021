/**
 * All cores: worker threads evaluate chunks of the grid concurrently. Values must not depend
 * on the number of workers (bit for bit), every chunk is journaled as it completes, and a
 * failing chunk leaves the finished ones on disk.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mnistBalanced } from '../../src/data/mnist.js';
import { randomPlane } from '../../src/directions/directions.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { computeEigenmap } from '../../src/hessian/eigenmap.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { runGridJob } from '../../src/jobs/grid-job.js';
import { Journal } from '../../src/jobs/journal.js';
import { buildModel } from '../../src/model/zoo.js';
import { computeSurface } from '../../src/surface/surface.js';

const grid = { x: { min: -1, max: 1, n: 13 }, y: { min: -1, max: 1, n: 11 } };

describe('worker threads', () => {
  it('1, 2 and 3 workers give bit-identical surfaces (MLP and CNN)', async () => {
    const data = mnistBalanced(12);
    for (const spec of [
      { type: 'mlp', hidden: [32] },
      { type: 'cnn', channels: [4, 8], kernel: 5 },
    ]) {
      const model = buildModel(spec, data.inputShape, 10);
      const theta = model.init(2);
      const plane = randomPlane(theta, model.layout, { seed: 9, norm: 'filter', ignore: 'biasbn' });
      const dir = mkdtempSync(join(tmpdir(), 'losscape-workers-'));
      const results: Record<string, Float64Array>[] = [];
      for (const workers of [1, 2, 3]) {
        const engine = await OrtEngine.create(model, data, { workers, planeBatch: 8 });
        expect(engine.concurrency).toBe(workers);
        const gf = await computeSurface({
          theta,
          dx: plane.dx,
          dy: plane.dy,
          grid,
          engines: { train: engine },
          path: join(dir, `w${workers}.h5`),
          context: 'workers',
          chunkSize: 16,
        });
        await engine.dispose();
        expect(gf.done.every((d) => d === 1)).toBe(true);
        results.push(gf.values);
      }
      for (const r of results.slice(1)) {
        for (const ch of ['train_loss', 'train_acc']) {
          expect(Array.from(r[ch]!).every((v, i) => Object.is(v, results[0]![ch]![i]))).toBe(true);
        }
      }
      // the files on disk too
      const a = await readGridFile(join(dir, 'w1.h5'));
      const c = await readGridFile(join(dir, 'w3.h5'));
      expect(Buffer.from(c.values.train_loss!.buffer).equals(Buffer.from(a.values.train_loss!.buffer))).toBe(true);
    }
  });

  it("HVPs on worker threads equal the engine's own, also when two Lanczos runs interleave", async () => {
    const data = mnistBalanced(6);
    const model = buildModel({ type: 'mlp', hidden: [16], activation: 'tanh' }, data.inputShape, 10);
    const t1 = model.init(1);
    const t2 = model.init(2);
    const vs = [0, 1, 2].map((k) => Float64Array.from({ length: t1.length }, (_, i) => Math.sin(i * (k + 1))));
    // (no input reduction: v then goes through the runner's shared input buffer)
    const one = await OrtEngine.create(model, data, { threads: 1, reduceInputs: false });
    const pool = await OrtEngine.create(model, data, { workers: 2 });
    const rel = (a: Float64Array, b: Float64Array) => {
      let n = 0;
      let d = 0;
      for (let i = 0; i < a.length; i++) (n += (a[i]! - b[i]!) ** 2), (d += b[i]! ** 2);
      return Math.sqrt(n / d);
    };
    const got = await Promise.all(vs.flatMap((v) => [pool.hvp(t1, v), pool.hvp(t2, v)]));
    // the engine's own runner, called concurrently too (its calls share buffers: they queue)
    const mine = await Promise.all(vs.flatMap((v) => [one.hvp(t1, v), one.hvp(t2, v)]));
    for (let k = 0; k < 3; k++) {
      const a = await one.hvp(t1, vs[k]!);
      const b = await one.hvp(t2, vs[k]!);
      expect(rel(got[2 * k]!, a)).toBeLessThan(1e-6);
      expect(rel(got[2 * k + 1]!, b)).toBeLessThan(1e-6);
      expect(Array.from(mine[2 * k]!)).toEqual(Array.from(a));
      expect(Array.from(mine[2 * k + 1]!)).toEqual(Array.from(b));
    }
    await one.dispose();
    await pool.dispose();
  });

  /**
   * Eigenvalue maps of 1 and 2 workers (chunks of `chunkSize` points): equal bit for bit, every
   * point converged. `check` looks at each engine before its map.
   */
  async function mapsOfOneAndTwoWorkers(
    model: ReturnType<typeof buildModel>,
    data: ReturnType<typeof mnistBalanced>,
    theta: Float32Array,
    grid: { x: { min: number; max: number; n: number }; y: { min: number; max: number; n: number } },
    chunkSize: number,
    opts: { hvpBatch?: number },
    check: (engine: OrtEngine) => void,
  ): Promise<Record<string, Float64Array>> {
    const plane = randomPlane(theta, model.layout, { seed: 3, norm: 'filter', ignore: 'biasbn' });
    const dir = mkdtempSync(join(tmpdir(), 'losscape-eigen-workers-'));
    const maps: Record<string, Float64Array>[] = [];
    for (const workers of [1, 2]) {
      const engine = await OrtEngine.create(model, data, { workers, threads: 1, ...opts });
      check(engine);
      const { file, stats } = await computeEigenmap({
        engine,
        theta,
        dx: plane.dx,
        dy: plane.dy,
        grid,
        path: join(dir, `e${workers}.h5`),
        context: 'w',
        chunkSize,
      });
      await engine.dispose();
      expect(stats.points).toBe(grid.x.n * grid.y.n);
      expect(stats.unconverged).toBe(0);
      maps.push(file.values);
    }
    for (const ch of ['max_eig', 'min_eig', 'hvps']) {
      expect(
        Array.from(maps[1]![ch]!).every((v, i) => Object.is(v, maps[0]![ch]![i])),
        ch,
      ).toBe(true);
    }
    return maps[0]!;
  }

  it('CNN eigenvalue maps with HVP sub-batches: workers give the maps of 1 worker bit for bit', async () => {
    const data = mnistBalanced(4); // 40 samples as HVP sub-batches of 14, 14 and 12
    const model = buildModel({ type: 'cnn', channels: [4, 8], kernel: 5 }, data.inputShape, 10);
    const g = { x: { min: -1, max: 1, n: 3 }, y: { min: -1, max: 1, n: 2 } };
    const map = await mapsOfOneAndTwoWorkers(model, data, model.init(6), g, 3, { hvpBatch: 16 }, (engine) => {
      expect(
        Object.keys(engine.hvpProgram().graphs)
          .map(Number)
          .sort((a, b) => a - b),
      ).toEqual([12, 14]);
    });
    expect(map.max_eig!.every((v) => v > 0)).toBe(true);
  });

  it('eigenvalue maps: Lanczos runs inside the workers give the maps of 1 worker bit for bit', async () => {
    const data = mnistBalanced(8);
    const model = buildModel({ type: 'mlp', hidden: [12], activation: 'tanh' }, data.inputShape, 10);
    const g = { x: { min: -1, max: 1, n: 4 }, y: { min: -1, max: 1, n: 3 } };
    await mapsOfOneAndTwoWorkers(model, data, model.init(4), g, 4, {}, (engine) => {
      // MNIST's border pixels are zero in every sample: their weights are left out and deflated
      expect(engine.hessianNullCoordinates().length).toBeGreaterThan(0);
    });
  });

  it('concurrent chunks: each is journaled as it completes; a failure keeps the finished chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'losscape-concurrent-'));
    const path = join(dir, 'g.h5');
    const g = { x: { min: 0, max: 1, n: 10 }, y: { min: 0, max: 1, n: 4 } };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let inFlight = 0;
    let maxInFlight = 0;
    const job = {
      path,
      grid: g,
      channels: ['v'],
      fingerprint: 'fp',
      chunkSize: 4,
      concurrency: 3,
      saveEverySec: 3600,
      async evaluate(start: number, end: number) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // later chunks finish first
        await sleep(5 * (12 - start / 4));
        inFlight--;
        if (start === 28) throw new Error('chunk 7 failed');
        return Float64Array.from({ length: end - start }, (_, i) => start + i);
      },
    };
    await expect(runGridJob(job)).rejects.toThrow('chunk 7 failed');
    expect(maxInFlight).toBe(3);
    const journaled = new Journal(`${path}.journal`, 'fp').read().map((r) => r.chunk);
    expect(journaled.length).toBeGreaterThanOrEqual(6);
    expect(journaled).not.toContain(7);
    // a rerun computes only what is missing, and every value sits at its point
    const again: number[] = [];
    const gf = await runGridJob({
      ...job,
      async evaluate(start: number, end: number) {
        again.push(start / 4);
        return Float64Array.from({ length: end - start }, (_, i) => start + i);
      },
    });
    expect(again).toContain(7);
    expect(again.length).toBe(10 - journaled.length);
    expect(Array.from(gf.values.v!)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(existsSync(`${path}.journal`)).toBe(false);
  });
});
