/**
 * The PCA study of a run: the PCA plane of its trajectory (trajectory.ts), the
 * loss over a grid covering the projected path, and the files the viewer
 * draws (`pca/surface.h5`, `pca/directions.h5`, `pca/summary.json`, the
 * manifest's `pca` entry), and `pca/projection.h5` for the reference code's
 * `plot_contour_trajectory`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { type Grid, gridSize, parseAxis } from '../../core/grid.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { LossEngine } from '../../engine/engine.js';
import type { Backend } from '../../engine/registry.js';
import { type H5Tree, writeH5 } from '../../io/h5.js';
import type { Manifest } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { type OpenedRun, openRun, orderedCheckpoints, runEngine } from '../run-access.js';
import { writeJson } from '../tables.js';
import { type PcaOptions, pathGrid, type TrajectoryPca, trajectoryPca } from './trajectory.js';

export const PROJECTION_NOTE =
  'The path is the projection of the training trajectory onto the PCA plane (dot products with the two unit directions). ' +
  'The checkpoints themselves lie off this plane (see residual), so the loss along the real trajectory may differ from the contours under the drawn path.';

const DIRECTIONS = 'pca/directions.h5';
const SURFACE = 'pca/surface.h5';
/** The reference code's projection file (`project_trajectory`), read by its `plot_contour_trajectory`. */
const PROJECTION = 'pca/projection.h5';

export interface PcaStudyOptions extends PcaOptions {
  /** Points per axis of the automatic grid (default 31). */
  n?: number;
  /** Margin around the path, as a fraction of its extent (default 0.25). */
  margin?: number;
  /** Explicit axes ("min:max:n") instead of the automatic grid. */
  x?: string;
  y?: string;
  backend?: Backend;
  /** Accepted for symmetry with the other studies: a PCA surface with other settings is always replaced. */
  fresh?: boolean;
  progress?: ProgressSink;
}

export interface PcaStudyResult {
  /** The run folder (the files are inside it). */
  run: string;
  pca: TrajectoryPca;
  grid: Grid;
  surface: string;
  directions: string;
  projection: string;
  centerLoss: number;
  checkpoints: number;
}

type Checkpoints = ReturnType<typeof orderedCheckpoints>;

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
  const grid = pcaGrid(pca, o);
  mkdirSync(join(runDir, 'pca'), { recursive: true });
  const ignore = o.ignore ?? 'biasbn';
  await writeDirectionFile(
    join(runDir, DIRECTIONS),
    run.model.layout,
    pca.d1,
    pca.d2,
    {
      method: 'pca-trajectory',
      ignore,
      center: (o.center ?? true) ? 1 : 0,
      explained_pc1: pca.explained[0],
      explained_pc2: pca.explained[1],
      norm: 'unit (not filter-normalized)',
      note: PROJECTION_NOTE,
    },
    sklearnDatasets(pca, cks.length),
  );
  await writeH5(join(runDir, PROJECTION), projectionTree(pca, cks), { dir_file: DIRECTIONS, note: PROJECTION_NOTE });
  const centerLoss = await pcaSurface(run, cks, pca, grid, ignore, o.backend, progress);
  recordPca(run, cks, pca, grid, ignore);
  return {
    run: runDir,
    pca,
    grid,
    surface: join(runDir, SURFACE),
    directions: join(runDir, DIRECTIONS),
    projection: join(runDir, PROJECTION),
    centerLoss,
    checkpoints: cks.length,
  };
}

/**
 * sklearn's PCA attributes of the two components, which the reference code stores in its
 * direction file: `explained_variance_ratio_`, `explained_variance_` (λ / (k − 1)) and
 * `singular_values_` (√λ), λ the eigenvalues of the centred Gram matrix.
 */
function sklearnDatasets(pca: TrajectoryPca, k: number): H5Tree {
  const lam = [pca.eigenvalues[0] ?? 0, pca.degenerate ? 0 : (pca.eigenvalues[1] ?? 0)];
  return {
    explained_variance_ratio_: { data: Float64Array.from(pca.explained) },
    explained_variance_: { data: Float64Array.from(lam, (l) => l / Math.max(1, k - 1)) },
    singular_values_: { data: Float64Array.from(lam, Math.sqrt) },
  };
}

/** `proj_xcoord`, `proj_ycoord`: the projected path, one value per checkpoint (first to final), plus the checkpoint indices. */
function projectionTree(pca: TrajectoryPca, cks: Checkpoints): H5Tree {
  return {
    proj_xcoord: { data: Float64Array.from(pca.path, (p) => p[0]) },
    proj_ycoord: { data: Float64Array.from(pca.path, (p) => p[1]) },
    checkpoints: { data: Int32Array.from(cks.map((c) => c.index)) },
  };
}

/** Explicit axes (both), or a grid around the path. */
function pcaGrid(pca: TrajectoryPca, o: PcaStudyOptions): Grid {
  if (!o.x && !o.y) return pathGrid(pca.path, o.n ?? 31, o.margin ?? 0.25);
  if (!o.x || !o.y) throw new LosscapeError('input', 'give both x and y axes, or neither (automatic grid around the path)');
  return { x: parseAxis(o.x, 'x'), y: parseAxis(o.y, 'y') };
}

/** The loss over the PCA plane around θ_final (pca/surface.h5, with the path as extra datasets); returns L(θ_final). */
async function pcaSurface(
  run: OpenedRun,
  cks: Checkpoints,
  pca: TrajectoryPca,
  grid: Grid,
  ignore: string,
  backend: PcaStudyOptions['backend'],
  progress: ProgressSink,
): Promise<number> {
  const final = cks[cks.length - 1]!;
  const engines: { train: LossEngine; test?: LossEngine } = {
    train: await runEngine(run, run.data.evalSubset, { backend }, progress.warn),
  };
  if (run.data.testSubset) engines.test = await runEngine(run, run.data.testSubset, { backend }, progress.warn);
  try {
    const center = await engines.train.evaluate(final.theta);
    const task = progress.task('PCA plane', gridSize(grid), 'points');
    await computeSurface({
      theta: final.theta,
      dx: pca.d1,
      dy: pca.d2,
      grid,
      engines,
      path: join(run.dir, SURFACE),
      context: { kind: 'pca', run: run.manifest.configHash, checkpoints: cks.map((c) => c.index), ignore },
      chunkSize: run.cfg.surface.chunk,
      // one PCA plane per run: a plane computed with other settings is replaced (the same settings resume)
      fresh: true,
      attrs: {
        plane: 'pca-trajectory',
        checkpoint: final.index,
        step: final.step,
        epoch: final.epoch,
        dir_file: DIRECTIONS,
        center_loss: center.loss,
        center_acc: center.acc,
        explained_pc1: pca.explained[0],
        explained_pc2: pca.explained[1],
        ignore,
        note: PROJECTION_NOTE,
      },
      extra: {
        'pca/path': { data: Float64Array.from(pca.path.flat()), shape: [cks.length, 2] },
        'pca/residual': { data: Float64Array.from(pca.residual) },
        'pca/checkpoints': { data: Int32Array.from(cks.map((c) => c.index)) },
        'pca/eigenvalues': { data: Float64Array.from(pca.eigenvalues) },
      },
      onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
    });
    task.end();
    return center.loss;
  } finally {
    for (const e of [engines.train, engines.test]) await e?.dispose();
  }
}

/** The manifest's `pca` entry the viewer draws (the manifest re-read: the run may have been touched meanwhile) and pca/summary.json. */
function recordPca(run: OpenedRun, cks: Checkpoints, pca: TrajectoryPca, grid: Grid, ignore: string): void {
  const m = run.store.readManifest();
  const entry = { surface: SURFACE, path: pca.path, explained: pca.explained, directions: DIRECTIONS, projection: PROJECTION, note: PROJECTION_NOTE };
  (m as Manifest & { pca: unknown }).pca = entry;
  run.store.writeManifest(m);
  writeJson(join(run.dir, 'pca', 'summary.json'), {
    explained: pca.explained,
    eigenvalues: pca.eigenvalues,
    checkpoints: cks.map((c, i) => ({ index: c.index, step: c.step, x: pca.path[i]![0], y: pca.path[i]![1], residual: pca.residual[i] })),
    tensors: pca.tensors,
    ignore,
    degenerate: pca.degenerate,
    grid: { x: grid.x, y: grid.y },
    note: PROJECTION_NOTE,
  });
}
