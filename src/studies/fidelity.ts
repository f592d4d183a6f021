/**
 * Subset fidelity: how well the landscape on a fixed random subset of the
 * training split (the seed's claim: 5 % is enough) matches the landscape on the
 * whole split, at the same points (same θ, same directions, same grid).
 * Per subset size (and subset seed): max and mean relative error of the loss,
 * |L_S − L_full| / |L_full|, and the largest accuracy difference.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatAxis, type Grid, gridSize } from '../core/grid.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { take } from '../data/dataset.js';
import { resolveSize, subsetIndices } from '../data/subset.js';
import { writeDirectionFile } from '../directions/file.js';
import { surfaceGrid } from '../run/pipeline.js';
import { frameFile } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { type Column, pct, type SizeSpec, sizeLabel, writeDerivedRun, writeJson, writeTables } from './common.js';
import { type FigureFiles, fidelityFigure, tryFigure } from './figures.js';
import { checkpointOf, directionAttrs, type OpenedRun, openRun, runEngine, runPlane } from './run-access.js';

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
  backend?: 'auto' | 'jax' | 'onnx';
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Also render figure.png (headless Chromium); figure.svg is always written. */
  png?: boolean;
}

export interface FidelityResult {
  figure?: FigureFiles;
  out: string;
  rows: FidelityRow[];
  checkpoint: number;
  grid: Grid;
  trainSamples: number;
  tables: { csv: string; md: string };
}

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

export async function fidelityStudy(runDir: string, o: FidelityOptions = {}): Promise<FidelityResult> {
  const progress = o.progress ?? silent;
  const run: OpenedRun = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = surfaceGrid({ x: o.x ?? run.cfg.surface.x, y: o.y === undefined ? run.cfg.surface.y : o.y });
  const out = o.out ?? join(runDir, 'studies', `fidelity-ckpt-${String(ck.index).padStart(4, '0')}`);
  const sizes = o.sizes ?? DEFAULT_FIDELITY_SIZES;
  const seeds = o.seeds ?? [run.cfg.data.subset.seed];
  const train = run.data.train;
  const nTrain = train.y.length / (train.task === 'regression' ? train.outputDim : 1);
  for (const s of sizes) resolveSize(s, nTrain); // fail early on sizes that do not fit
  const plane = runPlane(run, ck.theta);
  const dy = grid.y ? plane.dy : undefined;
  mkdirSync(out, { recursive: true });
  await writeDirectionFile(join(out, 'directions.h5'), run.model.layout, plane.dx, dy, { ...directionAttrs(run), cosine: plane.cosine });
  const surf = frameFile('surfaces', ck.index);

  const landscape = async (name: string, label: string, data: typeof train, info: Record<string, string | number>) => {
    const engine = await runEngine(run, data, { backend: o.backend }, progress.warn);
    try {
      mkdirSync(join(out, name, 'surfaces'), { recursive: true });
      const task = progress.task(label, gridSize(grid), 'points');
      const gf = await computeSurface({
        theta: ck.theta,
        dx: plane.dx,
        dy,
        grid,
        engines: { train: engine },
        path: join(out, name, surf),
        context: { kind: 'fidelity', run: run.manifest.configHash, checkpoint: ck.index, ...info },
        chunkSize: run.cfg.surface.chunk,
        fresh: o.fresh,
        attrs: { checkpoint: ck.index, step: ck.step, epoch: ck.epoch, samples: engine.samples, ...info },
        onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
      });
      task.end();
      if (grid.y) {
        writeDerivedRun(join(out, name), {
          source: run.manifest,
          sourceDir: runDir,
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
  };

  const full = await landscape('full', `full train split (${nTrain})`, train, { subset: 'all' });
  const rows: FidelityRow[] = [];
  for (const size of sizes) {
    for (const seed of seeds) {
      const idx = subsetIndices(train, { size, seed });
      const label = sizeLabel(size);
      const name = `subset-${label.replace('%', 'pct')}${seeds.length > 1 ? `-seed${seed}` : ''}`;
      const sub = await landscape(name, `subset ${label} seed ${seed}`, take(train, idx, `${train.name}-subset`), { subset: label, seed });
      const c = compareSurfaces(full, sub);
      const centre = centreIndex(grid);
      rows.push({
        size: label,
        samples: idx.length,
        fraction: idx.length / nTrain,
        seed,
        ...c,
        centerRelErr: centre === null ? Number.NaN : Math.abs(sub.loss[centre]! - full.loss[centre]!) / Math.abs(full.loss[centre]!),
      });
    }
  }
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
  const axes = `${formatAxis(grid.x)}${grid.y ? ` × ${formatAxis(grid.y)}` : ''}`;
  const tables = writeTables(join(out, 'fidelity'), cols, rows, {
    title: `Subset fidelity of ${run.manifest.name}, checkpoint ${ck.index}`,
    intro: [
      `Loss landscape on fixed stratified subsets of the training split vs on the whole split (${nTrain} samples), at the same ${gridSize(grid)} points (${axes}, the run's ${run.cfg.directions.norm}-normalized directions, seed ${run.cfg.directions.seed}), ${run.cfg.surface.mode} mode.`,
      `Relative error = |L_subset − L_full| / L_full per point; max and mean over the grid.`,
    ],
    notes: [`Landscapes: full/ and subset-*/ (one-frame runs; \`losscape view ${out}/full ${out}/subset-*\`).`],
  });
  writeJson(join(out, 'fidelity.json'), { checkpoint: ck.index, grid: axes, trainSamples: nTrain, rows });
  const figure = await tryFigure(progress.warn, () => fidelityFigure(out, rows, Boolean(o.png)));
  return { out, rows, checkpoint: ck.index, grid, trainSamples: nTrain, tables, figure };
}

/** Index of the grid point (0, 0), if the grid has it. */
export function centreIndex(grid: Grid): number | null {
  const find = (a: { min: number; max: number; n: number }) => {
    if (a.n === 1) return a.min === 0 ? 0 : null;
    const step = (a.max - a.min) / (a.n - 1);
    const j = Math.round(-a.min / step);
    return j >= 0 && j < a.n && Math.abs(a.min + j * step) < 1e-9 * step ? j : null;
  };
  const j = find(grid.x);
  const i = grid.y ? find(grid.y) : 0;
  return j === null || i === null ? null : i * grid.x.n + j;
}
