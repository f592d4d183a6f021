/**
 * A small run folder for the viewer tests: 3 frames of a 21×17 (non-square)
 * bowl whose centre moves per frame, Hessian maps on a coarser 11×9 grid, a
 * PCA plane with the trajectory; with `spread`, subset error bars (3 subsets, ±0.05·k) along
 * the centre row and column.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Grid } from '../../src/core/grid.js';
import { writeH5 } from '../../src/io/h5.js';
import { writeGridFile } from '../../src/jobs/grid-file.js';

function field(grid: Grid, f: (x: number, y: number) => number): Float64Array {
  const nx = grid.x.n;
  const ny = grid.y!.n;
  const out = new Float64Array(nx * ny);
  for (let i = 0; i < ny; i++) {
    const y = grid.y!.min + ((grid.y!.max - grid.y!.min) * i) / (ny - 1);
    for (let j = 0; j < nx; j++) {
      const x = grid.x.min + ((grid.x.max - grid.x.min) * j) / (nx - 1);
      out[i * nx + j] = f(x, y);
    }
  }
  return out;
}

async function writeGrid(path: string, grid: Grid, channels: Record<string, (x: number, y: number) => number>, attrs: Record<string, string | number> = {}) {
  const n = grid.x.n * grid.y!.n;
  const values = Object.fromEntries(Object.entries(channels).map(([k, f]) => [k, field(grid, f)]));
  await writeGridFile(path, { grid, values, done: new Uint8Array(n).fill(1), attrs });
}

export const bowl = (k: number) => (x: number, y: number) => {
  const cx = -0.45 + 0.35 * k;
  const cy = 0.25 - 0.2 * k;
  return 0.15 + (2 + k) * ((x - cx) ** 2 + 1.6 * (y - cy) ** 2) + 0.08 * Math.sin(4 * x) * Math.cos(3 * y);
};

/** spread/<name>: the bowl along β = 0 and α = 0 on 3 subsets, offset by −0.05, 0, +0.05. */
async function writeSpread(path: string, grid: Grid, loss: (x: number, y: number) => number): Promise<void> {
  const xs = Array.from({ length: grid.x.n }, (_, j) => grid.x.min + ((grid.x.max - grid.x.min) * j) / (grid.x.n - 1));
  const ys = Array.from({ length: grid.y!.n }, (_, i) => grid.y!.min + ((grid.y!.max - grid.y!.min) * i) / (grid.y!.n - 1));
  const offsets = [-0.05, 0, 0.05];
  const row = Float64Array.from(offsets.flatMap((o) => xs.map((x) => loss(x, 0) + o)));
  const col = Float64Array.from(offsets.flatMap((o) => ys.map((y) => loss(0, y) + o)));
  await writeH5(
    path,
    { row_loss: { data: row, shape: [3, xs.length] }, col_loss: { data: col, shape: [3, ys.length] }, seeds: { data: Int32Array.from([1, 2, 3]) } },
    { row_y: 0, col_x: 0 },
  );
}

export async function makeRun(dir: string, o: { frames?: number; name?: string; spread?: boolean } = {}): Promise<string> {
  const frames = o.frames ?? 3;
  for (const d of ['surfaces', 'hessian', 'pca', 'spread']) mkdirSync(join(dir, d), { recursive: true });
  const grid: Grid = { x: { min: -1, max: 1, n: 21 }, y: { min: -0.8, max: 0.8, n: 17 } };
  const hgrid: Grid = { x: { min: -1, max: 1, n: 11 }, y: { min: -0.8, max: 0.8, n: 9 } };
  const checkpoints = [];
  const frameList = [];
  for (let k = 0; k < frames; k++) {
    const loss = bowl(k);
    const name = `ckpt-${String(k).padStart(4, '0')}.h5`;
    await writeGrid(
      join(dir, 'surfaces', name),
      grid,
      {
        train_loss: loss,
        train_acc: (x, y) => 100 * Math.exp(-loss(x, y)),
        test_loss: (x, y) => loss(x, y) * 1.1,
      },
      { checkpoint: k, step: 100 * k, epoch: k },
    );
    await writeGrid(join(dir, 'hessian', name), hgrid, {
      max_eig: () => 10,
      min_eig: (x, y) => -3 * Math.max(0, Math.sin(2 * x + k) * Math.cos(2 * y)),
      eig_ratio: (x, y) => 0.3 * Math.max(0, Math.sin(2 * x + k) * Math.cos(2 * y)),
      // checkpoint 1 has two uncertified points: (0.6, 0) and (-0.4, 0.4)
      certified: (x, y) =>
        k === 1 &&
        [
          [0.6, 0],
          [-0.4, 0.4],
        ].some(([a, b]) => Math.abs(x - a!) < 1e-9 && Math.abs(y - b!) < 1e-9)
          ? 0
          : 1,
    });
    checkpoints.push({ index: k, step: 100 * k, epoch: k, train_loss: 2 / (k + 1), train_acc: 50 + 20 * k, test_loss: 2.2 / (k + 1), test_acc: 48 + 19 * k });
    const frame: Record<string, unknown> = { checkpoint: k, surface: `surfaces/${name}`, directions: `directions/${name}`, hessian: `hessian/${name}` };
    if (o.spread) {
      await writeSpread(join(dir, 'spread', name), grid, loss);
      frame.spread = `spread/${name}`;
    }
    frameList.push(frame);
  }
  const path: [number, number][] = Array.from({ length: frames }, (_, k) => [
    -1.5 + (1.5 * k) / Math.max(1, frames - 1),
    0.6 * (1 - k / Math.max(1, frames - 1)) ** 2,
  ]);
  await writeGrid(
    join(dir, 'pca', 'surface.h5'),
    { x: { min: -2, max: 0.5, n: 26 }, y: { min: -0.5, max: 1, n: 16 } },
    {
      train_loss: (x, y) => 0.1 + 0.8 * (x * x + 2 * y * y) + 0.05 * Math.cos(5 * x),
      train_acc: (x, y) => 100 * Math.exp(-(x * x + 2 * y * y)),
    },
  );
  const history = Array.from({ length: 4 * (frames - 1) + 1 }, (_, s) => ({
    step: 25 * s,
    epoch: s / 4,
    train_loss: 2 / (1 + s / 4) + 0.05 * Math.sin(s),
    train_acc: 50 + 5 * s,
    test_loss: 2.2 / (1 + s / 4),
    test_acc: 48 + 4.75 * s,
  }));
  const manifest = {
    format: 'losscape-run/1',
    name: o.name ?? 'bowl',
    created: '2026-11-27T10:00:00.000Z',
    status: 'complete',
    versions: { losscape: '0.1.0' },
    config: {},
    model: { name: 'mlp 784-64-10 relu', params: 50890, layout: [] },
    data: { name: 'synthetic', train: 1000, test: 200, inputShape: [784], classes: 10, subset: { seed: 0, size: 200, indices: [] } },
    history,
    checkpoints,
    frames: frameList,
    pca: { surface: 'pca/surface.h5', path, explained: [0.72, 0.18] },
    timings: {},
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}
