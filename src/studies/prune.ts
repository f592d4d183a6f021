/**
 * Magnitude pruning and the landscapes of pruned networks.
 *
 * Eligible weights: the weight tensors with more than one dimension (dense
 * matrices, conv kernels); biases, batch-norm scale/shift and running
 * statistics are never pruned. At sparsity s %, exactly round(s/100 · E) of the
 * E eligible weights are zeroed — the smallest |w| (ties broken by position):
 *  - global: over all eligible weights together;
 *  - layer: the same share in every tensor, the counts allotted by largest
 *    remainder so that the total is still exactly round(s/100 · E).
 * Optionally fine-tuned for N steps with the masks fixed. The landscape of each
 * pruned network uses directions restricted to the surviving weights: the
 * seeded Gaussian is zeroed where the mask is 0, then normalized (filter-wise
 * by default) to the pruned weights.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { formatAxis, gridSize } from '../core/grid.js';
import { hashBytes, hashJSON } from '../core/hash.js';
import type { ParamEntry, ParamLayout } from '../core/layout.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { cosine, gaussianDirection, type Normalization, normalizeDirection, orthogonalize, type Plane } from '../directions/directions.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { writeH5 } from '../io/h5.js';
import { surfaceGrid } from '../run/pipeline.js';
import { frameFile } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { type Column, pct, writeDerivedRun, writeJson, writeTables } from './common.js';
import { type FigureFiles, pruneFigure, tryFigure } from './figures.js';
import { finetuneMasked } from './finetune.js';
import { checkpointOf, DEFAULT_STUDY_SHARPNESS, measureSharpness, openRun, runEngine, type StudySharpness } from './run-access.js';

export type PruneScope = 'global' | 'layer';

/** The tensors magnitude pruning may zero: weights with more than one dimension. */
export function prunableEntries(layout: ParamLayout): ParamEntry[] {
  return layout.entries.filter((e) => e.role === 'weight' && e.shape.length > 1);
}

export interface PruneMask {
  /** 1 = keep, 0 = pruned, over the flat layout (non-eligible entries are 1). */
  mask: Uint8Array;
  eligible: number;
  pruned: number;
  perTensor: { name: string; size: number; pruned: number }[];
}

/** Magnitude mask at `sparsity` percent of the eligible weights. */
export function magnitudeMask(theta: Float32Array, layout: ParamLayout, sparsity: number, scope: PruneScope = 'global'): PruneMask {
  if (!(sparsity >= 0 && sparsity <= 100)) throw new LosscapeError('input', `sparsity ${sparsity} must be a percentage between 0 and 100`);
  const entries = prunableEntries(layout);
  if (!entries.length) throw new LosscapeError('input', 'the model has no prunable weight tensors (weights with more than one dimension)');
  const E = entries.reduce((a, e) => a + e.size, 0);
  const target = Math.round((sparsity / 100) * E);
  const mask = new Uint8Array(layout.size).fill(1);
  const byMagnitude = (idx: number[]) => idx.sort((a, b) => Math.abs(theta[a]!) - Math.abs(theta[b]!) || a - b);
  const counts = new Map<ParamEntry, number>();
  if (scope === 'global') {
    const idx: number[] = [];
    for (const e of entries) for (let i = e.offset; i < e.offset + e.size; i++) idx.push(i);
    for (const i of byMagnitude(idx).slice(0, target)) mask[i] = 0;
  } else {
    // largest remainder: Σ k_t = target, |k_t − s·n_t| < 1
    const quota = entries.map((e) => (target * e.size) / E);
    const k = quota.map(Math.floor);
    let left = target - k.reduce((a, b) => a + b, 0);
    const order = quota.map((q, i) => [q - Math.floor(q), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of order) {
      if (left === 0) break;
      if (k[i]! < entries[i]!.size) {
        k[i] = k[i]! + 1;
        left--;
      }
    }
    entries.forEach((e, t) => {
      const idx = Array.from({ length: e.size }, (_, j) => e.offset + j);
      for (const i of byMagnitude(idx).slice(0, k[t])) mask[i] = 0;
    });
  }
  for (const e of entries) {
    let z = 0;
    for (let i = e.offset; i < e.offset + e.size; i++) if (!mask[i]) z++;
    counts.set(e, z);
  }
  return { mask, eligible: E, pruned: target, perTensor: entries.map((e) => ({ name: e.name, size: e.size, pruned: counts.get(e)! })) };
}

export function applyMask(theta: Float32Array, mask: Uint8Array): Float32Array {
  return Float32Array.from(theta, (v, i) => (mask[i] ? v : 0));
}

/** Number of exact zeros among the eligible weights. */
export function zeroCount(theta: Float32Array, layout: ParamLayout): number {
  let z = 0;
  for (const e of prunableEntries(layout)) for (let i = e.offset; i < e.offset + e.size; i++) if (theta[i] === 0) z++;
  return z;
}

export interface MaskedPlaneOptions {
  seed: number;
  norm?: Normalization;
  ignore?: 'biasbn' | 'none';
  include?: 'weights' | 'states';
  orthogonal?: boolean;
}

/** A seeded direction restricted to the surviving weights: Gaussian ⊙ mask, then normalized to θ. */
export function maskedDirection(theta: Float32Array, layout: ParamLayout, mask: Uint8Array, o: MaskedPlaneOptions): Float32Array {
  const g = gaussianDirection(layout, o.seed);
  for (let i = 0; i < g.length; i++) if (!mask[i]) g[i] = 0;
  return normalizeDirection(g, theta, layout, o);
}

export function maskedPlane(theta: Float32Array, layout: ParamLayout, mask: Uint8Array, o: MaskedPlaneOptions): Plane {
  const dx = maskedDirection(theta, layout, mask, o);
  let dy = maskedDirection(theta, layout, mask, { ...o, seed: o.seed + 1 });
  if (o.orthogonal) dy = orthogonalize(dx, dy);
  return { dx, dy, cosine: cosine(dx, dy) };
}

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
  backend?: 'auto' | 'jax' | 'onnx';
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Also render figure.png (headless Chromium); figure.svg is always written. */
  png?: boolean;
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
  tables: { csv: string; md: string };
  figure?: FigureFiles;
}

export function sparsityName(s: number): string {
  return `sparsity-${String(Number(s.toFixed(2)))
    .replace('.', 'p')
    .padStart(3, '0')}`;
}

export async function pruneStudy(runDir: string, o: PruneStudyOptions = {}): Promise<PruneStudyResult> {
  const progress = o.progress ?? silent;
  const run = await openRun(runDir);
  const ck = checkpointOf(run, o.checkpoint);
  const grid = surfaceGrid({ x: o.x ?? run.cfg.surface.x, y: o.y === undefined ? run.cfg.surface.y : o.y });
  const scope = o.scope ?? 'global';
  const steps = o.finetune ?? 0;
  const sparsities = o.sparsities ?? [0, 50, 80, 90];
  const out = o.out ?? join(runDir, 'studies', `prune-${scope}-ckpt-${String(ck.index).padStart(4, '0')}`);
  const layout = run.model.layout;
  const optimizer = { ...run.cfg.train.optimizer, ...(o.lr !== undefined ? { lr: o.lr } : {}) };
  const sharp = o.sharpness === false ? false : { ...DEFAULT_STUDY_SHARPNESS, ...(o.sharpness ?? {}) };
  const d = run.cfg.directions;
  mkdirSync(out, { recursive: true });

  const evalEngine = await runEngine(run, run.data.evalSubset, { backend: o.backend }, progress.warn);
  const testSubsetEngine = run.data.testSubset ? await runEngine(run, run.data.testSubset, { backend: o.backend }, progress.warn) : undefined;
  const fullTrain = await runEngine(run, run.data.train, { backend: o.backend, mode: 'eval' }, progress.warn);
  const fullTest = await runEngine(run, run.data.test, { backend: o.backend, mode: 'eval' }, progress.warn);
  const sharpEngine =
    run.cfg.surface.mode === 'eval' ? evalEngine : await runEngine(run, run.data.evalSubset, { backend: o.backend, mode: 'eval' }, progress.warn);
  const rows: PruneRow[] = [];
  try {
    for (const s of sparsities) {
      const name = sparsityName(s);
      const folder = join(out, name);
      mkdirSync(join(folder, 'surfaces'), { recursive: true });
      const settings = {
        run: run.manifest.configHash,
        checkpoint: ck.index,
        s,
        scope,
        steps,
        optimizer,
        seed: run.cfg.train.seed,
        sharp,
        grid: [grid.x, grid.y ?? null],
        dir: d,
      };
      const key = hashJSON(settings);
      const cache = join(folder, 'result.json');
      if (!o.fresh && existsSync(cache)) {
        const old = JSON.parse(readFileSync(cache, 'utf8')) as { key: string; row: PruneRow };
        if (old.key === key) {
          progress.log(`${name}: done, skipped`);
          rows.push(old.row);
          continue;
        }
      }
      const pm = magnitudeMask(ck.theta, layout, s, scope);
      let theta = applyMask(ck.theta, pm.mask);
      if (steps > 0) {
        const task = progress.task(`fine-tune ${s}%`, steps, 'steps');
        theta = (
          await finetuneMasked({
            model: run.model,
            train: run.data.train,
            theta,
            mask: pm.mask,
            steps,
            batchSize: run.cfg.train.batchSize,
            optimizer,
            seed: run.cfg.train.seed,
            onStep: (k, _n, l) => task.update(k, `loss ${l.toFixed(4)}`),
          })
        ).theta;
        task.end();
      }
      const zeroed = zeroCount(theta, layout);
      if (zeroed < pm.pruned) throw new Error(`internal: ${pm.pruned} weights were pruned but only ${zeroed} are zero`);
      await writeH5(
        join(folder, 'pruned.h5'),
        {
          theta: { data: theta },
          mask: { data: pm.mask },
        },
        {
          sparsity: s,
          scope,
          eligible: pm.eligible,
          pruned: pm.pruned,
          finetune_steps: steps,
          eligible_tensors: prunableEntries(layout)
            .map((e) => e.name)
            .join(','),
        },
      );

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
      const centre = await evalEngine.evaluate(theta);
      const task = progress.task(`landscape ${s}%`, gridSize(grid), 'points');
      const engines: { train: LossEngine; test?: LossEngine } = { train: evalEngine, test: testSubsetEngine };
      await computeSurface({
        theta,
        dx: plane.dx,
        dy,
        grid,
        engines,
        path: join(folder, surf),
        context: { kind: 'prune', key, theta: hashBytes(theta) },
        chunkSize: run.cfg.surface.chunk,
        fresh: true,
        attrs: {
          checkpoint: ck.index,
          step: ck.step,
          epoch: ck.epoch,
          dir_file: dirRel,
          sparsity: s,
          scope,
          finetune_steps: steps,
          center_loss: centre.loss,
          center_acc: centre.acc,
        },
        onProgress: (p) => task.update(p.done),
      });
      task.end();
      const tr = await fullTrain.evaluate(theta);
      const te = await fullTest.evaluate(theta);
      const sh = await measureSharpness(sharpEngine, theta, sharp);
      const row: PruneRow = {
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
        folder: name,
      };
      if (grid.y) {
        writeDerivedRun(folder, {
          source: run.manifest,
          sourceDir: runDir,
          name: `${s}% pruned (${scope})${steps ? `, ${steps} fine-tune steps` : ''}`,
          kind: 'prune',
          note: `checkpoint ${ck.index} magnitude-pruned to ${s}% of the eligible weights (${scope}); directions restricted to the surviving weights`,
          frames: [{ checkpoint: ck.index, surface: surf, directions: dirRel, center_loss: centre.loss, center_acc: centre.acc, cosine: plane.cosine }],
          checkpoints: [{ index: ck.index, step: ck.step, epoch: ck.epoch, train_loss: tr.loss, train_acc: tr.acc, test_loss: te.loss, test_acc: te.acc }],
          extra: { sparsity: s, scope, finetune: steps },
        });
      }
      writeJson(cache, { key, row });
      rows.push(row);
    }
  } finally {
    for (const e of new Set([evalEngine, testSubsetEngine, fullTrain, fullTest, sharpEngine])) await e?.dispose();
  }
  const tables = writePruneTables(out, rows, {
    run: run.manifest.name,
    checkpoint: ck.index,
    axes: `${formatAxis(grid.x)}${grid.y ? ` × ${formatAxis(grid.y)}` : ''}`,
    scope,
    steps,
    tensors: prunableEntries(layout).map((e) => e.name),
    sharp,
  });
  const figure = grid.y ? await tryFigure(progress.warn, () => pruneFigure(out, rows, Boolean(o.png))) : undefined;
  return { out, rows, checkpoint: ck.index, tables, figure };
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
