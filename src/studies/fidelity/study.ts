/**
 * Subset fidelity: how well the landscape on a fixed random subset of the
 * training split (a common choice: 5 %) matches the landscape on the
 * whole split, at the same points (same θ, same directions, same grid).
 * Per subset size (and subset seed): max and mean relative error of the loss,
 * |L_S − L_full| / |L_full|, and the largest accuracy difference.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatAxis, type Grid, gridSize } from '../../core/grid.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import { type Dataset, take } from '../../data/dataset.js';
import { resolveSize, subsetIndices } from '../../data/subset.js';
import type { Plane } from '../../directions/directions.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { Backend } from '../../engine/registry.js';
import { frameFile } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { writeDerivedRun } from '../derived-run.js';
import { centreIndex, studyGrid } from '../grid.js';
import { type SizeSpec, sizeLabel } from '../parse.js';
import { checkpointOf, directionAttrs, type OpenedRun, openRun, runEngine, runPlane, studyFolder } from '../run-access.js';
import { type Column, pct, type TableFiles, writeJson, writeTables } from '../tables.js';

export const DEFAULT_FIDELITY_SIZES: SizeSpec[] = [0.01, 0.02, 0.05, 0.1, 0.2];

export interface FidelityRow {
  size: string;
  /** Samples in the subset. */
  samples: number;
  fraction: number;
  seed: number;
  maxRelErr: number;
  meanRelErr: number;
  /** Relative error at the centre (the checkpoint itself). */
  centerRelErr: number;
  /** Largest |acc_S − acc_full| in percentage points (classification). */
  maxAccDiff: number;
  meanAccDiff: number;
}

export interface FidelityOptions {
  checkpoint?: number;
  sizes?: SizeSpec[];
  /** Subset seeds (default: the run's subset seed). Several seeds show the spread over subsets. */
  seeds?: number[];
  x?: string;
  y?: string;
  backend?: Backend;
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
}

export interface FidelityResult {
  out: string;
  rows: FidelityRow[];
  checkpoint: number;
  grid: Grid;
  trainSamples: number;
  tables: TableFiles;
}

interface Landscape {
  loss: Float64Array;
  acc: Float64Array;
  samples: number;
}

/** What every landscape of one study shares. */
interface FidelitySetup {
  run: OpenedRun;
  ck: ReturnType<typeof checkpointOf>;
  grid: Grid;
  plane: Plane;
  out: string;
  o: FidelityOptions;
  progress: ProgressSink;
}

/** Over the grid: max and mean relative loss error and accuracy difference of a subset's landscape against the full one. */
export function compareSurfaces(full: { loss: Float64Array; acc: Float64Array }, sub: { loss: Float64Array; acc: Float64Array }) {
  let maxRel = 0;
  let sumRel = 0;
  let maxAcc = 0;
  let sumAcc = 0;
  const n = full.loss.length;
  for (let i = 0; i < n; i++) {
    const rel = Math.abs(sub.loss[i]! - full.loss[i]!) / Math.abs(full.loss[i]!);
    maxRel = Math.max(maxRel, rel);
    sumRel += rel;
    const da = Math.abs(sub.acc[i]! - full.acc[i]!);
    if (Number.isFinite(da)) {
      maxAcc = Math.max(maxAcc, da);
      sumAcc += da;
    }
  }
  return { maxRelErr: maxRel, meanRelErr: sumRel / n, maxAccDiff: maxAcc, meanAccDiff: sumAcc / n };
}

/** The folder of a subset's landscape: subset-5pct (or subset-5pct-seed3 with several seeds). */
export function subsetFolder(label: string, seed: number, seeds: number): string {
  return `subset-${label.replace('%', 'pct')}${seeds > 1 ? `-seed${seed}` : ''}`;
}

export async function fidelityStudy(runDir: string, o: FidelityOptions = {}): Promise<FidelityResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = studyGrid(run, o, false);
  const out = o.out ?? studyFolder(runDir, 'fidelity', ck.index);
  const sizes = o.sizes ?? DEFAULT_FIDELITY_SIZES;
  const seeds = o.seeds ?? [run.cfg.data.subset.seed];
  const train = run.data.train;
  const nTrain = train.y.length / (train.task === 'regression' ? train.outputDim : 1);
  for (const s of sizes) resolveSize(s, nTrain); // fail early on sizes that do not fit
  const plane = runPlane(run, ck.theta);
  mkdirSync(out, { recursive: true });
  await writeDirectionFile(join(out, 'directions.h5'), run.model.layout, plane.dx, grid.y ? plane.dy : undefined, {
    ...directionAttrs(run),
    cosine: plane.cosine,
  });
  const setup: FidelitySetup = { run, ck, grid, plane, out, o, progress };
  const full = await landscape(setup, 'full', `full train split (${nTrain})`, train, { subset: 'all' });
  const rows: FidelityRow[] = [];
  for (const size of sizes) {
    for (const seed of seeds) {
      const idx = subsetIndices(train, { size, seed });
      const label = sizeLabel(size);
      const name = subsetFolder(label, seed, seeds.length);
      const sub = await landscape(setup, name, `subset ${label} seed ${seed}`, take(train, idx, `${train.name}-subset`), { subset: label, seed });
      rows.push(fidelityRow(full, sub, grid, { size: label, samples: idx.length, fraction: idx.length / nTrain, seed }));
    }
  }
  const axes = `${formatAxis(grid.x)}${grid.y ? ` × ${formatAxis(grid.y)}` : ''}`;
  const tables = writeFidelityTables(run, ck.index, grid, axes, nTrain, out, rows);
  writeJson(join(out, 'fidelity.json'), { checkpoint: ck.index, grid: axes, trainSamples: nTrain, rows });
  return { out, rows, checkpoint: ck.index, grid, trainSamples: nTrain, tables };
}

/** The landscape on `data` in <out>/<name> (a one-frame run when the grid is 2-D). */
async function landscape(p: FidelitySetup, name: string, label: string, data: Dataset, info: Record<string, string | number>): Promise<Landscape> {
  const { run, ck, grid, plane, out } = p;
  const surf = frameFile('surfaces', ck.index);
  const engine = await runEngine(run, data, { backend: p.o.backend }, p.progress.warn);
  try {
    mkdirSync(join(out, name, 'surfaces'), { recursive: true });
    const task = p.progress.task(label, gridSize(grid), 'points');
    const gf = await computeSurface({
      theta: ck.theta,
      dx: plane.dx,
      dy: grid.y ? plane.dy : undefined,
      grid,
      engines: { train: engine },
      path: join(out, name, surf),
      context: { kind: 'fidelity', run: run.manifest.configHash, checkpoint: ck.index, ...info },
      chunkSize: run.cfg.surface.chunk,
      fresh: p.o.fresh,
      attrs: { checkpoint: ck.index, step: ck.step, epoch: ck.epoch, samples: engine.samples, ...info },
      onProgress: (q) => task.update(q.done, q.resumed ? `${q.resumed} resumed` : undefined),
    });
    task.end();
    if (grid.y) {
      writeDerivedRun(join(out, name), {
        source: run.manifest,
        sourceDir: run.dir,
        name: label,
        kind: 'fidelity',
        note: `landscape of checkpoint ${ck.index} on ${engine.samples} training samples (${label})`,
        frames: [{ checkpoint: ck.index, surface: surf }],
      });
    }
    return { loss: gf.values.train_loss!, acc: gf.values.train_acc!, samples: engine.samples };
  } finally {
    await engine.dispose();
  }
}

function fidelityRow(full: Landscape, sub: Landscape, grid: Grid, subset: { size: string; samples: number; fraction: number; seed: number }): FidelityRow {
  const centre = centreIndex(grid);
  return {
    ...subset,
    ...compareSurfaces(full, sub),
    centerRelErr: centre === null ? Number.NaN : Math.abs(sub.loss[centre]! - full.loss[centre]!) / Math.abs(full.loss[centre]!),
  };
}

function writeFidelityTables(run: OpenedRun, checkpoint: number, grid: Grid, axes: string, nTrain: number, out: string, rows: FidelityRow[]): TableFiles {
  const cols: Column<FidelityRow>[] = [
    { key: 'size', title: 'subset', value: (r) => r.size },
    { key: 'samples', value: (r) => r.samples, fmt: (v) => String(v) },
    { key: 'seed', value: (r) => r.seed, fmt: (v) => String(v) },
    { key: 'max_rel_err', title: 'max rel. error', value: (r) => r.maxRelErr, fmt: (v) => `${(100 * v).toPrecision(3)} %` },
    { key: 'mean_rel_err', title: 'mean rel. error', value: (r) => r.meanRelErr, fmt: (v) => `${(100 * v).toPrecision(3)} %` },
    { key: 'center_rel_err', title: 'at the centre', value: (r) => r.centerRelErr, fmt: (v) => `${(100 * v).toPrecision(3)} %` },
    { key: 'max_acc_diff', title: 'max |Δacc| (pp)', value: (r) => r.maxAccDiff, fmt: pct(2) },
    { key: 'mean_acc_diff', title: 'mean |Δacc| (pp)', value: (r) => r.meanAccDiff, fmt: pct(2) },
  ];
  return writeTables(join(out, 'fidelity'), cols, rows, {
    title: `Subset fidelity of ${run.manifest.name}, checkpoint ${checkpoint}`,
    intro: [
      `Loss landscape on fixed stratified subsets of the training split vs on the whole split (${nTrain} samples), at the same ${gridSize(grid)} points (${axes}, the run's ${run.cfg.directions.norm}-normalized directions, seed ${run.cfg.directions.seed}), ${run.cfg.surface.mode} mode.`,
      `Relative error = |L_subset − L_full| / L_full per point; max and mean over the grid.`,
    ],
    notes: [`Landscapes: full/ and subset-*/ (one-frame runs; \`losscape view ${out}/full ${out}/subset-*\`).`],
  });
}
