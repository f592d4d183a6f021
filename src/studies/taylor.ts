/**
 * The Taylor view: the second-order model of the loss on the landscape's plane,
 *
 *   Q(α, β) = L + α·gᵀδ + β·gᵀη + ½(α²·δᵀHδ + 2αβ·δᵀHη + β²·ηᵀHη),
 *
 * from one gradient and two Hessian-vector products at the centre (exact, by
 * autodiff), stored beside the real landscape L(θ + αδ + βη) with the region
 * where both agree within a tolerance (default 10 %): where the quadratic
 * picture of the minimum holds and where it breaks.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatAxis, type Grid, gridPoints, gridSize } from '../core/grid.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { type GridFile, readGridFile, writeGridFile } from '../jobs/grid-file.js';
import { surfaceGrid } from '../run/pipeline.js';
import { frameFile } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { type Column, pad4, writeDerivedRun, writeJson, writeTables } from './common.js';
import { type FigureFiles, taylorFigure, tryFigure } from './figures.js';
import { checkpointOf, directionAttrs, openRun, runEngine, runPlane } from './run-access.js';

export interface TaylorCoefficients {
  /** L(θ). */
  loss: number;
  /** gᵀδ, gᵀη. */
  gd: number;
  ge: number;
  /** δᵀHδ, δᵀHη (symmetrized: ½(δᵀHη + ηᵀHδ)), ηᵀHη. */
  dHd: number;
  dHe: number;
  eHe: number;
  /** |δᵀHη − ηᵀHδ| / max(|δᵀHη|, tiny): symmetry check of the two HVPs. */
  asymmetry: number;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** One gradient and two HVPs at θ. */
export async function taylorCoefficients(engine: LossEngine, theta: Float32Array, d: Float32Array, e: Float32Array): Promise<TaylorCoefficients> {
  const { loss, grad } = await engine.gradient(theta);
  const Hd = await engine.hvp(theta, d);
  const He = await engine.hvp(theta, e);
  const dHe = dot(d, He);
  const eHd = dot(e, Hd);
  return {
    loss,
    gd: dot(grad, d),
    ge: dot(grad, e),
    dHd: dot(d, Hd),
    dHe: 0.5 * (dHe + eHd),
    eHe: dot(e, He),
    asymmetry: Math.abs(dHe - eHd) / Math.max(Math.abs(dHe), Math.abs(eHd), 1e-300),
  };
}

export function quadraticModel(c: TaylorCoefficients, a: number, b: number): number {
  return c.loss + a * c.gd + b * c.ge + 0.5 * (a * a * c.dHd + 2 * a * b * c.dHe + b * b * c.eHe);
}

export interface TaylorChannels {
  taylor_loss: Float64Array;
  /** |Q − L| / |L|. */
  taylor_relerr: Float64Array;
  /** 1 where |Q − L| ≤ tol·|L|. */
  taylor_agree: Float64Array;
}

export function taylorChannels(grid: Grid, loss: Float64Array, c: TaylorCoefficients, tol: number): TaylorChannels {
  const pts = gridPoints(grid);
  const n = gridSize(grid);
  const q = new Float64Array(n);
  const rel = new Float64Array(n);
  const agree = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    q[i] = quadraticModel(c, pts[2 * i]!, pts[2 * i + 1]!);
    const err = Math.abs(q[i]! - loss[i]!);
    rel[i] = err / Math.abs(loss[i]!);
    agree[i] = err <= tol * Math.abs(loss[i]!) ? 1 : 0;
  }
  return { taylor_loss: q, taylor_relerr: rel, taylor_agree: agree };
}

export interface TaylorSummary {
  /** Fraction of grid points where the quadratic model agrees within tol. */
  agreeFraction: number;
  /**
   * Largest r such that every grid point with √(α² + β²) ≤ r agrees (in plane
   * units; 0 if the centre itself disagrees): the radius of the quadratic region.
   */
  agreeRadius: number;
  /** Distance of the nearest disagreeing point (Infinity if none). */
  firstBreak: number;
  maxRelErr: number;
  meanRelErr: number;
}

export function summarizeTaylor(grid: Grid, ch: TaylorChannels): TaylorSummary {
  const pts = gridPoints(grid);
  const n = gridSize(grid);
  let agreeN = 0;
  let firstBreak = Infinity;
  let maxRel = 0;
  let sumRel = 0;
  let finite = 0;
  let maxR = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(pts[2 * i]!, pts[2 * i + 1]!);
    maxR = Math.max(maxR, r);
    if (ch.taylor_agree[i]) agreeN++;
    else firstBreak = Math.min(firstBreak, r);
    const e = ch.taylor_relerr[i]!;
    if (Number.isFinite(e)) {
      maxRel = Math.max(maxRel, e);
      sumRel += e;
      finite++;
    }
  }
  // the largest radius r below the first break that still has agreeing points
  let agreeRadius = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(pts[2 * i]!, pts[2 * i + 1]!);
    if (ch.taylor_agree[i] && r < firstBreak) agreeRadius = Math.max(agreeRadius, r);
  }
  return { agreeFraction: agreeN / n, agreeRadius, firstBreak, maxRelErr: maxRel, meanRelErr: finite ? sumRel / finite : Number.NaN };
}

export interface TaylorSurfaceRequest {
  engine: LossEngine;
  test?: LossEngine;
  theta: Float32Array;
  dx: Float32Array;
  dy: Float32Array;
  grid: Grid;
  path: string;
  tol?: number;
  context?: unknown;
  chunkSize?: number;
  fresh?: boolean;
  attrs?: Record<string, string | number>;
  onProgress?(done: number, total: number): void;
}

export interface TaylorSurfaceResult {
  coefficients: TaylorCoefficients;
  loss: Float64Array;
  channels: TaylorChannels;
  summary: TaylorSummary;
  file: GridFile;
}

/**
 * The real landscape (resumable, as `computeSurface`) and the quadratic model
 * on the same grid, written to one grid file with the extra channels
 * `taylor_loss`, `taylor_relerr`, `taylor_agree` and the coefficients as attributes.
 */
export async function taylorSurface(req: TaylorSurfaceRequest): Promise<TaylorSurfaceResult> {
  const tol = req.tol ?? 0.1;
  mkdirSync(dirname(req.path), { recursive: true });
  const coefficients = await taylorCoefficients(req.engine, req.theta, req.dx, req.dy);
  const gf = await computeSurface({
    theta: req.theta,
    dx: req.dx,
    dy: req.dy,
    grid: req.grid,
    engines: { train: req.engine, test: req.test },
    path: req.path,
    context: { kind: 'taylor', ...(req.context as object) },
    chunkSize: req.chunkSize,
    fresh: req.fresh,
    attrs: req.attrs,
    onProgress: (p) => req.onProgress?.(p.done, p.total),
  });
  const loss = gf.values.train_loss!;
  const channels = taylorChannels(req.grid, loss, coefficients, tol);
  const summary = summarizeTaylor(req.grid, channels);
  const out: GridFile = {
    ...gf,
    values: { ...gf.values, ...channels },
    attrs: {
      ...gf.attrs,
      taylor_tol: tol,
      taylor_model: 'L + a*g.d + b*g.e + (a^2 d.Hd + 2ab d.He + b^2 e.He)/2 at the centre (one gradient, two HVPs)',
      taylor_L: coefficients.loss,
      taylor_gd: coefficients.gd,
      taylor_ge: coefficients.ge,
      taylor_dHd: coefficients.dHd,
      taylor_dHe: coefficients.dHe,
      taylor_eHe: coefficients.eHe,
      taylor_agree_fraction: summary.agreeFraction,
      taylor_agree_radius: summary.agreeRadius,
      taylor_agree_meaning: `1 where |Q - L| <= ${tol} |L|`,
    },
  };
  await writeGridFile(req.path, out);
  return { coefficients, loss, channels, summary, file: out };
}

export interface TaylorStudyOptions {
  checkpoint?: number;
  /** Axes "min:max:n" (default: the run's surface grid). */
  x?: string;
  y?: string;
  tol?: number;
  dtype?: 'float32' | 'float64';
  backend?: 'auto' | 'jax' | 'onnx';
  /** Output folder (default <run>/studies/taylor-ckpt-XXXX). */
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Also render figure.png (headless Chromium); figure.svg is always written. */
  png?: boolean;
}

export interface TaylorStudyResult extends TaylorSurfaceResult {
  out: string;
  figure?: FigureFiles;
  checkpoint: number;
  grid: Grid;
}

/**
 * Taylor view of one checkpoint of a run, with the run's directions. Writes
 * `<out>/taylor.h5` (all channels), `<out>/summary.{json,md,csv}` and two
 * one-frame runs `<out>/real` and `<out>/quadratic` to compare in the viewer.
 */
export async function taylorStudy(runDir: string, o: TaylorStudyOptions = {}): Promise<TaylorStudyResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = surfaceGrid({ x: o.x ?? run.cfg.surface.x, y: o.y ?? run.cfg.surface.y ?? '-1:1:41' });
  const out = o.out ?? join(runDir, 'studies', `taylor-ckpt-${pad4(ck.index)}`);
  const plane = runPlane(run, ck.theta);
  const engine = await runEngine(run, run.data.evalSubset, { dtype: o.dtype, backend: o.backend }, progress.warn);
  try {
    const task = progress.task('Taylor view', gridSize(grid), 'points');
    const r = await taylorSurface({
      engine,
      theta: ck.theta,
      dx: plane.dx,
      dy: plane.dy,
      grid,
      path: join(out, 'taylor.h5'),
      tol: o.tol,
      context: { run: run.manifest.configHash, checkpoint: ck.index },
      chunkSize: run.cfg.surface.chunk,
      fresh: o.fresh,
      attrs: { checkpoint: ck.index, step: ck.step, epoch: ck.epoch, engine: engine.description },
      onProgress: (d) => task.update(d),
    });
    task.end();
    await writeDirectionFile(join(out, 'directions.h5'), run.model.layout, plane.dx, plane.dy, { ...directionAttrs(run), cosine: plane.cosine });
    // two one-frame runs for the compare viewer: the real landscape and the quadratic model
    const surf = frameFile('surfaces', ck.index);
    for (const [name, values] of [
      ['real', { train_loss: r.loss, train_acc: r.file.values.train_acc! }],
      ['quadratic', { train_loss: r.channels.taylor_loss }],
    ] as const) {
      mkdirSync(join(out, name, 'surfaces'), { recursive: true });
      await writeGridFile(join(out, name, surf), { grid, values: { ...values }, done: r.file.done, attrs: { ...r.file.attrs, shows: name } });
      writeDerivedRun(join(out, name), {
        source: run.manifest,
        sourceDir: runDir,
        name: name === 'real' ? 'real landscape' : 'second-order Taylor model',
        kind: 'taylor',
        note:
          name === 'real' ? `L(θ + αδ + βη) at checkpoint ${ck.index}` : `the quadratic model at checkpoint ${ck.index} (gradient and two HVPs at the centre)`,
        frames: [{ checkpoint: ck.index, surface: surf }],
      });
    }
    const c = r.coefficients;
    const s = r.summary;
    const row = { ...c, ...s, tol: o.tol ?? 0.1, checkpoint: ck.index, grid: `${formatAxis(grid.x)} x ${formatAxis(grid.y!)}` };
    writeJson(join(out, 'summary.json'), { ...row, engine: engine.description });
    const cols: Column<typeof row>[] = [
      { key: 'checkpoint', value: (x) => x.checkpoint },
      { key: 'loss', title: 'L', value: (x) => x.loss },
      { key: 'gd', title: 'gᵀδ', value: (x) => x.gd },
      { key: 'ge', title: 'gᵀη', value: (x) => x.ge },
      { key: 'dHd', title: 'δᵀHδ', value: (x) => x.dHd },
      { key: 'dHe', title: 'δᵀHη', value: (x) => x.dHe },
      { key: 'eHe', title: 'ηᵀHη', value: (x) => x.eHe },
      { key: 'agree_fraction', title: `agree (≤ ${100 * (o.tol ?? 0.1)} %)`, value: (x) => x.agreeFraction, fmt: (v) => `${(100 * v).toFixed(1)} %` },
      { key: 'agree_radius', title: 'quadratic radius', value: (x) => x.agreeRadius },
      { key: 'max_relerr', title: 'max rel. err', value: (x) => x.maxRelErr },
      { key: 'mean_relerr', title: 'mean rel. err', value: (x) => x.meanRelErr },
    ];
    writeTables(join(out, 'summary'), cols, [row], {
      title: `Taylor view of ${run.manifest.name}, checkpoint ${ck.index}`,
      intro: [
        `Second-order model Q(α, β) = L + α·gᵀδ + β·gᵀη + ½(α²·δᵀHδ + 2αβ·δᵀHη + β²·ηᵀHη) on the grid ${row.grid} (the run's directions, ${run.cfg.directions.norm}-normalized), engine ${engine.description}.`,
      ],
      notes: [
        `agree: fraction of grid points where |Q − L| ≤ ${o.tol ?? 0.1}·|L|; quadratic radius: the largest distance √(α²+β²) up to which every grid point agrees (${Number.isFinite(s.firstBreak) ? `first break at ${s.firstBreak.toPrecision(3)}` : 'no grid point breaks'}).`,
        'Files: taylor.h5 (train_loss, taylor_loss, taylor_relerr, taylor_agree), real/ and quadratic/ (one-frame runs: `losscape view real quadratic`).',
      ],
    });
    const figure = await tryFigure(progress.warn, () => taylorFigure(out, Boolean(o.png)));
    return { ...r, out, checkpoint: ck.index, grid, figure };
  } finally {
    await engine.dispose();
  }
}

/** Read back a Taylor file's channels (for figures). */
export async function readTaylorFile(path: string): Promise<GridFile> {
  return readGridFile(path);
}
