/**
 * Comparison studies: one base run config and named variants (partial
 * overrides: batch norm on/off, dropout, skip connections, learning rate,
 * batch size, optimizer, …). Every variant is trained with the same seeds and
 * data and gets its landscape movie with the same direction seed (runPipeline
 * into <study>/<variant>/), then one summary row: final train/test loss and
 * accuracy, generalization gap, and sharpness (λmax, λmin, trace, ε-sharpness)
 * of the final checkpoint. Resumable: finished variants are skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { hashJSON } from '../../core/hash.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import { type RunConfig, resolveConfig } from '../../run/config.js';
import { runConfigHash, runPipeline } from '../../run/pipeline.js';
import { type Manifest, RunStore } from '../../store/run-store.js';
import { deepMerge, describeOverride } from '../overrides.js';
import { checkpointOf, openRun, runEngine } from '../run-access.js';
import { measureSharpness, type StudySharpness, studySharpness } from '../sharpness.js';
import { type LoadedStudy, overriddenBase } from '../study-config.js';
import { type Column, pct, type TableFiles, writeJson, writeTables } from '../tables.js';

/** Settings that must be equal in every variant (same seeds, data, directions and frames). */
const FIXED: string[][] = [['data'], ['directions'], ['surface'], ['name'], ['train', 'seed'], ['train', 'epochs'], ['train', 'checkpointEvery']];

export interface VariantPlan {
  name: string;
  override: Record<string, unknown>;
  config: RunConfig;
  dir: string;
}

export interface CompareRow {
  variant: string;
  changes: string;
  model: string;
  params: number;
  checkpoints: number;
  steps: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  /** test_loss − train_loss. */
  gap_loss: number;
  /** train_acc − test_acc (percentage points). */
  gap_acc: number;
  lambda_max?: number;
  lambda_min?: number;
  trace?: number;
  trace_stderr?: number;
  eps_sharpness?: number;
  hvps?: number;
  /** Mean loss on the evaluation subset at the final checkpoint (what the sharpness measures see). */
  subset_loss?: number;
}

export interface CompareResult {
  out: string;
  rows: CompareRow[];
  variants: VariantPlan[];
  /** The study's tables; none when only some variants were asked for (`variants`). */
  tables?: TableFiles;
  report?: string;
  skipped: string[];
}

function getPath(o: unknown, path: string[]): unknown {
  let v = o;
  for (const k of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Resolve every variant's run config (base ⊕ override), refusing overrides of the shared settings. */
export function planVariants(study: LoadedStudy, out: string): VariantPlan[] {
  const base = overriddenBase(study);
  const plans: VariantPlan[] = [];
  for (const [name, override] of Object.entries(study.config.variants ?? {})) {
    for (const p of FIXED) {
      if (getPath(override, p) !== undefined) {
        throw new LosscapeError(
          'input',
          `${study.source}: variants.${name}.${p.join('.')}: the variants of a comparison share ${p.join('.')} (same seeds, data and frames); change it in the base config`,
        );
      }
    }
    const raw = deepMerge(base, override) as Record<string, unknown>;
    raw.name = name;
    const config = resolveConfig(raw, `${study.source}: variants.${name}`);
    plans.push({ name, override, config, dir: join(out, name) });
  }
  return plans;
}

export interface CompareOptions {
  out: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Override the study's report setting. */
  report?: boolean;
  /** Only these variants: train and summarize them, write no tables, report or figure. */
  variants?: string[];
}

export async function compareStudy(study: LoadedStudy, o: CompareOptions): Promise<CompareResult> {
  const progress = o.progress ?? silent;
  const all = planVariants(study, o.out);
  const plans = o.variants ? selectVariants(all, o.variants) : all;
  const sharp = studySharpness(study.config.sharpness);
  warnUnsynchronized(all, progress);
  writeJson(join(o.out, 'study.json'), {
    study: 'compare',
    name: study.config.name,
    source: study.source,
    sharpness: sharp,
    variants: all.map((p) => ({ name: p.name, override: p.override, config: p.config })),
  });
  const rows: CompareRow[] = [];
  const skipped: string[] = [];
  for (const p of plans) {
    if (await trainVariant(p, Boolean(o.fresh), progress)) skipped.push(p.name);
    rows.push(await summarize(p, sharp, Boolean(o.fresh), progress));
  }
  if (o.variants) return { out: o.out, rows, variants: plans, skipped };
  const report = (o.report ?? study.config.report) ? await writeVariantsReport(plans, o.out, progress) : undefined;
  const tables = writeCompareTables(o.out, study, rows, sharp);
  return { out: o.out, rows, variants: plans, tables, report, skipped };
}

/** The plans of the named variants, in the study's order; an unknown name is a usage error naming the study's. */
function selectVariants(plans: VariantPlan[], names: string[]): VariantPlan[] {
  const known = new Set(plans.map((p) => p.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new LosscapeError('usage', `--variant ${unknown[0] ?? '""'}: not a variant of this study (its variants: ${[...known].join(', ')})`);
  }
  return plans.filter((p) => names.includes(p.name));
}

function warnUnsynchronized(plans: VariantPlan[], progress: ProgressSink): void {
  const c0 = plans[0]!.config.train;
  if (c0.checkpointEvery !== 'epoch' && new Set(plans.map((p) => p.config.train.batchSize)).size > 1) {
    progress.warn(
      "checkpoints every N steps with different batch sizes: the variants' frames fall at different epochs (use checkpointEvery: epoch to synchronize the movies)",
    );
  }
}

/** Train a variant (runPipeline, resumable); true when it was already complete and is skipped. */
async function trainVariant(p: VariantPlan, fresh: boolean, progress: ProgressSink): Promise<boolean> {
  const store = new RunStore(p.dir);
  const done = store.exists() && isComplete(store.readManifest(), p.config);
  if (done && !fresh) {
    progress.log(`${p.name}: trained, skipped`);
    return true;
  }
  progress.log(`${p.name}: ${describeOverride(p.override) || 'the base config'}`);
  await runPipeline(p.config, p.dir, { fresh, progress });
  return false;
}

/** <out>/report.html: the viewer with all variants side by side (a failure is a warning). */
async function writeVariantsReport(plans: VariantPlan[], out: string, progress: ProgressSink): Promise<string | undefined> {
  try {
    const { writeReport } = await import('../../viewer/server/report.js');
    const r = await writeReport(
      plans.map((p) => p.dir),
      join(out, 'report.html'),
    );
    return r.path;
  } catch (e) {
    progress.warn(`no report.html (${(e as Error).message.split('\n')[0]}); view the variants with: losscape view ${plans.map((p) => p.dir).join(' ')}`);
    return undefined;
  }
}

function isComplete(m: Manifest, cfg: RunConfig): boolean {
  return m.status === 'complete' && m.configHash === runConfigHash(cfg);
}

/** One row from a finished variant: the manifest's final metrics and sharpness (cached per settings). */
async function summarize(p: VariantPlan, sharp: StudySharpness | false, fresh: boolean, progress: ProgressSink): Promise<CompareRow> {
  const m = new RunStore(p.dir).readManifest();
  const last = [...m.checkpoints].sort((a, b) => a.index - b.index).pop();
  if (!last) throw new LosscapeError('input', `${p.dir}: no checkpoints`);
  const row: CompareRow = {
    variant: p.name,
    changes: describeOverride(p.override) || '(base)',
    model: m.model.name,
    params: m.model.params,
    checkpoints: m.checkpoints.length,
    steps: last.step,
    train_loss: last.train_loss,
    train_acc: last.train_acc,
    test_loss: last.test_loss ?? Number.NaN,
    test_acc: last.test_acc ?? Number.NaN,
    gap_loss: (last.test_loss ?? Number.NaN) - last.train_loss,
    gap_acc: last.train_acc - (last.test_acc ?? Number.NaN),
  };
  if (sharp === false) return row;
  const cache = join(p.dir, 'study-sharpness.json');
  const key = hashJSON({ config: m.configHash, checkpoint: last.index, sharp });
  if (!fresh && existsSync(cache)) {
    const old = JSON.parse(readFileSync(cache, 'utf8')) as { key: string; result: Partial<CompareRow> };
    if (old.key === key) return { ...row, ...old.result };
  }
  const s = await variantSharpness(p.dir, sharp, progress);
  const result: Partial<CompareRow> = {
    lambda_max: s.lambdaMax,
    lambda_min: s.lambdaMin,
    trace: s.trace,
    trace_stderr: s.traceStderr,
    eps_sharpness: s.epsSharpness,
    hvps: s.hvps,
    subset_loss: s.loss,
  };
  writeJson(cache, { key, checkpoint: last.index, sharpness: sharp, result });
  return { ...row, ...result };
}

/**
 * Sharpness of a run's final checkpoint as the study computes it: on the
 * run's evaluation subset, eval mode, the run's engine backend.
 */
export async function variantSharpness(runDir: string, sharp: StudySharpness, progress: ProgressSink = silent) {
  const run = await openRun(runDir);
  const ck = checkpointOf(run);
  const engine = await runEngine(run, run.data.evalSubset, { mode: 'eval' }, progress.warn);
  try {
    const task = progress.task(`sharpness ${run.manifest.name}`, 1, 'runs');
    const s = await measureSharpness(engine, ck.theta, sharp);
    task.update(1);
    task.end();
    return s!;
  } finally {
    await engine.dispose();
  }
}

function writeCompareTables(out: string, study: LoadedStudy, rows: CompareRow[], sharp: StudySharpness | false) {
  const cols: Column<CompareRow>[] = [
    { key: 'variant', value: (r) => r.variant },
    { key: 'changes', value: (r) => r.changes },
    { key: 'params', value: (r) => r.params, fmt: (v) => String(v) },
    { key: 'steps', value: (r) => r.steps, fmt: (v) => String(v) },
    { key: 'train_loss', title: 'train loss', value: (r) => r.train_loss },
    { key: 'train_acc', title: 'train acc %', value: (r) => r.train_acc, fmt: pct(1) },
    { key: 'test_loss', title: 'test loss', value: (r) => r.test_loss },
    { key: 'test_acc', title: 'test acc %', value: (r) => r.test_acc, fmt: pct(1) },
    { key: 'gap_loss', title: 'gap (loss)', value: (r) => r.gap_loss },
    { key: 'gap_acc', title: 'gap (acc pp)', value: (r) => r.gap_acc, fmt: pct(1) },
  ];
  if (sharp !== false) {
    cols.push(
      { key: 'lambda_max', title: 'λmax', value: (r) => r.lambda_max },
      { key: 'lambda_min', title: 'λmin', value: (r) => r.lambda_min },
      { key: 'trace', title: 'tr H', value: (r) => r.trace },
      { key: 'trace_stderr', title: '± (tr)', value: (r) => r.trace_stderr },
      { key: 'eps_sharpness', title: 'ε-sharpness %', value: (r) => r.eps_sharpness },
    );
  }
  const dirs = rows.map((r) => join(out, r.variant));
  return writeTables(join(out, 'summary'), cols, rows, {
    title: `Study ${study.config.name}`,
    intro: [
      ...(study.config.description ? [study.config.description] : []),
      `Variants of ${typeof study.config.base === 'string' ? study.config.base : 'the inline base config'}, trained with the same seeds and data; landscape movies with the same direction seed (runs in ${resolve(out)}).`,
    ],
    notes: [
      'Loss and accuracy: final checkpoint, full train and test splits, eval mode; gap = test − train loss, train − test accuracy.',
      ...(sharp !== false
        ? [
            `Sharpness of the final checkpoint on each run's evaluation subset (eval mode, ${sharp.params === 'ndim>1' ? 'weight tensors with > 1 dim' : 'all parameters'}): λmax and λmin by Lanczos (tol ${sharp.tol}), trace by Hutchinson (${sharp.traceProbes} probes, ± one standard error), ε-sharpness (Keskar et al., ε = ${sharp.epsilon}) in percent; seed ${sharp.seed}.`,
          ]
        : []),
      `Side by side: \`losscape view ${dirs.join(' ')}\`${existsSync(join(out, 'report.html')) ? ' or open report.html' : ''}.`,
    ],
  });
}
