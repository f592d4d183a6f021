/**
 * PCA of the training trajectory (Li et al. 2018, §7; the reference code's
 * `setup_PCA_directions`): rows r_k = θ_k − θ_final over the checkpoints,
 * centred as sklearn's PCA does, the first two principal components as unit
 * directions (not filter-normalized), the path projected by dot products
 * x_k = r_k · u1, y_k = r_k · u2, and the loss over that plane around θ_final.
 *
 * The components come from the small Gram matrix C = R_c R_cᵀ (k × k for k
 * checkpoints, via Lanczos with full reorthogonalization, exact once the Krylov
 * space fills ℝᵏ), never from the P × P covariance: u_j = R_cᵀ v_j / √λ_j.
 *
 * The path is a projection: the checkpoints lie off the plane (their residual
 * distance is reported), so the loss along the real trajectory may differ from
 * the contours under the drawn path.
 */
import { LosscapeError } from '../../core/errors.js';
import { type Axis, type Grid, parseAxis } from '../../core/grid.js';
import type { ParamLayout } from '../../core/layout.js';
import { directionEntries, gaussianDirection } from '../../directions/directions.js';
import { lanczos } from '../../linalg/lanczos.js';

export interface PcaOptions {
  /** 'biasbn' (default): tensors with ≤ 1 dimension (biases, BN) get no component; 'none': all learnable tensors. */
  ignore?: 'biasbn' | 'none';
  /** Subtract the mean row before PCA (sklearn, the reference code). Default true. */
  center?: boolean;
  /** Seed of the fallback second direction when the trajectory is a line. */
  seed?: number;
}

export interface TrajectoryPca {
  /** Unit principal directions in the layout (zero on ignored tensors). */
  d1: Float32Array;
  d2: Float32Array;
  /** Fraction of the total variance along PC1 and PC2. */
  explained: [number, number];
  /** Variances of all components (descending; the Gram matrix's eigenvalues). */
  eigenvalues: number[];
  /** [r_k · u1, r_k · u2] per checkpoint, r_k = θ_k − θ_final (masked). */
  path: [number, number][];
  /** ‖r_k − projection‖ / ‖r_k‖ per checkpoint (0 for the final one): how far off the plane each checkpoint is. */
  residual: number[];
  /** Names of the tensors that entered the PCA. */
  tensors: string[];
  /** Gram-matrix products used by Lanczos. */
  matvecs: number;
  /** PC2 had zero variance (a straight trajectory); d2 is a seeded direction orthogonal to d1. */
  degenerate: boolean;
}

/** [start, end) offsets of the tensors that enter the PCA. */
type Ranges = (readonly [number, number])[];

/**
 * PCA of a trajectory `thetas` (checkpoint order; the last is the centre).
 * Works on the k × k Gram matrix; P may be large.
 */
export async function trajectoryPca(thetas: Float32Array[], layout: ParamLayout, opts: PcaOptions = {}): Promise<TrajectoryPca> {
  const k = thetas.length;
  if (k < 2) throw new LosscapeError('input', `PCA of a trajectory needs at least 2 checkpoints, got ${k}`);
  const entries = directionEntries(layout, { ignore: opts.ignore ?? 'biasbn', include: 'weights' });
  if (!entries.length) throw new LosscapeError('input', 'PCA: no parameter tensor is eligible (all were ignored)');
  const ranges: Ranges = entries.map((e) => [e.offset, e.offset + e.size] as const);
  const rows = trajectoryRows(thetas, ranges, layout.size);
  const center = opts.center ?? true;
  const G = gramMatrix(rows, ranges);
  const C = center ? doubleCentred(G, k) : G;
  let total = 0;
  for (let i = 0; i < k; i++) total += C[i * k + i]!;
  if (!(total > 0)) throw new LosscapeError('input', 'PCA: all checkpoints are identical on the eligible tensors (no trajectory)');

  const lz = await lanczos(gramOperator(C, k), { which: 'top-k', k: Math.min(2, k), maxIter: k, tol: 1e-12, seed: opts.seed ?? 0 });
  const eigenvalues = Array.from(lz.ritzValues)
    .map((v) => Math.max(0, v))
    .sort((a, b) => b - a);
  const top = lz.top!;
  const lam1 = Math.max(0, top.values[0]!);
  const lam2 = top.values.length > 1 ? Math.max(0, top.values[1]!) : 0;
  const degenerate = !(lam2 > 1e-12 * lam1);
  const u1 = component(top.vectors[0]!, rows, ranges, center);
  // a straight trajectory: any unit direction orthogonal to u1 spans the plane with it
  const u2 = degenerate ? orthonormalize(maskedGaussian(layout, ranges, opts.seed ?? 0), u1) : component(top.vectors[1]!, rows, ranges, center);
  // Gram–Schmidt once more against rounding (the components are orthogonal in exact arithmetic)
  orthonormalize(u2, u1);
  const path = orientPlane(rows, ranges, u1, u2);
  return {
    d1: Float32Array.from(u1),
    d2: Float32Array.from(u2),
    explained: [lam1 / total, degenerate ? 0 : lam2 / total],
    eigenvalues,
    path,
    residual: residuals(rows, ranges, path),
    tensors: entries.map((e) => e.name),
    matvecs: lz.matvecs,
    degenerate,
  };
}

/** Rows r_i = θ_i − θ_final on the eligible tensors (float64, zero elsewhere). */
function trajectoryRows(thetas: Float32Array[], ranges: Ranges, P: number): Float64Array[] {
  const final = thetas[thetas.length - 1]!;
  return thetas.map((t) => {
    if (t.length !== P) throw new LosscapeError('input', `checkpoint has ${t.length} parameters, the layout ${P}`);
    const r = new Float64Array(P);
    for (const [a, b] of ranges) for (let p = a; p < b; p++) r[p] = t[p]! - final[p]!;
    return r;
  });
}

function dotRanges(a: Float64Array, b: Float64Array, ranges: Ranges): number {
  let s = 0;
  for (const [lo, hi] of ranges) for (let p = lo; p < hi; p++) s += a[p]! * b[p]!;
  return s;
}

/** G_ij = r_i · r_j (k × k, row-major). */
function gramMatrix(rows: Float64Array[], ranges: Ranges): Float64Array {
  const k = rows.length;
  const G = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const s = dotRanges(rows[i]!, rows[j]!, ranges);
      G[i * k + j] = s;
      G[j * k + i] = s;
    }
  }
  return G;
}

/** The Gram matrix of the centred rows: C = (I − 11ᵀ/k) G (I − 11ᵀ/k). */
function doubleCentred(G: Float64Array, k: number): Float64Array {
  const rm = new Float64Array(k);
  let tm = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) rm[i]! += G[i * k + j]! / k;
    tm += rm[i]! / k;
  }
  const C = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) C[i * k + j] = G[i * k + j]! - rm[i]! - rm[j]! + tm;
  return C;
}

function gramOperator(C: Float64Array, k: number) {
  return {
    dim: k,
    matvec: async (v: Float64Array) => {
      const y = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += C[i * k + j]! * v[j]!;
        y[i] = s;
      }
      return y;
    },
  };
}

/** u ← u / ‖u‖ (in place). */
function normalize(u: Float64Array): Float64Array {
  const n = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
  for (let p = 0; p < u.length; p++) u[p]! /= n;
  return u;
}

/**
 * A unit component of the data, u ∝ R_cᵀ v with R_c the centred rows:
 * Σ v_i (r_i − m) = Σ (v_i − mean(v)) r_i, normalized exactly rather than by √λ.
 */
function component(v: Float64Array, rows: Float64Array[], ranges: Ranges, center: boolean): Float64Array {
  const k = rows.length;
  const u = new Float64Array(rows[0]!.length);
  let vs = 0;
  for (let i = 0; i < k; i++) vs += v[i]!;
  for (let i = 0; i < k; i++) {
    const c = v[i]! - (center ? vs / k : 0);
    if (c === 0) continue;
    const r = rows[i]!;
    for (const [a, b] of ranges) for (let p = a; p < b; p++) u[p]! += c * r[p]!;
  }
  return normalize(u);
}

/** The seeded Gaussian direction on the eligible tensors (zero elsewhere). */
function maskedGaussian(layout: ParamLayout, ranges: Ranges, seed: number): Float64Array {
  const g = gaussianDirection(layout, seed);
  const u = new Float64Array(layout.size);
  for (const [a, b] of ranges) for (let p = a; p < b; p++) u[p] = g[p]!;
  return u;
}

/** u ← unit(u − (u·w) w) for a unit w (in place). */
function orthonormalize(u: Float64Array, w: Float64Array): Float64Array {
  let c = 0;
  for (let p = 0; p < u.length; p++) c += u[p]! * w[p]!;
  for (let p = 0; p < u.length; p++) u[p]! -= c * w[p]!;
  return normalize(u);
}

/**
 * The projected path [r_k · u1, r_k · u2], with the signs of u1 and u2 chosen
 * so that it starts at negative coordinates (x0 ≤ 0, y0 ≤ 0) and ends at
 * (0, 0). A flip negates a direction over the eligible tensors only (the others
 * stay exactly +0) and the path is projected again.
 */
function orientPlane(rows: Float64Array[], ranges: Ranges, u1: Float64Array, u2: Float64Array): [number, number][] {
  const project = () => rows.map((r) => [dotRanges(r, u1, ranges), dotRanges(r, u2, ranges)] as [number, number]);
  const path = project();
  const flip = [path[0]![0] > 0, path[0]![1] > 0];
  if (flip[0]) for (const [a, b] of ranges) for (let p = a; p < b; p++) u1[p] = -u1[p]!;
  if (flip[1]) for (const [a, b] of ranges) for (let p = a; p < b; p++) u2[p] = -u2[p]!;
  return flip[0] || flip[1] ? project() : path;
}

/** ‖r_k − projection‖ / ‖r_k‖ per checkpoint (0 for a zero row). */
function residuals(rows: Float64Array[], ranges: Ranges, path: [number, number][]): number[] {
  return rows.map((r, i) => {
    const rr = dotRanges(r, r, ranges);
    if (rr === 0) return 0;
    const [x, y] = path[i]!;
    return Math.sqrt(Math.max(0, rr - x * x - y * y) / rr);
  });
}

/** A grid that covers the path with a margin (fraction of its extent on each side). */
export function pathGrid(path: [number, number][], n: number, margin: number): Grid {
  const axis = (vals: number[], what: string): Axis => {
    let lo = Math.min(...vals, 0);
    let hi = Math.max(...vals, 0);
    let span = hi - lo;
    if (!(span > 0)) span = 1;
    lo -= margin * span;
    hi += margin * span;
    const r = (v: number) => Number(v.toPrecision(4));
    return parseAxis(`${r(lo)}:${r(hi)}:${n}`, what);
  };
  return {
    x: axis(
      path.map((p) => p[0]),
      'x',
    ),
    y: axis(
      path.map((p) => p[1]),
      'y',
    ),
  };
}
