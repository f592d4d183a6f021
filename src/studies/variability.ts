/**
 * Direction variability: the same checkpoint seen through K random planes
 * (direction seeds s, s+2, s+4, …; each plane uses seed and seed + 1). Per grid
 * point: min / median / max of the loss over the K landscapes; per seed:
 * summary statistics — loss at a fixed radius along ±δ and ±η, the grid mean
 * and max, and curvature along each direction (exact δᵀHδ, ηᵀHη by HVP, and
 * the finite difference (L(rδ) − 2L + L(−rδ)) / r²).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { formatAxis, type Grid, gridSize } from '../core/grid.js';
import { pointWeights } from '../core/plane.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { writeGridFile } from '../jobs/grid-file.js';
import { surfaceGrid } from '../run/pipeline.js';
import { frameFile } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { type Column, maxOf, mean, median, minOf, std, writeDerivedRun, writeJson, writeTables } from './common.js';
import { type FigureFiles, tryFigure, variabilityFigure } from './figures.js';
import { checkpointOf, directionAttrs, openRun, runEngine, runPlane } from './run-access.js';

export interface VariabilityOptions {
  checkpoint?: number;
  /** Number of planes K (seeds base, base+2, …), default 5; or explicit seeds. */
  count?: number;
  seeds?: number[];
  /** Radius (plane units) of the fixed-radius loss and the finite-difference curvature (default 0.5). */
  radius?: number;
  x?: string;
  y?: string;
  backend?: 'auto' | 'jax' | 'onnx';
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Also render figure.png (headless Chromium); figure.svg is always written. */
  png?: boolean;
}

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

export interface VariabilityResult {
  out: string;
  seeds: number[];
  rows: SeedRow[];
  /** Over the grid: max and mean of (max − min), and of (max − min) / median. */
  spread: { max: number; mean: number; maxRel: number; meanRel: number };
  tables: { csv: string; md: string };
  grid: Grid;
  figure?: FigureFiles;
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

export async function variabilityStudy(runDir: string, o: VariabilityOptions = {}): Promise<VariabilityResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = surfaceGrid({ x: o.x ?? run.cfg.surface.x, y: o.y ?? run.cfg.surface.y ?? '-1:1:41' });
  const base = run.cfg.directions.seed;
  const seeds = o.seeds ?? Array.from({ length: o.count ?? 5 }, (_, j) => base + 2 * j);
  if (seeds.length < 2) throw new LosscapeError('input', 'direction variability needs at least 2 seeds');
  if (new Set(seeds).size !== seeds.length) throw new LosscapeError('input', `direction seeds repeat: ${seeds.join(', ')}`);
  const r = o.radius ?? 0.5;
  const out = o.out ?? join(runDir, 'studies', `variability-ckpt-${String(ck.index).padStart(4, '0')}`);
  mkdirSync(out, { recursive: true });
  const engine = await runEngine(run, run.data.evalSubset, { backend: o.backend }, progress.warn);
  const rows: SeedRow[] = [];
  const losses: Float64Array[] = [];
  const surf = frameFile('surfaces', ck.index);
  const dirRel = frameFile('directions', ck.index);
  let doneMask: Uint8Array | null = null;
  try {
    const centre = (await engine.evaluate(ck.theta)).loss;
    const zero = new Float32Array(ck.theta.length);
    const at = async (d: Float32Array, a: number) => (await engine.evaluate(pointWeights(ck.theta, d, zero, a, 0))).loss;
    for (const seed of seeds) {
      const plane = runPlane(run, ck.theta, seed);
      const folder = join(out, `seed-${seed}`);
      mkdirSync(join(folder, 'surfaces'), { recursive: true });
      mkdirSync(join(folder, 'directions'), { recursive: true });
      await writeDirectionFile(join(folder, dirRel), run.model.layout, plane.dx, plane.dy, { ...directionAttrs(run, seed), cosine: plane.cosine });
      const task = progress.task(`seed ${seed}`, gridSize(grid), 'points');
      const gf = await computeSurface({
        theta: ck.theta,
        dx: plane.dx,
        dy: plane.dy,
        grid,
        engines: { train: engine as LossEngine },
        path: join(folder, surf),
        context: { kind: 'variability', run: run.manifest.configHash, checkpoint: ck.index, seed },
        chunkSize: run.cfg.surface.chunk,
        fresh: o.fresh,
        attrs: { checkpoint: ck.index, step: ck.step, epoch: ck.epoch, dir_file: dirRel, direction_seed: seed, center_loss: centre },
        onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
      });
      task.end();
      doneMask = gf.done;
      const loss = gf.values.train_loss!;
      losses.push(loss);
      const dHd = dot(plane.dx, await engine.hvp(ck.theta, plane.dx));
      const eHe = dot(plane.dy, await engine.hvp(ck.theta, plane.dy));
      const alongD: [number, number] = [await at(plane.dx, r), await at(plane.dx, -r)];
      const alongE: [number, number] = [await at(plane.dy, r), await at(plane.dy, -r)];
      rows.push({
        seed: String(seed),
        centre,
        atRadius: (alongD[0] + alongD[1] + alongE[0] + alongE[1]) / 4,
        alongD,
        alongE,
        gridMean: mean(loss),
        gridMax: maxOf(loss),
        curvD: dHd,
        curvE: eHe,
        fdD: (alongD[0] - 2 * centre + alongD[1]) / (r * r),
        fdE: (alongE[0] - 2 * centre + alongE[1]) / (r * r),
        cosine: plane.cosine,
      });
      writeDerivedRun(folder, {
        source: run.manifest,
        sourceDir: runDir,
        name: `direction seed ${seed}`,
        kind: 'variability',
        note: `checkpoint ${ck.index} seen through the plane of direction seeds ${seed} and ${seed + 1}`,
        frames: [{ checkpoint: ck.index, surface: surf, directions: dirRel, center_loss: centre, cosine: plane.cosine }],
      });
    }
  } finally {
    await engine.dispose();
  }
  const sp = pointwiseSpread(losses);
  const range = Float64Array.from(sp.max, (v, i) => v - sp.min[i]!);
  const rel = Float64Array.from(range, (v, i) => v / Math.abs(sp.median[i]!));
  await writeGridFile(join(out, 'spread.h5'), {
    grid,
    values: { loss_min: sp.min, loss_median: sp.median, loss_max: sp.max, loss_spread: range, loss_relspread: rel },
    done: doneMask!,
    attrs: { checkpoint: ck.index, seeds: seeds.join(','), meaning: 'per grid point over the K landscapes: min, median, max, max - min, (max - min) / median' },
  });
  const spread = { max: maxOf(range), mean: mean(range), maxRel: maxOf(rel), meanRel: mean(rel) };
  // summary rows over seeds
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
  const all = [...rows, summary('mean', mean), summary('std', std), summary('min', minOf), summary('max', maxOf)];
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
  const axes = `${formatAxis(grid.x)} × ${formatAxis(grid.y!)}`;
  const tables = writeTables(join(out, 'variability'), cols, all, {
    title: `Direction variability of ${run.manifest.name}, checkpoint ${ck.index}`,
    intro: [
      `${seeds.length} random planes (direction seeds ${seeds.join(', ')}; each plane uses seed and seed + 1, ${run.cfg.directions.norm}-normalized, ignore ${run.cfg.directions.ignore}) on the grid ${axes}, evaluation subset of ${run.manifest.data.subset.size} samples.`,
      `Per grid point over the ${seeds.length} landscapes: largest spread max − min = ${spread.max.toPrecision(4)} (mean ${spread.mean.toPrecision(4)}); relative to the median: max ${(100 * spread.maxRel).toPrecision(3)} %, mean ${(100 * spread.meanRel).toPrecision(3)} % (spread.h5: loss_min, loss_median, loss_max, loss_spread, loss_relspread).`,
    ],
    notes: [
      `δᵀHδ, ηᵀHη: exact curvature along each (normalized) direction by Hessian-vector products; FD curv.: (L(+r·d) − 2L(θ) + L(−r·d)) / r² at r = ${r}.`,
      `Landscapes: one-frame runs seed-*/ — \`losscape view ${seeds.map((s) => `${out}/seed-${s}`).join(' ')}\`.`,
    ],
  });
  writeJson(join(out, 'variability.json'), { checkpoint: ck.index, seeds, radius: r, grid: axes, rows, spread });
  const figure = await tryFigure(progress.warn, () => variabilityFigure(out, seeds, Boolean(o.png)));
  return { out, seeds, rows, spread, tables, grid, figure };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
