/**
 * Grids of plane coordinates. Axis specs use the reference code's form
 * "min:max:n" (e.g. "-1:1:51"); coordinates are linspace(min, max, n).
 *
 * Storage convention (ours, right for any nx × ny): 2-D arrays have shape
 * [ny, nx] and element [i, j] is the point (x[j], y[i]). Points are numbered
 * row-major: index k = i·nx + j.
 */
export interface Axis {
  min: number;
  max: number;
  n: number;
}

export interface Grid {
  x: Axis;
  /** Absent for a 1-D slice. */
  y?: Axis;
}

export const GRID_CONVENTION = 'arrays have shape [ny, nx]; element [i, j] holds the point (x = xcoordinates[j], y = ycoordinates[i])';

export function parseAxis(text: string, what = 'axis'): Axis {
  const parts = text.split(':');
  if (parts.length !== 3) throw new Error(`${what} "${text}" must look like min:max:n, e.g. -1:1:51`);
  const [min, max, n] = parts.map((p) => Number(p.trim())) as [number, number, number];
  if (parts.some((p) => p.trim() === '') || ![min, max, n].every(Number.isFinite)) {
    throw new Error(`${what} "${text}" must be three numbers min:max:n`);
  }
  return checkAxis({ min, max, n }, what);
}

/** More points than this on one axis is a typo, not a landscape. */
export const MAX_AXIS_POINTS = 100_000;

export function checkAxis(a: Axis, what = 'axis'): Axis {
  if (!Number.isInteger(a.n) || a.n < 1) throw new Error(`${what}: the number of points must be a positive integer, got ${a.n}`);
  if (a.n > MAX_AXIS_POINTS) throw new Error(`${what}: ${a.n} points; at most ${MAX_AXIS_POINTS} per axis`);
  if (a.n > 1 && !(a.max > a.min)) throw new Error(`${what}: max (${a.max}) must be greater than min (${a.min})`);
  return a;
}

/** linspace(min, max, n) in float64 (both ends included). */
export function coordinates(a: Axis): Float64Array {
  const out = new Float64Array(a.n);
  if (a.n === 1) {
    out[0] = a.min;
    return out;
  }
  const step = (a.max - a.min) / (a.n - 1);
  for (let i = 0; i < a.n; i++) out[i] = a.min + i * step;
  out[a.n - 1] = a.max;
  return out;
}

export function gridShape(g: Grid): [number, number] {
  return [g.y?.n ?? 1, g.x.n];
}

export function gridSize(g: Grid): number {
  const [ny, nx] = gridShape(g);
  return ny * nx;
}

/** Coordinates (α, β) of points [start, end) interleaved [α0, β0, α1, β1, …]. */
export function gridPoints(g: Grid, start = 0, end = gridSize(g)): Float64Array {
  const xs = coordinates(g.x);
  const ys = g.y ? coordinates(g.y) : new Float64Array([0]);
  const nx = g.x.n;
  const out = new Float64Array(2 * (end - start));
  for (let k = start; k < end; k++) {
    out[2 * (k - start)] = xs[k % nx]!;
    out[2 * (k - start) + 1] = ys[Math.floor(k / nx)]!;
  }
  return out;
}

export function formatAxis(a: Axis): string {
  return `${a.min}:${a.max}:${a.n}`;
}
