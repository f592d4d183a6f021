/**
 * The study commands, built from the study registry: `losscape study <config>`
 * (any kind, from one config) and one command per single-run study on a run
 * folder (`losscape pca <run>`, …) with the flags, defaults, help and output
 * lines its definition gives.
 */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { STUDY_SHARPNESS_DEFAULTS } from '../../hessian/sharpness.js';
import { loadStudyFile } from '../../studies/config.js';
import type { RunStudy, SharpnessFlags, StudyFlag, StudyOutput } from '../../studies/definition.js';
import { STUDIES } from '../../studies/registry.js';
import type { StudySharpness } from '../../studies/sharpness.js';
import { drawFigure, runStudy } from '../../studies/study.js';
import { type CliContext, contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

const PNG_HELP = 'also render figure.png (headless Chromium); figure.svg is always written';

export function register(program: Command): void {
  for (const s of STUDIES) if (s.input === 'run') registerRunStudy(program, s);
  registerStudy(program);
}

function output(ctx: CliContext): StudyOutput {
  return { log: (line) => ctx.progress.log(line), out: ctx.out };
}

function registerStudy(program: Command): void {
  program
    .command('study')
    .summary(`run a study from one config: ${STUDIES.map((s) => s.label).join(', ')}`)
    .description(
      'One config (YAML or JSON), one command. "study: compare" trains a base run config and its variants (partial overrides) with the same seeds and data, computes their landscape movies with the same direction seed and writes <out>/summary.{csv,md} (final loss/accuracy, generalization gap, λmax, trace, ε-sharpness) and report.html (all variants side by side). ' +
        `The other kinds (${STUDIES.filter((s) => s.input === 'run')
          .map((s) => s.kind)
          .join(', ')}) study one run: "run: <folder>" or a "base" config trained into <out>/run.\n` +
        'Reruns skip finished variants and resume unfinished ones; --variant trains some of them, e.g. one per process. See docs/studies.md and examples/.\n' +
        'Examples:\n' +
        '  losscape study examples/bn-vs-none.yaml\n' +
        '  losscape study examples/pca-trajectory.yaml --out studies/pca',
    )
    .argument('<config>', 'study config (.yaml, .yml or .json)')
    .option('--out <dir>', 'output folder (default studies/<name>)')
    .option('--fresh', 'discard runs and results made with other settings, and recompute the sharpness')
    .option('--png', PNG_HELP)
    .option(
      '--variant <names>',
      'only these variants (comma-separated), trained and summarized: run one per process (with engine.threads: 1) to train variants side by side; the same command without --variant then writes the tables',
    )
    .action(async (configPath: string, o: { out?: string; fresh?: boolean; png?: boolean; variant?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const s = loadStudyFile(configPath);
      const out = o.out ?? join('studies', s.config.name);
      const variants = o.variant?.split(',').map((v) => v.trim());
      const r = await runStudy(s, { out, fresh: o.fresh, progress: ctx.progress, png: o.png, variants });
      if (r.figure) ctx.progress.log(`figure: ${r.figure.png ?? r.figure.svg}`);
      r.report(output(ctx));
    });
}

/** `losscape <kind> <run>`: the study's flags into its compute options, its figure, its lines. */
function registerRunStudy(program: Command, s: RunStudy): void {
  const c = s.command;
  const cmd = program.command(s.kind).summary(c.summary).description(c.description).argument('<run>', 'run folder');
  for (const f of c.flags) {
    if (isSharpness(f)) addSharpnessOptions(cmd);
    else cmd.addOption(flagOption(f));
  }
  cmd.option('--png', PNG_HELP).action(async (run: string, flags: Record<string, unknown>, command: Command) => {
    const ctx = contextOf(command);
    const options = { ...studyOptions(c.flags, flags), progress: ctx.progress };
    const result = await s.compute(run, options);
    const figure = await drawFigure(s, result, Boolean(flags.png), ctx.progress.warn);
    if (figure) ctx.progress.log(`figure: ${figure.png ?? figure.svg}`);
    c.print(result, output(ctx), { run, options });
  });
}

function isSharpness(f: StudyFlag | SharpnessFlags): f is SharpnessFlags {
  return 'group' in f;
}

function flagOption(f: StudyFlag): Option {
  const o = new Option(f.flags, f.description);
  return f.default === undefined ? o : o.default(f.default);
}

/** The compute options from the parsed flags, in the order of the flags (the first bad one is reported). */
function studyOptions(defs: (StudyFlag | SharpnessFlags)[], flags: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const f of defs)
    options[f.key] = isSharpness(f) ? sharpnessFlags(flags as unknown as SharpnessFlagValues) : flagValue(f, flags[flagOption(f).attributeName()]);
  return options;
}

function flagValue(f: StudyFlag, raw: unknown): unknown {
  if (!f.value || typeof raw !== 'string') return raw;
  const flag = flagOption(f).long!;
  switch (f.value.type) {
    case 'number':
      return numberFlag(raw, flag, { integer: f.value.integer, min: f.value.min });
    case 'choice':
      return choiceFlag(raw, flag, f.value.choices);
    case 'parse':
      return f.value.parse(raw, flag);
  }
}

interface SharpnessFlagValues {
  sharpness: boolean;
  epsilon?: string;
  traceProbes?: string;
  hessianTol?: string;
  hessianParams?: string;
  sharpnessSeed?: string;
}

function addSharpnessOptions(cmd: Command): Command {
  const d = STUDY_SHARPNESS_DEFAULTS;
  return cmd
    .option('--no-sharpness', 'skip λmax, trace and ε-sharpness')
    .option('--epsilon <ε>', 'ε of ε-sharpness (box |δ_i| ≤ ε(|θ_i| + 1))', d.epsilon.toExponential())
    .option('--trace-probes <n>', 'Hutchinson probes for the Hessian trace', String(d.traceProbes))
    .option('--hessian-tol <tol>', 'Lanczos tolerance', d.tol.toExponential())
    .option('--hessian-params <which>', 'all or ndim>1', d.params)
    .option('--sharpness-seed <n>', 'seed of the sharpness measures', String(d.seed));
}

function sharpnessFlags(f: SharpnessFlagValues): StudySharpness | false {
  if (!f.sharpness) return false;
  return {
    epsilon: numberFlag(f.epsilon, '--epsilon', { min: 0 }),
    traceProbes: numberFlag(f.traceProbes, '--trace-probes', { integer: true, min: 1 }),
    tol: numberFlag(f.hessianTol, '--hessian-tol', { min: 0 }),
    params: choiceFlag(f.hessianParams, '--hessian-params', ['all', 'ndim>1'] as const),
    seed: numberFlag(f.sharpnessSeed, '--sharpness-seed', { integer: true, min: 0 }),
  };
}
