/**
 * Error bars of the evaluation subset: a landscape is computed on one fixed, seeded subset (5 %
 * by default), an estimate of the landscape of the whole split. With `data.subset.errorBars: K`
 * the centre row (β nearest 0) and centre column (α nearest 0) of every landscape are evaluated
 * again on K other subsets of the same size (stratified, seeds seed+1 … seed+K), and written to
 * spread/ckpt-XXXX.h5:
 *   xcoordinates [nx], ycoordinates [ny]   the surface's axes
 *   row_loss [K, nx], col_loss [K, ny]     the loss along the row / column on each other subset
 *   row_std [nx], col_std [ny]             their sample standard deviation over the K subsets
 *   seeds [K]; attrs row_y, col_x (where the row and column lie), subset_size
 * A 1-D landscape has a row only. The viewer draws the K subsets' range as a band on its slices.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { coordinates, type Grid } from '../core/grid.js';
import { take } from '../data/dataset.js';
import { subsetIndices } from '../data/subset.js';
import type { LossEngine } from '../engine/engine.js';
import { createEngine } from '../engine/registry.js';
import { type H5Tree, writeH5 } from '../io/h5.js';
import type { Model } from '../model/model.js';
import type { RunConfig } from './config.js';
import type { RunData } from './data.js';
import { runEngineOptions } from './engine.js';

/** The centre row and column of a grid: their fixed coordinate and their points ([α0, β0, α1, β1, …]). */
export function centreLines(grid: Grid): { rowY: number; colX: number; row: Float64Array; col: Float64Array | null } {
  const xs = coordinates(grid.x);
  const ys = grid.y ? coordinates(grid.y) : new Float64Array([0]);
  const rowY = ys[nearest(ys, 0)]!;
  const colX = xs[nearest(xs, 0)]!;
  const row = new Float64Array(2 * xs.length);
  xs.forEach((x, j) => row.set([x, rowY], 2 * j));
  if (!grid.y) return { rowY, colX, row, col: null };
  const col = new Float64Array(2 * ys.length);
  ys.forEach((y, i) => col.set([colX, y], 2 * i));
  return { rowY, colX, row, col };
}

function nearest(coords: Float64Array, v: number): number {
  let best = 0;
  for (let k = 1; k < coords.length; k++) if (Math.abs(coords[k]! - v) < Math.abs(coords[best]! - v)) best = k;
  return best;
}

/** Sample standard deviation over the K rows of a [K, n] array, per column. */
export function columnStd(values: Float64Array, k: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (k < 2) return out;
  for (let j = 0; j < n; j++) {
    let mean = 0;
    for (let r = 0; r < k; r++) mean += values[r * n + j]!;
    mean /= k;
    let ss = 0;
    for (let r = 0; r < k; r++) ss += (values[r * n + j]! - mean) ** 2;
    out[j] = Math.sqrt(ss / (k - 1));
  }
  return out;
}

/** Engines on the K other evaluation subsets of a run (seeds seed+1 … seed+K), created on first use. */
export class SubsetEngines {
  private engines: LossEngine[] | null = null;
  constructor(
    private readonly cfg: RunConfig,
    private readonly model: Model,
    private readonly data: RunData,
    private readonly warn?: (line: string) => void,
  ) {}

  get seeds(): number[] {
    const { seed, errorBars = 0 } = this.cfg.data.subset;
    return Array.from({ length: errorBars }, (_, k) => seed + k + 1);
  }

  async all(): Promise<LossEngine[]> {
    if (this.engines) return this.engines;
    const { train } = this.data;
    const opts = runEngineOptions(this.cfg);
    const engines: LossEngine[] = [];
    for (const seed of this.seeds) {
      const subset = take(train, subsetIndices(train, { size: this.cfg.data.subset.size, seed }), `${train.name}-subset-${seed}`);
      engines.push(await createEngine(this.model, subset, opts, this.warn));
    }
    this.engines = engines;
    return engines;
  }

  async dispose(): Promise<void> {
    for (const e of this.engines ?? []) await e.dispose();
    this.engines = null;
  }
}

/** The centre row and column of one landscape on the other subsets, written to `path` (see the file comment). */
export async function writeSubsetSpread(
  path: string,
  engines: LossEngine[],
  seeds: number[],
  plane: { theta: Float32Array; dx: Float32Array; dy: Float32Array | undefined },
  grid: Grid,
): Promise<void> {
  const lines = centreLines(grid);
  const k = engines.length;
  const evalLine = async (points: Float64Array) => {
    const n = points.length / 2;
    const out = new Float64Array(k * n);
    for (let r = 0; r < k; r++) {
      const v = await engines[r]!.evaluatePlane(plane.theta, plane.dx, plane.dy ?? new Float32Array(plane.dx.length), points);
      out.set(v.loss, r * n);
    }
    return out;
  };
  const nx = grid.x.n;
  const row = await evalLine(lines.row);
  const tree: H5Tree = {
    xcoordinates: { data: coordinates(grid.x) },
    row_loss: { data: row, shape: [k, nx] },
    row_std: { data: columnStd(row, k, nx) },
    seeds: { data: Int32Array.from(seeds) },
  };
  const attrs: Record<string, number> = { row_y: lines.rowY, subset_size: engines[0]?.samples ?? 0 };
  if (lines.col && grid.y) {
    const ny = grid.y.n;
    const col = await evalLine(lines.col);
    tree.ycoordinates = { data: coordinates(grid.y) };
    tree.col_loss = { data: col, shape: [k, ny] };
    tree.col_std = { data: columnStd(col, k, ny) };
    attrs.col_x = lines.colX;
  }
  mkdirSync(dirname(path), { recursive: true });
  await writeH5(path, tree, attrs);
}
