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
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { type Axis, type Grid, gridSize, parseAxis } from '../core/grid.js';
import type { ParamLayout } from '../core/layout.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { directionEntries, gaussianDirection } from '../directions/directions.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { lanczos } from '../linalg/lanczos.js';
import type { Manifest } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { writeJson } from './common.js';
import { type FigureFiles, pcaFigure, tryFigure } from './figures.js';
import { openRun, orderedCheckpoints, runEngine } from './run-access.js';

export const PROJECTION_NOTE =
  'The path is the projection of the training trajectory onto the PCA plane (dot products with the two unit directions). ' +
  'The checkpoints themselves lie off this plane (see residual), so the loss along the real trajectory may differ from the contours under the drawn path.';

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

/**
 * PCA of a trajectory `thetas` (checkpoint order; the last is the centre).
 * Works on the k × k Gram matrix; P may be large.
 */
export async function trajectoryPca(thetas: Float32Array[], layout: ParamLayout, opts: PcaOptions = {}): Promise<TrajectoryPca> {
  const k = thetas.length;
  if (k < 2) throw new LosscapeError('input', `PCA of a trajectory needs at least 2 checkpoints, got ${k}`);
  const P = layout.size;
  const entries = directionEntries(layout, { ignore: opts.ignore ?? 'biasbn', include: 'weights' });
  if (!entries.length) throw new LosscapeError('input', 'PCA: no parameter tensor is eligible (all were ignored)');
  const ranges = entries.map((e) => [e.offset, e.offset + e.size] as const);
  const final = thetas[k - 1]!;
  // rows r_i = θ_i − θ_final on the eligible tensors (float64)
  const rows = thetas.map((t) => {
    if (t.length !== P) throw new LosscapeError('input', `checkpoint has ${t.length} parameters, the layout ${P}`);
    const r = new Float64Array(P);
    for (const [a, b] of ranges) for (let p = a; p < b; p++) r[p] = t[p]! - final[p]!;
    return r;
  });
  // Gram G_ij = r_i · r_j, then centring: C = (I − 11ᵀ/k) G (I − 11ᵀ/k)
  const G = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      const ri = rows[i]!;
      const rj = rows[j]!;
      for (const [a, b] of ranges) for (let p = a; p < b; p++) s += ri[p]! * rj[p]!;
      G[i * k + j] = s;
      G[j * k + i] = s;
    }
  }
  const center = opts.center ?? true;
  const C = Float64Array.from(G);
  if (center) {
    const rm = new Float64Array(k);
    let tm = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) rm[i]! += G[i * k + j]! / k;
      tm += rm[i]! / k;
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) C[i * k + j] = G[i * k + j]! - rm[i]! - rm[j]! + tm;
  }
  let total = 0;
  for (let i = 0; i < k; i++) total += C[i * k + i]!;
  if (!(total > 0)) throw new LosscapeError('input', 'PCA: all checkpoints are identical on the eligible tensors (no trajectory)');

  const op = {
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
  const lz = await lanczos(op, { which: 'top-k', k: Math.min(2, k), maxIter: k, tol: 1e-12, seed: opts.seed ?? 0 });
  const eigenvalues = Array.from(lz.ritzValues)
    .map((v) => Math.max(0, v))
    .sort((a, b) => b - a);
  const top = lz.top!;
  // a component of the data: u = R_cᵀ v / √λ with R_c the centred rows
  const component = (v: Float64Array, lambda: number): Float64Array => {
    const u = new Float64Array(P);
    let vs = 0;
    for (let i = 0; i < k; i++) vs += v[i]!;
    for (let i = 0; i < k; i++) {
      const c = v[i]! - (center ? vs / k : 0);
      if (c === 0) continue;
      const r = rows[i]!;
      for (const [a, b] of ranges) for (let p = a; p < b; p++) u[p]! += c * r[p]!;
    }
    // (Σ v_i (r_i − m) = Σ (v_i − mean(v)) r_i.) Normalize exactly rather than by √λ.
    void lambda;
    const n = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
    for (let p = 0; p < P; p++) u[p]! /= n;
    return u;
  };
  const lam1 = Math.max(0, top.values[0]!);
  const u1 = component(top.vectors[0]!, lam1);
  const lam2 = top.values.length > 1 ? Math.max(0, top.values[1]!) : 0;
  let u2: Float64Array;
  const degenerate = !(lam2 > 1e-12 * lam1);
  if (!degenerate) u2 = component(top.vectors[1]!, lam2);
  else {
    // a straight trajectory: any unit direction orthogonal to u1 spans the plane with it
    const g = gaussianDirection(layout, opts.seed ?? 0);
    u2 = new Float64Array(P);
    for (const [a, b] of ranges) for (let p = a; p < b; p++) u2[p] = g[p]!;
    let c = 0;
    for (let p = 0; p < P; p++) c += u2[p]! * u1[p]!;
    for (let p = 0; p < P; p++) u2[p]! -= c * u1[p]!;
    const n = Math.sqrt(u2.reduce((s, x) => s + x * x, 0));
    for (let p = 0; p < P; p++) u2[p]! /= n;
  }
  // Gram–Schmidt once more against rounding (the components are orthogonal in exact arithmetic)
  {
    let c = 0;
    for (let p = 0; p < P; p++) c += u2[p]! * u1[p]!;
    for (let p = 0; p < P; p++) u2[p]! -= c * u1[p]!;
    const n = Math.sqrt(u2.reduce((s, x) => s + x * x, 0));
    for (let p = 0; p < P; p++) u2[p]! /= n;
  }
  const dotRange = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (const [lo, hi] of ranges) for (let p = lo; p < hi; p++) s += a[p]! * b[p]!;
    return s;
  };
  let path = rows.map((r) => [dotRange(r, u1), dotRange(r, u2)] as [number, number]);
  // sign convention: the path starts at negative coordinates (x0 ≤ 0, y0 ≤ 0) and ends at (0, 0)
  const flip = [path[0]![0] > 0 ? -1 : 1, path[0]![1] > 0 ? -1 : 1];
  // (over the eligible tensors only: the others stay exactly +0)
  if (flip[0] < 0) for (const [a, b] of ranges) for (let p = a; p < b; p++) u1[p] = -u1[p]!;
  if (flip[1] < 0) for (const [a, b] of ranges) for (let p = a; p < b; p++) u2[p] = -u2[p]!;
  if (flip[0] < 0 || flip[1] < 0) path = rows.map((r) => [dotRange(r, u1), dotRange(r, u2)] as [number, number]);
  const residual = rows.map((r, i) => {
    const rr = dotRange(r, r);
    if (rr === 0) return 0;
    const [x, y] = path[i]!;
    return Math.sqrt(Math.max(0, rr - x * x - y * y) / rr);
  });
  return {
    d1: Float32Array.from(u1),
    d2: Float32Array.from(u2),
    explained: [lam1 / total, degenerate ? 0 : lam2 / total],
    eigenvalues,
    path,
    residual,
    tensors: entries.map((e) => e.name),
    matvecs: lz.matvecs,
    degenerate,
  };
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

export interface PcaStudyOptions extends PcaOptions {
  /** Points per axis of the automatic grid (default 31). */
  n?: number;
  /** Margin around the path, as a fraction of its extent (default 0.25). */
  margin?: number;
  /** Explicit axes ("min:max:n") instead of the automatic grid. */
  x?: string;
  y?: string;
  backend?: 'auto' | 'jax' | 'onnx';
  /** Accepted for symmetry with the other studies: a PCA surface with other settings is always replaced. */
  fresh?: boolean;
  progress?: ProgressSink;
  /** Also render figure.png (headless Chromium); figure.svg is always written. */
  png?: boolean;
}

export interface PcaStudyResult {
  pca: TrajectoryPca;
  grid: Grid;
  surface: string;
  directions: string;
  centerLoss: number;
  checkpoints: number;
  figure?: FigureFiles;
}

/**
 * Compute the PCA plane of a run's trajectory and the loss over it; writes
 * `pca/surface.h5`, `pca/directions.h5`, `pca/summary.json` and the manifest's
 * `pca` entry (the viewer's "Plane: PCA trajectory").
 */
export async function pcaStudy(runDir: string, o: PcaStudyOptions = {}): Promise<PcaStudyResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  if (run.manifest.status !== 'complete')
    progress.warn(`${runDir} is not complete (status ${run.manifest.status}); using its ${run.thetas.size} checkpoints so far`);
  const cks = orderedCheckpoints(run);
  if (cks.length < 3) progress.warn(`only ${cks.length} checkpoints: the trajectory is a line, the second direction is arbitrary`);
  const pca = await trajectoryPca(
    cks.map((c) => c.theta),
    run.model.layout,
    o,
  );
  let grid: Grid;
  if (o.x || o.y) {
    if (!o.x || !o.y) throw new LosscapeError('input', 'give both x and y axes, or neither (automatic grid around the path)');
    grid = { x: parseAxis(o.x, 'x'), y: parseAxis(o.y, 'y') };
  } else grid = pathGrid(pca.path, o.n ?? 31, o.margin ?? 0.25);

  mkdirSync(join(runDir, 'pca'), { recursive: true });
  const final = cks[cks.length - 1]!;
  const ignore = o.ignore ?? 'biasbn';
  const dirRel = 'pca/directions.h5';
  const surfRel = 'pca/surface.h5';
  await writeDirectionFile(join(runDir, dirRel), run.model.layout, pca.d1, pca.d2, {
    method: 'pca-trajectory',
    ignore,
    center: (o.center ?? true) ? 1 : 0,
    explained_pc1: pca.explained[0],
    explained_pc2: pca.explained[1],
    norm: 'unit (not filter-normalized)',
    note: PROJECTION_NOTE,
  });
  const engines: { train: LossEngine; test?: LossEngine } = {
    train: await runEngine(run, run.data.evalSubset, { backend: o.backend }, progress.warn),
  };
  if (run.data.testSubset) engines.test = await runEngine(run, run.data.testSubset, { backend: o.backend }, progress.warn);
  try {
    const center = await engines.train.evaluate(final.theta);
    const task = progress.task('PCA plane', gridSize(grid), 'points');
    const k = cks.length;
    await computeSurface({
      theta: final.theta,
      dx: pca.d1,
      dy: pca.d2,
      grid,
      engines,
      path: join(runDir, surfRel),
      context: { kind: 'pca', run: run.manifest.configHash, checkpoints: cks.map((c) => c.index), ignore },
      chunkSize: run.cfg.surface.chunk,
      // one PCA plane per run: a plane computed with other settings is replaced (the same settings resume)
      fresh: true,
      attrs: {
        plane: 'pca-trajectory',
        checkpoint: final.index,
        step: final.step,
        epoch: final.epoch,
        dir_file: dirRel,
        center_loss: center.loss,
        center_acc: center.acc,
        explained_pc1: pca.explained[0],
        explained_pc2: pca.explained[1],
        ignore,
        note: PROJECTION_NOTE,
      },
      extra: {
        'pca/path': { data: Float64Array.from(pca.path.flat()), shape: [k, 2] },
        'pca/residual': { data: Float64Array.from(pca.residual) },
        'pca/checkpoints': { data: Int32Array.from(cks.map((c) => c.index)) },
        'pca/eigenvalues': { data: Float64Array.from(pca.eigenvalues) },
      },
      onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
    });
    task.end();
    // the manifest entry the viewer draws (re-read: the run may have been touched meanwhile)
    const m = run.store.readManifest();
    const entry = { surface: surfRel, path: pca.path, explained: pca.explained, directions: dirRel, note: PROJECTION_NOTE };
    (m as Manifest & { pca: unknown }).pca = entry;
    run.store.writeManifest(m);
    writeJson(join(runDir, 'pca', 'summary.json'), {
      explained: pca.explained,
      eigenvalues: pca.eigenvalues,
      checkpoints: cks.map((c, i) => ({ index: c.index, step: c.step, x: pca.path[i]![0], y: pca.path[i]![1], residual: pca.residual[i] })),
      tensors: pca.tensors,
      ignore,
      degenerate: pca.degenerate,
      grid: { x: grid.x, y: grid.y },
      note: PROJECTION_NOTE,
    });
    const figure = await tryFigure(progress.warn, () => pcaFigure(runDir, Boolean(o.png)));
    return { pca, grid, surface: join(runDir, surfRel), directions: join(runDir, dirRel), centerLoss: center.loss, checkpoints: k, figure };
  } finally {
    for (const e of [engines.train, engines.test]) await e?.dispose();
  }
}
