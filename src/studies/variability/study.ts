/**
 * Direction variability: the same checkpoint seen through K random planes
 * (direction seeds s, s+2, s+4, …; each plane uses seed and seed + 1). Per grid
 * point: min / median / max of the loss over the K landscapes; per seed:
 * summary statistics — loss at a fixed radius along ±δ and ±η, the grid mean
 * and max, and curvature along each direction (exact δᵀHδ, ηᵀHη by HVP, and
 * the finite difference (L(rδ) − 2L + L(−rδ)) / r²). The statistics are in
 * spread.ts; this file computes the landscapes and writes the files.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { formatAxis, type Grid, gridSize } from '../../core/grid.js';
import { pointWeights } from '../../core/plane.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import type { Plane } from '../../directions/directions.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { LossEngine } from '../../engine/engine.js';
import type { Backend } from '../../engine/registry.js';
import { writeGridFile } from '../../jobs/grid-file.js';
import { frameFile } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { writeDerivedRun } from '../derived-run.js';
import { studyGrid } from '../grid.js';
import { checkpointOf, directionAttrs, type OpenedRun, openRun, runEngine, runPlane, studyFolder } from '../run-access.js';
import { dot } from '../stats.js';
import { type Column, type TableFiles, writeJson, writeTables } from '../tables.js';
import { type PlaneProbe, type SeedRow, type Spread, seedRow, spreadOf, withSummaryRows } from './spread.js';

export interface VariabilityOptions {
  checkpoint?: number;
  /** Number of planes K (seeds base, base+2, …), default 5; or explicit seeds. */
  count?: number;
  seeds?: number[];
  /** Radius (plane units) of the fixed-radius loss and the finite-difference curvature (default 0.5). */
  radius?: number;
  x?: string;
  y?: string;
  backend?: Backend;
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
}

export interface VariabilityResult {
  out: string;
  seeds: number[];
  rows: SeedRow[];
  spread: Spread;
  tables: TableFiles;
  grid: Grid;
}

type Checkpoint = ReturnType<typeof checkpointOf>;

export async function variabilityStudy(runDir: string, o: VariabilityOptions = {}): Promise<VariabilityResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = studyGrid(run, o, true);
  const seeds = directionSeeds(run.cfg.directions.seed, o);
  const r = o.radius ?? 0.5;
  const out = o.out ?? studyFolder(runDir, 'variability', ck.index);
  mkdirSync(out, { recursive: true });
  const planes = await seedPlanes(run, ck, seeds, grid, r, out, o, progress);
  const sp = spreadOf(planes.losses);
  await writeGridFile(join(out, 'spread.h5'), {
    grid,
    values: { loss_min: sp.min, loss_median: sp.median, loss_max: sp.max, loss_spread: sp.range, loss_relspread: sp.rel },
    done: planes.done,
    attrs: { checkpoint: ck.index, seeds: seeds.join(','), meaning: 'per grid point over the K landscapes: min, median, max, max - min, (max - min) / median' },
  });
  const axes = `${formatAxis(grid.x)} × ${formatAxis(grid.y!)}`;
  const tables = writeVariabilityTables(run, ck.index, seeds, r, axes, out, withSummaryRows(planes.rows), sp.summary);
  writeJson(join(out, 'variability.json'), { checkpoint: ck.index, seeds, radius: r, grid: axes, rows: planes.rows, spread: sp.summary });
  return { out, seeds, rows: planes.rows, spread: sp.summary, tables, grid };
}

/** Every seed's landscape (a one-frame run <out>/seed-<seed>) and row of statistics. */
async function seedPlanes(
  run: OpenedRun,
  ck: Checkpoint,
  seeds: number[],
  grid: Grid,
  r: number,
  out: string,
  o: VariabilityOptions,
  progress: ProgressSink,
): Promise<{ rows: SeedRow[]; losses: Float64Array[]; done: Uint8Array }> {
  const engine = await runEngine(run, run.data.evalSubset, { backend: o.backend }, progress.warn);
  const rows: SeedRow[] = [];
  const losses: Float64Array[] = [];
  let done: Uint8Array = new Uint8Array(0);
  try {
    const centre = (await engine.evaluate(ck.theta)).loss;
    for (const seed of seeds) {
      const plane = runPlane(run, ck.theta, seed);
      const folder = join(out, `seed-${seed}`);
      const gf = await seedLandscape(run, ck, engine, plane, seed, folder, grid, centre, o.fresh, progress);
      done = gf.done;
      losses.push(gf.loss);
      rows.push(seedRow(seed, await probePlane(engine, ck.theta, plane, centre, gf.loss, r), r));
      writeDerivedRun(folder, {
        source: run.manifest,
        sourceDir: run.dir,
        name: `direction seed ${seed}`,
        kind: 'variability',
        note: `checkpoint ${ck.index} seen through the plane of direction seeds ${seed} and ${seed + 1}`,
        frames: [
          {
            checkpoint: ck.index,
            surface: frameFile('surfaces', ck.index),
            directions: frameFile('directions', ck.index),
            center_loss: centre,
            cosine: plane.cosine,
          },
        ],
      });
    }
  } finally {
    await engine.dispose();
  }
  return { rows, losses, done };
}

/** The given seeds, or `count` seeds from the run's direction seed in steps of 2 (each plane uses seed and seed + 1). */
function directionSeeds(base: number, o: VariabilityOptions): number[] {
  const seeds = o.seeds ?? Array.from({ length: o.count ?? 5 }, (_, j) => base + 2 * j);
  if (seeds.length < 2) throw new LosscapeError('input', 'direction variability needs at least 2 seeds');
  if (new Set(seeds).size !== seeds.length) throw new LosscapeError('input', `direction seeds repeat: ${seeds.join(', ')}`);
  return seeds;
}

/** The landscape through one seed's plane, with its direction file, in the one-frame run folder <out>/seed-<seed>. */
async function seedLandscape(
  run: OpenedRun,
  ck: Checkpoint,
  engine: LossEngine,
  plane: Plane,
  seed: number,
  folder: string,
  grid: Grid,
  centre: number,
  fresh: boolean | undefined,
  progress: ProgressSink,
): Promise<{ loss: Float64Array; done: Uint8Array }> {
  const surf = frameFile('surfaces', ck.index);
  const dirRel = frameFile('directions', ck.index);
  mkdirSync(join(folder, 'surfaces'), { recursive: true });
  mkdirSync(join(folder, 'directions'), { recursive: true });
  await writeDirectionFile(join(folder, dirRel), run.model.layout, plane.dx, plane.dy, { ...directionAttrs(run, seed), cosine: plane.cosine });
  const task = progress.task(`seed ${seed}`, gridSize(grid), 'points');
  const gf = await computeSurface({
    theta: ck.theta,
    dx: plane.dx,
    dy: plane.dy,
    grid,
    engines: { train: engine },
    path: join(folder, surf),
    context: { kind: 'variability', run: run.manifest.configHash, checkpoint: ck.index, seed },
    chunkSize: run.cfg.surface.chunk,
    fresh,
    attrs: { checkpoint: ck.index, step: ck.step, epoch: ck.epoch, dir_file: dirRel, direction_seed: seed, center_loss: centre },
    onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
  });
  task.end();
  return { loss: gf.values.train_loss!, done: gf.done };
}

/** The exact curvature along both directions (HVPs) and the loss at ±r along each. */
async function probePlane(engine: LossEngine, theta: Float32Array, plane: Plane, centre: number, loss: Float64Array, r: number): Promise<PlaneProbe> {
  const zero = new Float32Array(theta.length);
  const at = async (d: Float32Array, a: number) => (await engine.evaluate(pointWeights(theta, d, zero, a, 0))).loss;
  const curvD = dot(plane.dx, await engine.hvp(theta, plane.dx));
  const curvE = dot(plane.dy, await engine.hvp(theta, plane.dy));
  const alongD: [number, number] = [await at(plane.dx, r), await at(plane.dx, -r)];
  const alongE: [number, number] = [await at(plane.dy, r), await at(plane.dy, -r)];
  return { centre, alongD, alongE, curvD, curvE, cosine: plane.cosine, loss };
}

function writeVariabilityTables(
  run: OpenedRun,
  checkpoint: number,
  seeds: number[],
  r: number,
  axes: string,
  out: string,
  rows: SeedRow[],
  spread: Spread,
): TableFiles {
  const cols: Column<SeedRow>[] = [
    { key: 'seed', value: (x) => x.seed },
    { key: 'centre_loss', title: 'L(θ)', value: (x) => x.centre },
    { key: 'loss_at_radius', title: `L at r = ${r}`, value: (x) => x.atRadius },
    { key: 'loss_plus_d', title: `L(+rδ)`, value: (x) => x.alongD[0] },
    { key: 'loss_minus_d', title: `L(−rδ)`, value: (x) => x.alongD[1] },
    { key: 'loss_plus_e', title: `L(+rη)`, value: (x) => x.alongE[0] },
    { key: 'loss_minus_e', title: `L(−rη)`, value: (x) => x.alongE[1] },
    { key: 'grid_mean', title: 'grid mean', value: (x) => x.gridMean },
    { key: 'grid_max', title: 'grid max', value: (x) => x.gridMax },
    { key: 'curv_d', title: 'δᵀHδ', value: (x) => x.curvD },
    { key: 'curv_e', title: 'ηᵀHη', value: (x) => x.curvE },
    { key: 'fd_curv_d', title: 'FD curv. δ', value: (x) => x.fdD },
    { key: 'fd_curv_e', title: 'FD curv. η', value: (x) => x.fdE },
    { key: 'cosine', title: 'cos(δ, η)', value: (x) => x.cosine },
  ];
  return writeTables(join(out, 'variability'), cols, rows, {
    title: `Direction variability of ${run.manifest.name}, checkpoint ${checkpoint}`,
    intro: [
      `${seeds.length} random planes (direction seeds ${seeds.join(', ')}; each plane uses seed and seed + 1, ${run.cfg.directions.norm}-normalized, ignore ${run.cfg.directions.ignore}) on the grid ${axes}, evaluation subset of ${run.manifest.data.subset.size} samples.`,
      `Per grid point over the ${seeds.length} landscapes: largest spread max − min = ${spread.max.toPrecision(4)} (mean ${spread.mean.toPrecision(4)}); relative to the median: max ${(100 * spread.maxRel).toPrecision(3)} %, mean ${(100 * spread.meanRel).toPrecision(3)} % (spread.h5: loss_min, loss_median, loss_max, loss_spread, loss_relspread).`,
    ],
    notes: [
      `δᵀHδ, ηᵀHη: exact curvature along each (normalized) direction by Hessian-vector products; FD curv.: (L(+r·d) − 2L(θ) + L(−r·d)) / r² at r = ${r}.`,
      `Landscapes: one-frame runs seed-*/ — \`losscape view ${seeds.map((s) => `${out}/seed-${s}`).join(' ')}\`.`,
    ],
  });
}
