/**
 * The pruning study of a run: the checkpoint magnitude-pruned (mask.ts) at
 * several sparsities, optionally fine-tuned with the masks fixed, each pruned
 * network's landscape on the surviving weights (a one-frame run per sparsity),
 * its loss and accuracy on the full splits and its sharpness, in one table.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatAxis, type Grid, gridSize } from '../../core/grid.js';
import { hashBytes, hashJSON } from '../../core/hash.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import type { Normalization, Plane } from '../../directions/directions.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { LossEngine, Metrics } from '../../engine/engine.js';
import type { Backend } from '../../engine/registry.js';
import { writeH5 } from '../../io/h5.js';
import { frameFile } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import type { OptimizerSpec } from '../../train/optimizer.js';
import { writeDerivedRun } from '../derived-run.js';
import { finetuneMasked } from '../finetune.js';
import { studyGrid } from '../grid.js';
import { checkpointOf, type OpenedRun, openRun, runEngine, studyFolder } from '../run-access.js';
import { measureSharpness, type StudySharpness, studySharpness } from '../sharpness.js';
import { type Column, pct, type TableFiles, writeJson, writeTables } from '../tables.js';
import { applyMask, magnitudeMask, maskedPlane, type PruneMask, type PruneScope, prunableEntries, sparsityName, zeroCount } from './mask.js';

export interface PruneStudyOptions {
  /** Sparsities in percent (default 0, 50, 80, 90). */
  sparsities?: number[];
  scope?: PruneScope;
  /** Fine-tuning steps with fixed masks (default 0). */
  finetune?: number;
  /** Fine-tuning learning rate (default: the run's). */
  lr?: number;
  checkpoint?: number;
  x?: string;
  y?: string;
  sharpness?: StudySharpness | false;
  backend?: Backend;
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
}

export interface PruneRow {
  sparsity: number;
  scope: PruneScope;
  eligible: number;
  zeroed: number;
  actual: number;
  finetune: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  /** Loss at the centre on the evaluation subset (the landscape's data). */
  subset_loss: number;
  lambda_max?: number;
  lambda_min?: number;
  trace?: number;
  eps_sharpness?: number;
  folder: string;
}

export interface PruneStudyResult {
  out: string;
  rows: PruneRow[];
  checkpoint: number;
  grid: Grid;
  tables: TableFiles;
}

/** What every sparsity of one study shares. */
interface PruneSetup {
  run: OpenedRun;
  ck: ReturnType<typeof checkpointOf>;
  grid: Grid;
  scope: PruneScope;
  steps: number;
  optimizer: OptimizerSpec;
  sharp: StudySharpness | false;
  out: string;
  engines: PruneEngines;
  progress: ProgressSink;
}

/** Landscape engines (the run's mode), full-split evaluation and sharpness engines (eval mode). */
interface PruneEngines {
  landscape: LossEngine;
  landscapeTest?: LossEngine;
  fullTrain: LossEngine;
  fullTest: LossEngine;
  sharpness: LossEngine;
}

export async function pruneStudy(runDir: string, o: PruneStudyOptions = {}): Promise<PruneStudyResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = studyGrid(run, o, false);
  const scope = o.scope ?? 'global';
  const steps = o.finetune ?? 0;
  const sparsities = o.sparsities ?? [0, 50, 80, 90];
  const out = o.out ?? studyFolder(runDir, `prune-${scope}`, ck.index);
  const optimizer = { ...run.cfg.train.optimizer, ...(o.lr !== undefined ? { lr: o.lr } : {}) };
  const sharp = studySharpness(o.sharpness);
  mkdirSync(out, { recursive: true });
  const engines = await pruneEngines(run, o.backend, progress);
  const setup: PruneSetup = { run, ck, grid, scope, steps, optimizer, sharp, out, engines, progress };
  const rows: PruneRow[] = [];
  try {
    for (const s of sparsities) rows.push(await sparsityRow(setup, s, Boolean(o.fresh)));
  } finally {
    for (const e of new Set(Object.values(engines))) await e?.dispose();
  }
  const tables = writePruneTables(out, rows, {
    run: run.manifest.name,
    checkpoint: ck.index,
    axes: `${formatAxis(grid.x)}${grid.y ? ` × ${formatAxis(grid.y)}` : ''}`,
    scope,
    steps,
    tensors: prunableEntries(run.model.layout).map((e) => e.name),
    sharp,
  });
  return { out, rows, checkpoint: ck.index, grid, tables };
}

async function pruneEngines(run: OpenedRun, backend: PruneStudyOptions['backend'], progress: ProgressSink): Promise<PruneEngines> {
  const landscape = await runEngine(run, run.data.evalSubset, { backend }, progress.warn);
  const landscapeTest = run.data.testSubset ? await runEngine(run, run.data.testSubset, { backend }, progress.warn) : undefined;
  const fullTrain = await runEngine(run, run.data.train, { backend, mode: 'eval' }, progress.warn);
  const fullTest = await runEngine(run, run.data.test, { backend, mode: 'eval' }, progress.warn);
  const sharpness = run.cfg.surface.mode === 'eval' ? landscape : await runEngine(run, run.data.evalSubset, { backend, mode: 'eval' }, progress.warn);
  return { landscape, landscapeTest, fullTrain, fullTest, sharpness };
}

/** The row of one sparsity: from its folder's result.json when computed with the same settings, else computed. */
async function sparsityRow(p: PruneSetup, s: number, fresh: boolean): Promise<PruneRow> {
  const name = sparsityName(s);
  const folder = join(p.out, name);
  mkdirSync(join(folder, 'surfaces'), { recursive: true });
  const { run, ck, grid } = p;
  const settings = {
    run: run.manifest.configHash,
    checkpoint: ck.index,
    s,
    scope: p.scope,
    steps: p.steps,
    optimizer: p.optimizer,
    seed: run.cfg.train.seed,
    sharp: p.sharp,
    grid: [grid.x, grid.y ?? null],
    dir: run.cfg.directions,
  };
  const key = hashJSON(settings);
  const cache = join(folder, 'result.json');
  if (!fresh && existsSync(cache)) {
    const old = JSON.parse(readFileSync(cache, 'utf8')) as { key: string; row: PruneRow };
    if (old.key === key) {
      p.progress.log(`${name}: done, skipped`);
      return old.row;
    }
  }
  const row = await prunedNetwork(p, s, folder, key);
  writeJson(cache, { key, row });
  return row;
}

/** Prune (and fine-tune) at sparsity s, save θ and the mask, compute the landscape, evaluate and measure it. */
async function prunedNetwork(p: PruneSetup, s: number, folder: string, key: string): Promise<PruneRow> {
  const { run, ck, grid, scope, steps, engines } = p;
  const layout = run.model.layout;
  const pm = magnitudeMask(ck.theta, layout, s, scope);
  const theta = await finetune(p, s, applyMask(ck.theta, pm.mask), pm.mask);
  const zeroed = zeroCount(theta, layout);
  if (zeroed < pm.pruned) throw new Error(`internal: ${pm.pruned} weights were pruned but only ${zeroed} are zero`);
  await writePruned(join(folder, 'pruned.h5'), theta, pm, s, p);
  const d = run.cfg.directions;
  const plane = maskedPlane(theta, layout, pm.mask, {
    seed: d.seed,
    norm: d.norm as Normalization,
    ignore: d.ignore,
    include: d.include,
    orthogonal: d.orthogonal,
  });
  const dy = grid.y ? plane.dy : undefined;
  const dirRel = frameFile('directions', ck.index);
  mkdirSync(join(folder, 'directions'), { recursive: true });
  await writeDirectionFile(join(folder, dirRel), layout, plane.dx, dy, { norm: d.norm, ignore: d.ignore, seed: d.seed, masked: 1, cosine: plane.cosine });
  const surf = frameFile('surfaces', ck.index);
  const centre = await engines.landscape.evaluate(theta);
  await prunedLandscape(p, s, theta, plane, join(folder, surf), key, { dir_file: dirRel, center_loss: centre.loss, center_acc: centre.acc });
  const tr = await engines.fullTrain.evaluate(theta);
  const te = await engines.fullTest.evaluate(theta);
  const sh = await measureSharpness(engines.sharpness, theta, p.sharp);
  if (grid.y) writePrunedRun(p, s, folder, { surface: surf, directions: dirRel, centre, cosine: plane.cosine, train: tr, test: te });
  return {
    sparsity: s,
    scope,
    eligible: pm.eligible,
    zeroed,
    actual: (100 * zeroed) / pm.eligible,
    finetune: steps,
    train_loss: tr.loss,
    train_acc: tr.acc,
    test_loss: te.loss,
    test_acc: te.acc,
    subset_loss: centre.loss,
    ...(sh ? { lambda_max: sh.lambdaMax, lambda_min: sh.lambdaMin, trace: sh.trace, eps_sharpness: sh.epsSharpness } : {}),
    folder: sparsityName(s),
  };
}

/** The sparsity's folder as a one-frame run (its checkpoint row: the pruned network's full-split metrics). */
function writePrunedRun(
  p: PruneSetup,
  s: number,
  folder: string,
  f: { surface: string; directions: string; centre: Metrics; cosine: number; train: Metrics; test: Metrics },
): void {
  const { ck, scope, steps } = p;
  writeDerivedRun(folder, {
    source: p.run.manifest,
    sourceDir: p.run.dir,
    name: `${s}% pruned (${scope})${steps ? `, ${steps} fine-tune steps` : ''}`,
    kind: 'prune',
    note: `checkpoint ${ck.index} magnitude-pruned to ${s}% of the eligible weights (${scope}); directions restricted to the surviving weights`,
    frames: [{ checkpoint: ck.index, surface: f.surface, directions: f.directions, center_loss: f.centre.loss, center_acc: f.centre.acc, cosine: f.cosine }],
    checkpoints: [
      { index: ck.index, step: ck.step, epoch: ck.epoch, train_loss: f.train.loss, train_acc: f.train.acc, test_loss: f.test.loss, test_acc: f.test.acc },
    ],
    extra: { sparsity: s, scope, finetune: steps },
  });
}

/** Fine-tuning with the mask fixed (the study's steps; none: θ as pruned). */
async function finetune(p: PruneSetup, s: number, theta: Float32Array, mask: Uint8Array): Promise<Float32Array> {
  if (p.steps <= 0) return theta;
  const task = p.progress.task(`fine-tune ${s}%`, p.steps, 'steps');
  const r = await finetuneMasked({
    model: p.run.model,
    train: p.run.data.train,
    theta,
    mask,
    steps: p.steps,
    batchSize: p.run.cfg.train.batchSize,
    optimizer: p.optimizer,
    seed: p.run.cfg.train.seed,
    onStep: (k, _n, l) => task.update(k, `loss ${l.toFixed(4)}`),
  });
  task.end();
  return r.theta;
}

/** pruned.h5: θ after pruning (and fine-tuning) and the mask. */
async function writePruned(path: string, theta: Float32Array, pm: PruneMask, s: number, p: PruneSetup): Promise<void> {
  await writeH5(
    path,
    {
      theta: { data: theta },
      mask: { data: pm.mask },
    },
    {
      sparsity: s,
      scope: p.scope,
      eligible: pm.eligible,
      pruned: pm.pruned,
      finetune_steps: p.steps,
      eligible_tensors: prunableEntries(p.run.model.layout)
        .map((e) => e.name)
        .join(','),
    },
  );
}

/** The pruned network's landscape on its masked plane (recomputed whenever the settings key or θ changes). */
async function prunedLandscape(
  p: PruneSetup,
  s: number,
  theta: Float32Array,
  plane: Plane,
  path: string,
  key: string,
  attrs: { dir_file: string; center_loss: number; center_acc: number },
): Promise<void> {
  const { ck, grid } = p;
  const task = p.progress.task(`landscape ${s}%`, gridSize(grid), 'points');
  await computeSurface({
    theta,
    dx: plane.dx,
    dy: grid.y ? plane.dy : undefined,
    grid,
    engines: { train: p.engines.landscape, test: p.engines.landscapeTest },
    path,
    context: { kind: 'prune', key, theta: hashBytes(theta) },
    chunkSize: p.run.cfg.surface.chunk,
    fresh: true,
    attrs: {
      checkpoint: ck.index,
      step: ck.step,
      epoch: ck.epoch,
      dir_file: attrs.dir_file,
      sparsity: s,
      scope: p.scope,
      finetune_steps: p.steps,
      center_loss: attrs.center_loss,
      center_acc: attrs.center_acc,
    },
    onProgress: (q) => task.update(q.done),
  });
  task.end();
}

function writePruneTables(
  out: string,
  rows: PruneRow[],
  i: { run: string; checkpoint: number; axes: string; scope: string; steps: number; tensors: string[]; sharp: StudySharpness | false },
) {
  const cols: Column<PruneRow>[] = [
    { key: 'sparsity', title: 'sparsity %', value: (r) => r.sparsity, fmt: (v) => String(v) },
    { key: 'scope', value: (r) => r.scope },
    { key: 'eligible', value: (r) => r.eligible, fmt: (v) => String(v) },
    { key: 'zeroed', value: (r) => r.zeroed, fmt: (v) => String(v) },
    { key: 'actual_pct', title: 'zero %', value: (r) => r.actual, fmt: pct(2) },
    { key: 'finetune_steps', title: 'fine-tune', value: (r) => r.finetune, fmt: (v) => String(v) },
    { key: 'train_loss', value: (r) => r.train_loss },
    { key: 'train_acc', value: (r) => r.train_acc, fmt: pct(1) },
    { key: 'test_loss', value: (r) => r.test_loss },
    { key: 'test_acc', value: (r) => r.test_acc, fmt: pct(1) },
    { key: 'subset_loss', title: 'subset loss', value: (r) => r.subset_loss },
  ];
  if (i.sharp !== false) {
    cols.push(
      { key: 'lambda_max', title: 'λmax', value: (r) => r.lambda_max },
      { key: 'lambda_min', title: 'λmin', value: (r) => r.lambda_min },
      { key: 'trace', title: 'tr H', value: (r) => r.trace },
      { key: 'eps_sharpness', title: 'ε-sharpness %', value: (r) => r.eps_sharpness },
    );
  }
  cols.push({ key: 'folder', value: (r) => r.folder });
  return writeTables(join(out, 'prune'), cols, rows, {
    title: `Magnitude pruning of ${i.run}, checkpoint ${i.checkpoint}`,
    intro: [
      `Eligible weights: the weight tensors with more than one dimension (${i.tensors.join(', ')}); biases and batch-norm parameters are never pruned. ` +
        `At s % exactly round(s/100 · eligible) of them are zero (${i.scope === 'global' ? 'global: the smallest |w| over all eligible tensors' : 'per layer: the same share of every tensor, counts by largest remainder'}).` +
        (i.steps ? ` Fine-tuned for ${i.steps} steps with the masks fixed.` : ' No fine-tuning.'),
      `Landscapes (${i.axes}) use the run's direction seed restricted to the surviving weights (zeroed where pruned, then normalized); each sparsity is a one-frame run in its folder.`,
    ],
    notes: [
      'train/test loss and accuracy: the full splits in eval mode; subset loss: the evaluation subset the landscapes use.',
      ...(i.sharp !== false
        ? [
            `Sharpness on the evaluation subset (eval mode), all parameters including pruned ones: λmax/λmin by Lanczos (tol ${i.sharp.tol}), trace by Hutchinson (${i.sharp.traceProbes} probes), ε-sharpness (ε = ${i.sharp.epsilon}) in percent; seed ${i.sharp.seed}.`,
          ]
        : []),
    ],
  });
}
