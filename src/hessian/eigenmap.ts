/**
 * Eigenvalue maps: λmax, λmin (true signs, one Lanczos run per point for both
 * ends) and |λmin/λmax| of the Hessian of the MEAN loss over the engine's data,
 * at every point θ + x·δ + y·η of a grid, stored in the grid-file layout next
 * to the surfaces (channels `max_eig`, `min_eig`, `eig_ratio`, `hvps`,
 * `converged`; root attributes `params`, `convergence`, `tol`, `max_iter`).
 *
 * Resumable through runGridJob: the grid is cut into fixed chunks (default one
 * row of nx points). Warm starts stay inside a chunk: the first point of a
 * chunk starts from a random vector seeded by (seed, point index), each later
 * point from the previous point's two extreme Ritz vectors plus a seeded
 * random vector of the same norm (WARM_NOISE), so that no eigenvector is
 * missing from, or starved in, the start vector. The
 * points of a chunk are visited in snake order (rows of even index left to
 * right, odd rows right to left), so consecutive points are grid neighbours.
 * Every number therefore depends only on the chunk's fixed set of points, never
 * on where an earlier run was interrupted: a resumed map equals an
 * uninterrupted one.
 */

import { formatAxis, type Grid, gridPoints, gridSize } from '../core/grid.js';
import { hashBytes, hashJSON } from '../core/hash.js';
import { planePoint64, pointWeights } from '../core/plane.js';
import { Rng } from '../core/rng.js';
import type { LossEngine } from '../engine/engine.js';
import type { H5Tree } from '../io/h5.js';
import type { GridFile } from '../jobs/grid-file.js';
import { type GridProgress, runGridJob } from '../jobs/grid-job.js';
import { CERTIFY_TOL, DEFAULT_CONVERGENCE } from '../linalg/extremes.js';
import type { ParamSelection } from '../linalg/hessian-operator.js';
import { defaultTol, LANCZOS_DEFAULTS, type LanczosConvergence, warmStartVector } from '../linalg/lanczos.js';
import { norm, scale } from '../linalg/vector.js';
import { pointEigenvalues } from './point.js';

export const EIGEN_CHANNELS = ['max_eig', 'min_eig', 'eig_ratio', 'hvps', 'converged', 'certified'] as const;

/**
 * Weight of the random part of a warm start vector (the Ritz part has norm 1).
 * On the fixture grid (tol 1e-5): 0 gives λmin misconvergence at 1 of 25
 * points (the previous point's λmin vector leans toward the wrong member of a
 * tight cluster), 0.1 and 0.3 at 1 of 75, 1 at none of 225, and still saves
 * ~12 % of the HVPs against cold starts (56.9 instead of 64 per point).
 */
export const WARM_NOISE = 1;

export interface EigenmapRequest {
  engine: LossEngine;
  theta: Float32Array;
  dx: Float32Array;
  /** Absent for a 1-D slice. */
  dy?: Float32Array;
  grid: Grid;
  /** Output grid file (.h5). */
  path: string;
  /** Tensors in the Hessian (default 'all'). */
  params?: ParamSelection;
  /** Lanczos convergence test for λmax and λmin (default 'eigenvalue', point.ts). */
  convergence?: LanczosConvergence;
  /** Its tolerance relative to max|θ| (default defaultTol(convergence)). */
  tol?: number;
  /** Lanczos steps (HVPs) per point at most (default 200). */
  maxIter?: number;
  /** Seed of the start vectors (default 0). */
  seed?: number;
  /** Check every converged point: no eigenvalue beyond λmin/λmax by more than certifyTol (default true; linalg/certify.ts). */
  certify?: boolean;
  /** Tolerance of the check relative to max|λ| (default CERTIFY_TOL, 1e-5). */
  certifyTol?: number;
  /** Warm-start each point from the previous point of its chunk (default true). */
  warmStart?: boolean;
  /** Points per resumable chunk (default: one row, nx). Warm starts never cross chunks. */
  chunkSize?: number;
  /** Everything else the values depend on (model, data, mode…), for the fingerprint. */
  context: unknown;
  chunks?: number[];
  fresh?: boolean;
  saveEverySec?: number;
  attrs?: Record<string, string | number>;
  extra?: H5Tree;
  onProgress?(p: GridProgress): void;
  /** Called after every point computed by this process. */
  onPoint?(p: EigenPointStats): void;
}

export interface EigenPointStats {
  /** Row-major point index. */
  index: number;
  x: number;
  y: number;
  lambdaMax: number;
  lambdaMin: number;
  hvps: number;
  /** Wall time of the point (Lanczos + HVPs), and the part inside engine.hvp. */
  ms: number;
  hvpMs: number;
  converged: boolean;
  certified: boolean;
  /** HVPs of the check (and of a solve restarted from what it found), part of `hvps`. */
  certifyHvps: number;
  warm: boolean;
}

export interface EigenmapStats {
  /** Points computed by this process. */
  points: number;
  /** Points already in the file (resumed). */
  resumed: number;
  hvps: number;
  ms: number;
  hvpMs: number;
  /** Points not converged: the Lanczos run hit maxIter, or the check could not certify the extremes. */
  unconverged: number;
  /** Points the check did not certify (undecided, or checking off). */
  uncertified: number;
  /** HVPs spent on the checks. */
  certifyHvps: number;
  perPoint: EigenPointStats[];
}

export interface EigenmapResult {
  file: GridFile;
  stats: EigenmapStats;
}

export function eigenmapFingerprint(
  req: Pick<
    EigenmapRequest,
    'theta' | 'dx' | 'dy' | 'grid' | 'engine' | 'context' | 'params' | 'convergence' | 'tol' | 'maxIter' | 'seed' | 'warmStart' | 'certify' | 'certifyTol'
  > & {
    chunkSize: number;
  },
): string {
  return hashJSON({
    kind: 'hessian',
    theta: hashBytes(req.theta),
    dx: hashBytes(req.dx),
    dy: req.dy ? hashBytes(req.dy) : null,
    x: formatAxis(req.grid.x),
    y: req.grid.y ? formatAxis(req.grid.y) : null,
    engine: `${req.engine.description} n=${req.engine.samples}`,
    params: req.params ?? 'all',
    convergence: req.convergence ?? DEFAULT_CONVERGENCE,
    tol: req.tol ?? defaultTol(req.convergence ?? DEFAULT_CONVERGENCE),
    maxIter: req.maxIter ?? LANCZOS_DEFAULTS.maxIter,
    seed: req.seed ?? 0,
    warm: req.warmStart ?? true,
    certify: req.certify ?? true,
    certifyTol: req.certifyTol ?? CERTIFY_TOL,
    chunk: req.chunkSize,
    context: req.context,
  });
}

/** Snake order of the points [start, end): rows of even index left to right, odd rows right to left. */
export function snakeOrder(grid: Grid, start: number, end: number): number[] {
  const nx = grid.x.n;
  const out: number[] = [];
  let k = start;
  while (k < end) {
    const row = Math.floor(k / nx);
    const rowEnd = Math.min(end, (row + 1) * nx);
    const seg = Array.from({ length: rowEnd - k }, (_, i) => k + i);
    out.push(...(row % 2 === 1 ? seg.reverse() : seg));
    k = rowEnd;
  }
  return out;
}

/** The weights of a grid point as the engine wants them: float64 combination for float64 engines, the reference's float32 order otherwise. */
export function gridPointWeights(
  engine: LossEngine,
  theta: Float32Array,
  dx: Float32Array,
  dy: Float32Array | undefined,
  a: number,
  b: number,
): Float32Array | Float64Array {
  if (engine.dtype === 'float64') return planePoint64(theta, dx, dy, a, b);
  return pointWeights(theta, dx, dy ?? new Float32Array(theta.length), a, b);
}

function seedOf(seed: number, index: number): number {
  return (Math.imul(seed | 0, 0x9e3779b1) + index) | 0;
}

/** warmStartVector of the previous point plus WARM_NOISE times a seeded random unit vector. */
export function noisyWarmStart(prev: { ritzMax: Float64Array; ritzMin: Float64Array; warm?: Float64Array }, seed: number): Float64Array {
  const v0 = warmStartVector(prev);
  const g = new Rng(seed, 'warm-start').normalVector(v0.length);
  scale(WARM_NOISE / norm(g), g);
  for (let t = 0; t < v0.length; t++) v0[t]! += g[t]!;
  return v0;
}

export async function computeEigenmap(req: EigenmapRequest): Promise<EigenmapResult> {
  const chunkSize = req.chunkSize ?? req.grid.x.n;
  const params = req.params ?? 'all';
  const convergence = req.convergence ?? DEFAULT_CONVERGENCE;
  const tol = req.tol ?? defaultTol(convergence);
  const maxIter = req.maxIter ?? LANCZOS_DEFAULTS.maxIter;
  const seed = req.seed ?? 0;
  const warmStart = req.warmStart ?? true;
  const certify = req.certify ?? true;
  const certifyTol = req.certifyTol ?? CERTIFY_TOL;
  const perPoint: EigenPointStats[] = [];
  let resumed = 0;
  const file = await runGridJob({
    path: req.path,
    grid: req.grid,
    channels: [...EIGEN_CHANNELS],
    fingerprint: eigenmapFingerprint({ ...req, chunkSize }),
    attrs: {
      params,
      convergence,
      tol,
      max_iter: maxIter,
      warm_start: warmStart ? 1 : 0,
      certify_tol: certify ? certifyTol : 0,
      loss: 'mean over the evaluation subset',
      ...req.attrs,
    },
    extra: req.extra,
    chunkSize,
    chunks: req.chunks,
    // chunks are independent (warm starts stay inside a chunk): run as many as the engine has workers
    concurrency: req.engine.concurrency ?? 1,
    fresh: req.fresh,
    saveEverySec: req.saveEverySec,
    onProgress: (p) => {
      resumed = p.resumed;
      req.onProgress?.(p);
    },
    async evaluate(start, end) {
      const len = end - start;
      const out = new Float64Array(len * EIGEN_CHANNELS.length);
      const pts = gridPoints(req.grid, start, end);
      let prev: { ritzMax: Float64Array; ritzMin: Float64Array; warm?: Float64Array } | null = null;
      for (const k of snakeOrder(req.grid, start, end)) {
        const i = k - start;
        const x = pts[2 * i]!;
        const y = pts[2 * i + 1]!;
        const v0 = warmStart && prev ? noisyWarmStart(prev, seedOf(seed, k)) : undefined;
        const w = gridPointWeights(req.engine, req.theta, req.dx, req.dy, x, y);
        const r = await pointEigenvalues(req.engine, w, { params, convergence, tol, maxIter, seed: seedOf(seed, k), v0, certify, certifyTol });
        prev = r.lanczos;
        const values = [r.lambdaMax, r.lambdaMin, r.ratio, r.hvps, r.converged ? 1 : 0, r.certified ? 1 : 0];
        values.forEach((v, c) => (out[c * len + i] = v));
        const st: EigenPointStats = {
          index: k,
          x,
          y,
          lambdaMax: r.lambdaMax,
          lambdaMin: r.lambdaMin,
          hvps: r.hvps,
          ms: r.ms,
          hvpMs: r.hvpMs,
          converged: r.converged,
          certified: r.certified,
          certifyHvps: r.certifyHvps,
          warm: v0 !== undefined,
        };
        perPoint.push(st);
        req.onPoint?.(st);
      }
      return out;
    },
  });
  const sum = (f: (p: EigenPointStats) => number) => perPoint.reduce((a, p) => a + f(p), 0);
  return {
    file,
    stats: {
      points: perPoint.length,
      resumed,
      hvps: sum((p) => p.hvps),
      ms: sum((p) => p.ms),
      hvpMs: sum((p) => p.hvpMs),
      unconverged: perPoint.filter((p) => !p.converged).length,
      uncertified: perPoint.filter((p) => !p.certified).length,
      certifyHvps: sum((p) => p.certifyHvps),
      perPoint,
    },
  };
}

/**
 * What one eigenmap point costs (for benchmarks): runs `points` grid points of
 * a row (warm-started as in a map) without writing anything and returns the
 * mean HVPs (with those of the certification check), wall time and time inside engine.hvp per point.
 */
export async function hessianPointCost(
  engine: LossEngine,
  theta: Float32Array,
  dx: Float32Array,
  dy: Float32Array | undefined,
  grid: Grid,
  opts: {
    params?: ParamSelection;
    convergence?: LanczosConvergence;
    tol?: number;
    maxIter?: number;
    points?: number;
    warmStart?: boolean;
    certify?: boolean;
  } = {},
): Promise<{ points: number; hvpsPerPoint: number; certifyHvpsPerPoint: number; msPerPoint: number; hvpMsPerPoint: number; msPerHvp: number }> {
  const n = Math.min(gridSize(grid), Math.max(1, opts.points ?? grid.x.n));
  const pts = gridPoints(grid, 0, n);
  let prev: { ritzMax: Float64Array; ritzMin: Float64Array; warm?: Float64Array } | null = null;
  let hvps = 0;
  let certifyHvps = 0;
  let ms = 0;
  let hvpMs = 0;
  for (let k = 0; k < n; k++) {
    const v0 = (opts.warmStart ?? true) && prev ? noisyWarmStart(prev, seedOf(0, k)) : undefined;
    const w = gridPointWeights(engine, theta, dx, dy, pts[2 * k]!, pts[2 * k + 1]!);
    const r = await pointEigenvalues(engine, w, {
      params: opts.params,
      convergence: opts.convergence,
      tol: opts.tol,
      maxIter: opts.maxIter,
      seed: seedOf(0, k),
      v0,
      certify: opts.certify,
    });
    prev = r.lanczos;
    hvps += r.hvps;
    certifyHvps += r.certifyHvps;
    ms += r.ms;
    hvpMs += r.hvpMs;
  }
  return {
    points: n,
    hvpsPerPoint: hvps / n,
    certifyHvpsPerPoint: certifyHvps / n,
    msPerPoint: ms / n,
    hvpMsPerPoint: hvpMs / n,
    msPerHvp: hvpMs / Math.max(1, hvps),
  };
}
