/**
 * The statistics of the direction-variability study, over flat vectors: the
 * per-point spread of K landscapes, one row of statistics per seed, and the
 * summary rows over seeds.
 */
import { maxOf, mean, median, minOf, std } from '../stats.js';

export interface SeedRow {
  seed: string;
  centre: number;
  /** Mean of L(±rδ), L(±rη). */
  atRadius: number;
  /** L(rδ), L(−rδ), L(rη), L(−rη). */
  alongD: [number, number];
  alongE: [number, number];
  gridMean: number;
  gridMax: number;
  /** δᵀHδ, ηᵀHη (exact). */
  curvD: number;
  curvE: number;
  /** Finite-difference curvature along δ and η at radius r. */
  fdD: number;
  fdE: number;
  cosine: number;
}

/** What was measured along one plane: L(θ), the loss at ±r along both directions, the curvatures, the landscape. */
export interface PlaneProbe {
  centre: number;
  alongD: [number, number];
  alongE: [number, number];
  curvD: number;
  curvE: number;
  cosine: number;
  loss: Float64Array;
}

/** Over the grid: max and mean of (max − min), and of (max − min) / median. */
export interface Spread {
  max: number;
  mean: number;
  maxRel: number;
  meanRel: number;
}

/** Per-point min, median, max over K value arrays. */
export function pointwiseSpread(values: Float64Array[]): { min: Float64Array; median: Float64Array; max: Float64Array } {
  const n = values[0]!.length;
  const min = new Float64Array(n);
  const med = new Float64Array(n);
  const max = new Float64Array(n);
  const col = new Float64Array(values.length);
  for (let i = 0; i < n; i++) {
    values.forEach((v, k) => (col[k] = v[i]!));
    min[i] = minOf(col);
    max[i] = maxOf(col);
    med[i] = median(col);
  }
  return { min, median: med, max };
}

/** The spread channels (min, median, max, max − min, (max − min) / |median|) and their summary. */
export function spreadOf(losses: Float64Array[]) {
  const sp = pointwiseSpread(losses);
  const range = Float64Array.from(sp.max, (v, i) => v - sp.min[i]!);
  const rel = Float64Array.from(range, (v, i) => v / Math.abs(sp.median[i]!));
  const summary: Spread = { max: maxOf(range), mean: mean(range), maxRel: maxOf(rel), meanRel: mean(rel) };
  return { ...sp, range, rel, summary };
}

/** One seed's row; r is the radius of the probes. */
export function seedRow(seed: number, p: PlaneProbe, r: number): SeedRow {
  return {
    seed: String(seed),
    centre: p.centre,
    atRadius: (p.alongD[0] + p.alongD[1] + p.alongE[0] + p.alongE[1]) / 4,
    alongD: p.alongD,
    alongE: p.alongE,
    gridMean: mean(p.loss),
    gridMax: maxOf(p.loss),
    curvD: p.curvD,
    curvE: p.curvE,
    fdD: (p.alongD[0] - 2 * p.centre + p.alongD[1]) / (r * r),
    fdE: (p.alongE[0] - 2 * p.centre + p.alongE[1]) / (r * r),
    cosine: p.cosine,
  };
}

/** The seed rows followed by their mean, std, min and max over seeds. */
export function withSummaryRows(rows: SeedRow[]): SeedRow[] {
  const agg = (f: (r: SeedRow) => number, g: (v: number[]) => number) => g(rows.map(f));
  const summary = (label: string, g: (v: number[]) => number): SeedRow => ({
    seed: label,
    centre: agg((x) => x.centre, g),
    atRadius: agg((x) => x.atRadius, g),
    alongD: [agg((x) => x.alongD[0], g), agg((x) => x.alongD[1], g)],
    alongE: [agg((x) => x.alongE[0], g), agg((x) => x.alongE[1], g)],
    gridMean: agg((x) => x.gridMean, g),
    gridMax: agg((x) => x.gridMax, g),
    curvD: agg((x) => x.curvD, g),
    curvE: agg((x) => x.curvE, g),
    fdD: agg((x) => x.fdD, g),
    fdE: agg((x) => x.fdE, g),
    cosine: agg((x) => x.cosine, g),
  });
  return [...rows, summary('mean', mean), summary('std', std), summary('min', minOf), summary('max', maxOf)];
}
