import { join } from 'node:path';
import type { Command } from 'commander';
import { loadStudyFile } from '../../studies/config.js';
import { PROJECTION_NOTE } from '../../studies/pca.js';
import type { StudySharpness } from '../../studies/run-access.js';
import { runStudy, type StudyResult } from '../../studies/study.js';
import { type CliContext, contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

export interface SharpnessFlags {
  sharpness: boolean;
  epsilon?: string;
  traceProbes?: string;
  hessianTol?: string;
  hessianParams?: string;
  sharpnessSeed?: string;
}

export function addSharpnessOptions(cmd: Command): Command {
  return cmd
    .option('--no-sharpness', 'skip λmax, trace and ε-sharpness')
    .option('--epsilon <ε>', 'ε of ε-sharpness (box |δ_i| ≤ ε(|θ_i| + 1))', '1e-3')
    .option('--trace-probes <n>', 'Hutchinson probes for the Hessian trace', '30')
    .option('--hessian-tol <tol>', 'Lanczos tolerance', '1e-4')
    .option('--hessian-params <which>', 'all or ndim>1', 'all')
    .option('--sharpness-seed <n>', 'seed of the sharpness measures', '0');
}

export function sharpnessFlags(f: SharpnessFlags): StudySharpness | false {
  if (!f.sharpness) return false;
  return {
    epsilon: numberFlag(f.epsilon, '--epsilon', { min: 0 }),
    traceProbes: numberFlag(f.traceProbes, '--trace-probes', { integer: true, min: 1 }),
    tol: numberFlag(f.hessianTol, '--hessian-tol', { min: 0 }),
    params: choiceFlag(f.hessianParams, '--hessian-params', ['all', 'ndim>1'] as const),
    seed: numberFlag(f.sharpnessSeed, '--sharpness-seed', { integer: true, min: 0 }),
  };
}

export function register(program: Command): void {
  program
    .command('study')
    .summary('run a study from one config: compare variants, PCA, modes, pruning, variability, fidelity, Taylor')
    .description(
      'One config (YAML or JSON), one command. "study: compare" trains a base run config and its variants\n' +
        '(partial overrides) with the same seeds and data, computes their landscape movies with the same\n' +
        'direction seed and writes <out>/summary.{csv,md} (final loss/accuracy, generalization gap, λmax, trace,\n' +
        'ε-sharpness) and report.html (all variants side by side). The other kinds (pca, modes, prune,\n' +
        'variability, fidelity, taylor) study one run: "run: <folder>" or a "base" config trained into <out>/run.\n' +
        'Reruns skip finished variants and resume unfinished ones. See docs/studies.md and examples/.\n' +
        'Examples:\n' +
        '  losscape study examples/bn-vs-none.yaml\n' +
        '  losscape study examples/pca-trajectory.yaml --out studies/pca',
    )
    .argument('<config>', 'study config (.yaml, .yml or .json)')
    .option('--out <dir>', 'output folder (default studies/<name>)')
    .option('--fresh', 'discard runs and results made with other settings, and recompute the sharpness')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (configPath: string, o: { out?: string; fresh?: boolean; png?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const s = loadStudyFile(configPath);
      const out = o.out ?? join('studies', s.config.name);
      const r = await runStudy(s, { out, fresh: o.fresh, progress: ctx.progress, png: o.png });
      if (r.result.figure) ctx.progress.log(`figure: ${r.result.figure.png ?? r.result.figure.svg}`);
      reportStudy(r, out, ctx);
    });
}

function reportStudy(r: StudyResult, out: string, ctx: CliContext): void {
  switch (r.kind) {
    case 'compare': {
      for (const row of r.result.rows) {
        ctx.progress.log(
          `${row.variant}: train loss ${row.train_loss.toPrecision(4)} (${row.train_acc.toFixed(1)}%), test loss ${row.test_loss.toPrecision(4)} (${row.test_acc.toFixed(1)}%), gap ${row.gap_loss.toPrecision(3)}` +
            (row.lambda_max !== undefined
              ? `, λmax ${row.lambda_max.toPrecision(4)}, tr H ${row.trace!.toPrecision(4)}, ε-sharpness ${row.eps_sharpness!.toPrecision(3)}%`
              : ''),
        );
      }
      const dirs = r.result.variants.map((v) => v.dir).join(' ');
      ctx.progress.log(`side by side: losscape view ${dirs}${r.result.report ? `   (or open ${r.result.report})` : ''}`);
      ctx.out(`study: ${r.result.tables.md}`);
      return;
    }
    case 'pca': {
      const [a, b] = r.result.pca.explained;
      ctx.progress.log(`explained variance PC1 ${(100 * a).toFixed(2)}%, PC2 ${(100 * b).toFixed(2)}%; ${PROJECTION_NOTE}`);
      ctx.progress.log(`view: losscape view ${r.run}  (Plane: PCA trajectory)`);
      ctx.out(`study: ${r.result.surface} (the path is a projection; contours off the plane may differ)`);
      return;
    }
    case 'modes':
      ctx.progress.log(
        `|train − eval| max ${r.result.diff.maxAbs.toPrecision(4)}, mean ${r.result.diff.meanAbs.toPrecision(4)}; view: losscape view ${r.result.out}/eval ${r.result.out}/train`,
      );
      ctx.out(`study: ${r.result.tables.md}`);
      return;
    case 'prune':
      ctx.progress.log(`view: losscape view ${r.result.rows.map((x) => `${r.result.out}/${x.folder}`).join(' ')}`);
      ctx.out(`study: ${r.result.tables.md}`);
      return;
    case 'variability':
      ctx.progress.log(
        `per-point spread over ${r.result.seeds.length} planes: max ${r.result.spread.max.toPrecision(4)}, mean ${r.result.spread.mean.toPrecision(4)}`,
      );
      ctx.out(`study: ${r.result.tables.md}`);
      return;
    case 'fidelity':
      for (const row of r.result.rows)
        ctx.progress.log(
          `${row.size} (${row.samples}): max rel. error ${(100 * row.maxRelErr).toPrecision(3)} %, mean ${(100 * row.meanRelErr).toPrecision(3)} %`,
        );
      ctx.out(`study: ${r.result.tables.md}`);
      return;
    case 'taylor':
      ctx.progress.log(
        `quadratic model agrees on ${(100 * r.result.summary.agreeFraction).toFixed(1)} % of the grid, radius ${r.result.summary.agreeRadius.toPrecision(3)}`,
      );
      ctx.out(`study: ${join(r.result.out, 'summary.md')}`);
      return;
  }
  void out;
}
