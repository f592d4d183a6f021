/**
 * Files of values over a grid (loss surfaces, eigenvalue maps) in the
 * reference code's HDF5 layout: `xcoordinates`, `ycoordinates` (float64) and one
 * float64 dataset per channel (`train_loss`, `train_acc`, `test_loss`,
 * `test_acc`, `max_eig`, `min_eig`, …) of shape [ny, nx] (2-D) or [nx] (1-D),
 * element [i, j] = point (x[j], y[i]). Our additions: `computed` (uint8, 1 where
 * the point is finished; unfinished values are NaN) and root attributes
 * `losscape_format`, `convention`, `fingerprint`.
 */
import { coordinates, GRID_CONVENTION, type Grid, gridShape, gridSize } from '../core/grid.js';
import { asFloat64, type H5Tree, readH5, writeH5 } from '../io/h5.js';

export const FORMAT = 'losscape-grid/1';

export interface GridFile {
  grid: Grid;
  /** Channel name → values in point order (row-major [ny, nx]). */
  values: Record<string, Float64Array>;
  done: Uint8Array;
  attrs: Record<string, string | number>;
}

export function emptyGridFile(grid: Grid, channels: string[], attrs: Record<string, string | number>): GridFile {
  const n = gridSize(grid);
  return {
    grid,
    values: Object.fromEntries(channels.map((c) => [c, new Float64Array(n).fill(Number.NaN)])),
    done: new Uint8Array(n),
    attrs,
  };
}

export async function writeGridFile(path: string, gf: GridFile, extra: H5Tree = {}): Promise<void> {
  const [ny, nx] = gridShape(gf.grid);
  const shape = gf.grid.y ? [ny, nx] : [nx];
  const tree: H5Tree = { xcoordinates: { data: coordinates(gf.grid.x) } };
  if (gf.grid.y) tree.ycoordinates = { data: coordinates(gf.grid.y) };
  for (const [name, v] of Object.entries(gf.values)) tree[name] = { data: v, shape };
  tree.computed = { data: gf.done, shape };
  Object.assign(tree, extra);
  await writeH5(path, tree, { losscape_format: FORMAT, convention: GRID_CONVENTION, ...gf.attrs });
}

const COORD = new Set(['xcoordinates', 'ycoordinates', 'computed']);

/**
 * Read a grid file: ours, or the reference code's (no `computed`: cells whose
 * loss is ≤ 0 count as unfinished, as the reference marks them).
 */
export async function readGridFile(path: string): Promise<GridFile> {
  const h = await readH5(path);
  const xs = asFloat64(h.get('xcoordinates')?.value, `${path}: xcoordinates`);
  const ys = h.has('ycoordinates') ? asFloat64(h.get('ycoordinates')!.value, `${path}: ycoordinates`) : null;
  const grid: Grid = { x: axisOf(xs) };
  if (ys) grid.y = axisOf(ys);
  const n = gridSize(grid);
  const values: Record<string, Float64Array> = {};
  for (const k of h.keys) {
    if (COORD.has(k) || k.includes('/')) continue;
    const d = h.get(k)!;
    if (typeof d.value === 'string' || Array.isArray(d.value)) continue;
    const v = asFloat64(d.value, `${path}: ${k}`);
    if (v.length !== n) continue;
    values[k] = v;
  }
  const ours = h.attrs.losscape_format !== undefined;
  let done: Uint8Array;
  if (h.has('computed')) done = Uint8Array.from(asFloat64(h.get('computed')!.value, 'computed'));
  else {
    const loss = values.train_loss;
    done = new Uint8Array(n).map((_, i) => (loss ? (loss[i]! > 0 ? 1 : 0) : 1));
  }
  // The reference code declares [nx, ny] but fills in meshgrid order ([ny, nx]); for
  // square grids both agree. Non-square reference files are read as filled.
  const attrs: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(h.attrs)) if (typeof v === 'string' || typeof v === 'number') attrs[k] = v;
  if (!ours) attrs.source = 'reference-code';
  return { grid, values, done, attrs };
}

function axisOf(c: Float64Array): { min: number; max: number; n: number } {
  return { min: c[0]!, max: c[c.length - 1]!, n: c.length };
}
