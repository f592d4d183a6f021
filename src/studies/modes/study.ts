/**
 * Train mode vs eval mode at the same checkpoint: the landscape with batch
 * statistics and (fixed, seeded) dropout masks active, and the one with
 * running statistics and no dropout, on the same plane and grid. Both are
 * written as one-frame runs (`<out>/eval`, `<out>/train`) for the compare
 * viewer, with their difference and a small table.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatAxis, type Grid, gridSize } from '../../core/grid.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import type { Plane } from '../../directions/directions.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { LossEngine } from '../../engine/engine.js';
import type { Backend } from '../../engine/registry.js';
import { writeGridFile } from '../../jobs/grid-file.js';
import { frameFile } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { writeDerivedRun } from '../derived-run.js';
import { centreIndex, studyGrid } from '../grid.js';
import { checkpointOf, directionAttrs, type OpenedRun, openRun, runEngine, runPlane, studyFolder } from '../run-access.js';
import { maxOf, mean } from '../stats.js';
import { type Column, type TableFiles, writeJson, writeTables } from '../tables.js';

export interface ModesOptions {
  checkpoint?: number;
  x?: string;
  y?: string;
  backend?: Backend;
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
}

export type Mode = 'eval' | 'train';

/** What to say when the model has neither batch norm nor dropout. */
export const COINCIDE =
  'train and eval mode coincide for this model (no batch norm, no dropout), so the two landscapes are the same; try a run with batch norm or dropout (e.g. `losscape study examples/train-vs-eval.yaml`)';

export interface ModeRow {
  mode: Mode;
  centre: number;
  centreAcc: number;
  min: number;
  max: number;
  mean: number;
}

/** Over the grid: max and mean of |L_train − L_eval|, and relative to L_eval; the largest accuracy difference. */
export interface ModesDifference {
  maxAbs: number;
  meanAbs: number;
  maxRel: number;
  meanRel: number;
  maxAcc: number;
}

export interface ModesResult {
  out: string;
  /** Name of the run. */
  runName: string;
  rows: ModeRow[];
  diff: ModesDifference;
  /** The model has neither batch norm nor dropout: both landscapes are the same. */
  identical: boolean;
  tables: TableFiles;
  grid: Grid;
}

interface ModeLandscape {
  loss: Float64Array;
  acc: Float64Array;
  done: Uint8Array;
}

type Checkpoint = ReturnType<typeof checkpointOf>;

export async function modesStudy(runDir: string, o: ModesOptions = {}): Promise<ModesResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = studyGrid(run, o, true);
  const out = o.out ?? studyFolder(runDir, 'modes', ck.index);
  const identical = run.model.batchNorms.length === 0 && run.model.dropoutSites.length === 0;
  if (identical) progress.warn(`${run.model.name}: ${COINCIDE}`);
  const plane = runPlane(run, ck.theta);
  mkdirSync(out, { recursive: true });
  await writeDirectionFile(join(out, 'directions.h5'), run.model.layout, plane.dx, plane.dy, { ...directionAttrs(run), cosine: plane.cosine });
  const rows: ModeRow[] = [];
  const values = {} as Record<Mode, ModeLandscape>;
  for (const mode of ['eval', 'train'] as const) {
    const r = await modeLandscape(run, ck, plane, grid, mode, out, o, progress);
    values[mode] = r.landscape;
    rows.push(r.row);
  }
  const d = modeDifference(values.train, values.eval);
  await writeGridFile(join(out, 'difference.h5'), {
    grid,
    values: { eval_loss: values.eval.loss, train_loss: values.train.loss, difference: d.difference, relative_difference: d.relative },
    done: values.eval.done,
    attrs: { checkpoint: ck.index, meaning: 'difference = train-mode loss - eval-mode loss at the same point' },
  });
  const ci = centreIndex(grid);
  const tables = writeModesTables(run, ck.index, grid, out, rows, d.diff, ci === null ? null : d.difference[ci]!, identical);
  writeJson(join(out, 'modes.json'), { checkpoint: ck.index, rows, diff: d.diff, identical });
  return { out, runName: run.manifest.name, rows, diff: d.diff, identical, tables, grid };
}

/** The landscape in one mode, written as the one-frame run <out>/<mode>. */
async function modeLandscape(
  run: OpenedRun,
  ck: Checkpoint,
  plane: Plane,
  grid: Grid,
  mode: Mode,
  out: string,
  o: ModesOptions,
  progress: ProgressSink,
): Promise<{ landscape: ModeLandscape; row: ModeRow }> {
  const s = run.cfg.surface;
  const engines: { train: LossEngine; test?: LossEngine } = {
    train: await runEngine(run, run.data.evalSubset, { mode, backend: o.backend }, progress.warn),
  };
  if (run.data.testSubset) engines.test = await runEngine(run, run.data.testSubset, { mode, backend: o.backend }, progress.warn);
  try {
    const folder = join(out, mode);
    const surf = frameFile('surfaces', ck.index);
    mkdirSync(join(folder, 'surfaces'), { recursive: true });
    const centre = await engines.train.evaluate(ck.theta);
    const task = progress.task(`${mode} mode`, gridSize(grid), 'points');
    const gf = await computeSurface({
      theta: ck.theta,
      dx: plane.dx,
      dy: plane.dy,
      grid,
      engines,
      path: join(folder, surf),
      context: { kind: 'modes', run: run.manifest.configHash, checkpoint: ck.index, mode, dropoutSeed: s.dropoutSeed, batchSize: s.batchSize ?? null },
      chunkSize: s.chunk,
      fresh: o.fresh,
      attrs: {
        checkpoint: ck.index,
        step: ck.step,
        epoch: ck.epoch,
        mode,
        center_loss: centre.loss,
        center_acc: centre.acc,
        engine: engines.train.description,
      },
      onProgress: (p) => task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined),
    });
    task.end();
    const loss = gf.values.train_loss!;
    writeModeRun(run, ck, mode, folder, surf, centre, plane.cosine);
    return {
      landscape: { loss, acc: gf.values.train_acc!, done: gf.done },
      row: { mode, centre: centre.loss, centreAcc: centre.acc, min: Math.min(...loss), max: maxOf(loss), mean: mean(loss) },
    };
  } finally {
    for (const e of [engines.train, engines.test]) await e?.dispose();
  }
}

/** <out>/<mode> as a one-frame run (its config says the mode). */
function writeModeRun(run: OpenedRun, ck: Checkpoint, mode: Mode, folder: string, surf: string, centre: { loss: number; acc: number }, cosine: number): void {
  const s = run.cfg.surface;
  writeDerivedRun(folder, {
    source: run.manifest,
    sourceDir: run.dir,
    name: `${mode} mode`,
    kind: 'modes',
    note:
      mode === 'train'
        ? `checkpoint ${ck.index} in train mode: batch statistics${s.batchSize ? ` over batches of ${s.batchSize}` : ' over the whole subset (one batch, at most 1000)'} and fixed dropout masks (seed ${s.dropoutSeed})`
        : `checkpoint ${ck.index} in eval mode: running statistics, no dropout`,
    frames: [{ checkpoint: ck.index, surface: surf, center_loss: centre.loss, center_acc: centre.acc, cosine }],
    config: { ...(run.manifest.config as object), surface: { ...s, mode } },
  });
}

/** Per point: L_train − L_eval and |L_train − L_eval| / |L_eval|; over the grid: their max and mean, and the largest accuracy difference. */
function modeDifference(train: ModeLandscape, ev: ModeLandscape): { difference: Float64Array; relative: Float64Array; diff: ModesDifference } {
  const n = ev.loss.length;
  const d = new Float64Array(n);
  const rel = new Float64Array(n);
  const dacc = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = train.loss[i]! - ev.loss[i]!;
    rel[i] = Math.abs(d[i]!) / Math.abs(ev.loss[i]!);
    dacc[i] = Math.abs(train.acc[i]! - ev.acc[i]!);
  }
  const absd = d.map(Math.abs);
  return { difference: d, relative: rel, diff: { maxAbs: maxOf(absd), meanAbs: mean(absd), maxRel: maxOf(rel), meanRel: mean(rel), maxAcc: maxOf(dacc) } };
}

function writeModesTables(
  run: OpenedRun,
  checkpoint: number,
  grid: Grid,
  out: string,
  rows: ModeRow[],
  diff: ModesDifference,
  atCentre: number | null,
  identical: boolean,
): TableFiles {
  const s = run.cfg.surface;
  const cols: Column<ModeRow>[] = [
    { key: 'mode', value: (r) => r.mode },
    { key: 'centre_loss', title: 'L(θ)', value: (r) => r.centre },
    { key: 'centre_acc', title: 'acc(θ) %', value: (r) => r.centreAcc, fmt: (v) => v.toFixed(1) },
    { key: 'grid_min', title: 'grid min', value: (r) => r.min },
    { key: 'grid_mean', title: 'grid mean', value: (r) => r.mean },
    { key: 'grid_max', title: 'grid max', value: (r) => r.max },
  ];
  return writeTables(join(out, 'modes'), cols, rows, {
    title: `Train mode vs eval mode: ${run.manifest.name}, checkpoint ${checkpoint}`,
    intro: [
      ...(identical ? [`Note: ${COINCIDE}.`] : []),
      `${run.model.name}; the same plane (the run's directions, seed ${run.cfg.directions.seed}) and grid ${formatAxis(grid.x)} × ${formatAxis(grid.y!)} on the evaluation subset (${run.manifest.data.subset.size} samples).`,
      `Train mode: batch statistics in batch norm${s.batchSize ? ` (batches of ${s.batchSize})` : ' (the whole subset as one batch, at most 1000)'}, dropout active with fixed masks (seed ${s.dropoutSeed}). Eval mode: running statistics, no dropout.`,
      `|L_train − L_eval| over the grid: max ${diff.maxAbs.toPrecision(4)}, mean ${diff.meanAbs.toPrecision(4)}; relative to L_eval: max ${(100 * diff.maxRel).toPrecision(3)} %, mean ${(100 * diff.meanRel).toPrecision(3)} %; largest accuracy difference ${diff.maxAcc.toFixed(2)} pp` +
        (atCentre !== null ? `; at θ: ${atCentre.toPrecision(4)}.` : '.'),
    ],
    notes: [`Show both: \`losscape view ${out}/eval ${out}/train\` (or \`losscape report …\`); difference.h5 holds the difference channel.`],
  });
}
