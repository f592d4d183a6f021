/**
 * Train mode vs eval mode at the same checkpoint: the landscape with batch
 * statistics and (fixed, seeded) dropout masks active, and the one with
 * running statistics and no dropout, on the same plane and grid. Both are
 * written as one-frame runs (`<out>/eval`, `<out>/train`) for the compare
 * viewer, with their difference and a small table.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatAxis, type Grid, gridSize } from '../core/grid.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { writeGridFile } from '../jobs/grid-file.js';
import { surfaceGrid } from '../run/pipeline.js';
import { frameFile } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { type Column, maxOf, mean, writeDerivedRun, writeJson, writeTables } from './common.js';
import { centreIndex } from './fidelity.js';
import { type FigureFiles, modesFigure, tryFigure } from './figures.js';
import { checkpointOf, directionAttrs, openRun, runEngine, runPlane } from './run-access.js';

export interface ModesOptions {
  checkpoint?: number;
  x?: string;
  y?: string;
  backend?: 'auto' | 'jax' | 'onnx';
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Also render figure.png (headless Chromium); figure.svg is always written. */
  png?: boolean;
}

export interface ModeRow {
  mode: 'eval' | 'train';
  centre: number;
  centreAcc: number;
  min: number;
  max: number;
  mean: number;
}

export interface ModesResult {
  out: string;
  rows: ModeRow[];
  /** Over the grid: max and mean of |L_train − L_eval|, and relative to L_eval. */
  diff: { maxAbs: number; meanAbs: number; maxRel: number; meanRel: number; maxAcc: number };
  /** The model has neither batch norm nor dropout: both landscapes are the same. */
  identical: boolean;
  tables: { csv: string; md: string };
  grid: Grid;
  figure?: FigureFiles;
}

export async function modesStudy(runDir: string, o: ModesOptions = {}): Promise<ModesResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = surfaceGrid({ x: o.x ?? run.cfg.surface.x, y: o.y ?? run.cfg.surface.y ?? '-1:1:41' });
  const out = o.out ?? join(runDir, 'studies', `modes-ckpt-${String(ck.index).padStart(4, '0')}`);
  const identical = run.model.batchNorms.length === 0 && run.model.dropoutSites.length === 0;
  if (identical) progress.warn(`${run.model.name} has neither batch norm nor dropout: train and eval mode give the same landscape`);
  const plane = runPlane(run, ck.theta);
  mkdirSync(out, { recursive: true });
  await writeDirectionFile(join(out, 'directions.h5'), run.model.layout, plane.dx, plane.dy, { ...directionAttrs(run), cosine: plane.cosine });
  const surf = frameFile('surfaces', ck.index);
  const values: Record<'eval' | 'train', { loss: Float64Array; acc: Float64Array; done: Uint8Array }> = {} as never;
  const rows: ModeRow[] = [];
  const s = run.cfg.surface;
  for (const mode of ['eval', 'train'] as const) {
    const engines: { train: LossEngine; test?: LossEngine } = {
      train: await runEngine(run, run.data.evalSubset, { mode, backend: o.backend }, progress.warn),
    };
    if (run.data.testSubset) engines.test = await runEngine(run, run.data.testSubset, { mode, backend: o.backend }, progress.warn);
    try {
      const folder = join(out, mode);
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
      values[mode] = { loss, acc: gf.values.train_acc!, done: gf.done };
      rows.push({ mode, centre: centre.loss, centreAcc: centre.acc, min: Math.min(...loss), max: maxOf(loss), mean: mean(loss) });
      writeDerivedRun(folder, {
        source: run.manifest,
        sourceDir: runDir,
        name: `${mode} mode`,
        kind: 'modes',
        note:
          mode === 'train'
            ? `checkpoint ${ck.index} in train mode: batch statistics${s.batchSize ? ` over batches of ${s.batchSize}` : ' over the whole subset (one batch, at most 1000)'} and fixed dropout masks (seed ${s.dropoutSeed})`
            : `checkpoint ${ck.index} in eval mode: running statistics, no dropout`,
        frames: [{ checkpoint: ck.index, surface: surf, center_loss: centre.loss, center_acc: centre.acc, cosine: plane.cosine }],
        config: { ...(run.manifest.config as object), surface: { ...s, mode } },
      });
    } finally {
      for (const e of [engines.train, engines.test]) await e?.dispose();
    }
  }
  const n = gridSize(grid);
  const d = new Float64Array(n);
  const rel = new Float64Array(n);
  const dacc = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = values.train.loss[i]! - values.eval.loss[i]!;
    rel[i] = Math.abs(d[i]!) / Math.abs(values.eval.loss[i]!);
    dacc[i] = Math.abs(values.train.acc[i]! - values.eval.acc[i]!);
  }
  const absd = d.map(Math.abs);
  const diff = { maxAbs: maxOf(absd), meanAbs: mean(absd), maxRel: maxOf(rel), meanRel: mean(rel), maxAcc: maxOf(dacc) };
  await writeGridFile(join(out, 'difference.h5'), {
    grid,
    values: { eval_loss: values.eval.loss, train_loss: values.train.loss, difference: d, relative_difference: rel },
    done: values.eval.done,
    attrs: { checkpoint: ck.index, meaning: 'difference = train-mode loss - eval-mode loss at the same point' },
  });
  const ci = centreIndex(grid);
  const cols: Column<ModeRow>[] = [
    { key: 'mode', value: (r) => r.mode },
    { key: 'centre_loss', title: 'L(θ)', value: (r) => r.centre },
    { key: 'centre_acc', title: 'acc(θ) %', value: (r) => r.centreAcc, fmt: (v) => v.toFixed(1) },
    { key: 'grid_min', title: 'grid min', value: (r) => r.min },
    { key: 'grid_mean', title: 'grid mean', value: (r) => r.mean },
    { key: 'grid_max', title: 'grid max', value: (r) => r.max },
  ];
  const tables = writeTables(join(out, 'modes'), cols, rows, {
    title: `Train mode vs eval mode: ${run.manifest.name}, checkpoint ${ck.index}`,
    intro: [
      `${run.model.name}; the same plane (the run's directions, seed ${run.cfg.directions.seed}) and grid ${formatAxis(grid.x)} × ${formatAxis(grid.y!)} on the evaluation subset (${run.manifest.data.subset.size} samples).`,
      `Train mode: batch statistics in batch norm${s.batchSize ? ` (batches of ${s.batchSize})` : ' (the whole subset as one batch, at most 1000)'}, dropout active with fixed masks (seed ${s.dropoutSeed}). Eval mode: running statistics, no dropout.`,
      `|L_train − L_eval| over the grid: max ${diff.maxAbs.toPrecision(4)}, mean ${diff.meanAbs.toPrecision(4)}; relative to L_eval: max ${(100 * diff.maxRel).toPrecision(3)} %, mean ${(100 * diff.meanRel).toPrecision(3)} %; largest accuracy difference ${diff.maxAcc.toFixed(2)} pp` +
        (ci !== null ? `; at θ: ${d[ci]!.toPrecision(4)}.` : '.'),
    ],
    notes: [`Show both: \`losscape view ${out}/eval ${out}/train\` (or \`losscape report …\`); difference.h5 holds the difference channel.`],
  });
  writeJson(join(out, 'modes.json'), { checkpoint: ck.index, rows, diff, identical });
  const figure = await tryFigure(progress.warn, () => modesFigure(out, Boolean(o.png), run.manifest.name));
  return { out, rows, diff, identical, tables, grid, figure };
}
