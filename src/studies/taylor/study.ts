/**
 * The Taylor view of a run: the second-order model (model.ts) of the loss on
 * the landscape's plane, stored beside the real landscape L(θ + αδ + βη) with
 * the region where both agree within a tolerance (default 10 %): where the
 * quadratic picture of the minimum holds and where it breaks.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatAxis, type Grid, gridSize } from '../../core/grid.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { LossEngine } from '../../engine/engine.js';
import type { Backend } from '../../engine/registry.js';
import { type GridFile, writeGridFile } from '../../jobs/grid-file.js';
import { frameFile } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { writeDerivedRun } from '../derived-run.js';
import { studyGrid } from '../grid.js';
import { checkpointOf, directionAttrs, type OpenedRun, openRun, runEngine, runPlane, studyFolder } from '../run-access.js';
import { type Column, writeJson, writeTables } from '../tables.js';
import { summarizeTaylor, type TaylorChannels, type TaylorCoefficients, type TaylorSummary, taylorChannels, taylorCoefficients } from './model.js';

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
  backend?: Backend;
  /** Output folder (default <run>/studies/taylor-ckpt-XXXX). */
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
}

export interface TaylorStudyResult extends TaylorSurfaceResult {
  out: string;
  checkpoint: number;
  grid: Grid;
}

type Checkpoint = ReturnType<typeof checkpointOf>;

/**
 * Taylor view of one checkpoint of a run, with the run's directions. Writes
 * `<out>/taylor.h5` (all channels), `<out>/summary.{json,md,csv}` and two
 * one-frame runs `<out>/real` and `<out>/quadratic` to compare in the viewer.
 */
export async function taylorStudy(runDir: string, o: TaylorStudyOptions = {}): Promise<TaylorStudyResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = studyGrid(run, o, true);
  const out = o.out ?? studyFolder(runDir, 'taylor', ck.index);
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
    await writeViewerRuns(run, ck, grid, out, r);
    writeTaylorSummary(run, ck.index, grid, out, r, o.tol ?? 0.1, engine.description);
    return { ...r, out, checkpoint: ck.index, grid };
  } finally {
    await engine.dispose();
  }
}

/** Two one-frame runs for the compare viewer: the real landscape (<out>/real) and the quadratic model (<out>/quadratic). */
async function writeViewerRuns(run: OpenedRun, ck: Checkpoint, grid: Grid, out: string, r: TaylorSurfaceResult): Promise<void> {
  const surf = frameFile('surfaces', ck.index);
  for (const [name, values] of [
    ['real', { train_loss: r.loss, train_acc: r.file.values.train_acc! }],
    ['quadratic', { train_loss: r.channels.taylor_loss }],
  ] as const) {
    mkdirSync(join(out, name, 'surfaces'), { recursive: true });
    await writeGridFile(join(out, name, surf), { grid, values: { ...values }, done: r.file.done, attrs: { ...r.file.attrs, shows: name } });
    writeDerivedRun(join(out, name), {
      source: run.manifest,
      sourceDir: run.dir,
      name: name === 'real' ? 'real landscape' : 'second-order Taylor model',
      kind: 'taylor',
      note:
        name === 'real' ? `L(θ + αδ + βη) at checkpoint ${ck.index}` : `the quadratic model at checkpoint ${ck.index} (gradient and two HVPs at the centre)`,
      frames: [{ checkpoint: ck.index, surface: surf }],
    });
  }
}

/** summary.json and summary.{csv,md}: the coefficients and the agreement. */
function writeTaylorSummary(run: OpenedRun, checkpoint: number, grid: Grid, out: string, r: TaylorSurfaceResult, tol: number, engine: string): void {
  const s = r.summary;
  const row = { ...r.coefficients, ...s, tol, checkpoint, grid: `${formatAxis(grid.x)} x ${formatAxis(grid.y!)}` };
  writeJson(join(out, 'summary.json'), { ...row, engine });
  const cols: Column<typeof row>[] = [
    { key: 'checkpoint', value: (x) => x.checkpoint },
    { key: 'loss', title: 'L', value: (x) => x.loss },
    { key: 'gd', title: 'gᵀδ', value: (x) => x.gd },
    { key: 'ge', title: 'gᵀη', value: (x) => x.ge },
    { key: 'dHd', title: 'δᵀHδ', value: (x) => x.dHd },
    { key: 'dHe', title: 'δᵀHη', value: (x) => x.dHe },
    { key: 'eHe', title: 'ηᵀHη', value: (x) => x.eHe },
    { key: 'agree_fraction', title: `agree (≤ ${100 * tol} %)`, value: (x) => x.agreeFraction, fmt: (v) => `${(100 * v).toFixed(1)} %` },
    { key: 'agree_radius', title: 'quadratic radius', value: (x) => x.agreeRadius },
    { key: 'max_relerr', title: 'max rel. err', value: (x) => x.maxRelErr },
    { key: 'mean_relerr', title: 'mean rel. err', value: (x) => x.meanRelErr },
  ];
  writeTables(join(out, 'summary'), cols, [row], {
    title: `Taylor view of ${run.manifest.name}, checkpoint ${checkpoint}`,
    intro: [
      `Second-order model Q(α, β) = L + α·gᵀδ + β·gᵀη + ½(α²·δᵀHδ + 2αβ·δᵀHη + β²·ηᵀHη) on the grid ${row.grid} (the run's directions, ${run.cfg.directions.norm}-normalized), engine ${engine}.`,
    ],
    notes: [
      `agree: fraction of grid points where |Q − L| ≤ ${tol}·|L|; quadratic radius: the largest distance √(α²+β²) up to which every grid point agrees (${Number.isFinite(s.firstBreak) ? `first break at ${s.firstBreak.toPrecision(3)}` : 'no grid point breaks'}).`,
      'Files: taylor.h5 (train_loss, taylor_loss, taylor_relerr, taylor_agree), real/ and quadratic/ (one-frame runs: `losscape view real quadratic`).',
    ],
  });
}
