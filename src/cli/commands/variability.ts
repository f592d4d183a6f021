import type { Command } from 'commander';
import { parseList } from '../../studies/common.js';
import { variabilityStudy } from '../../studies/variability.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface VariabilityFlags {
  checkpoint?: string;
  count: string;
  seeds?: string;
  radius: string;
  x?: string;
  y?: string;
  backend?: string;
  out?: string;
  fresh?: boolean;
  png?: boolean;
}

export function register(program: Command): void {
  program
    .command('variability')
    .summary('one checkpoint through K random planes: per-point spread and per-seed statistics')
    .description(
      'Compute the landscape of one checkpoint with K direction seeds (s, s+2, …; each plane uses seed and\n' +
        'seed + 1), the per-point min / median / max of the loss (<out>/spread.h5), and a table of per-seed\n' +
        'statistics: loss at a fixed radius along ±δ, ±η, grid mean and max, curvature along each direction\n' +
        '(exact δᵀHδ by HVP and finite differences) (<out>/variability.{csv,md}). Each seed is a one-frame run.\n' +
        'Examples:\n' +
        '  losscape variability runs/demo --count 5\n' +
        '  losscape variability runs/demo --seeds 1,3,5,7 --radius 0.25 --x -1:1:31 --y -1:1:31',
    )
    .argument('<run>', 'run folder')
    .option('--checkpoint <k>', 'checkpoint index (default: the last)')
    .option('--count <K>', "number of planes (seeds from the run's direction seed, step 2)", '5')
    .option('--seeds <list>', 'explicit direction seeds instead of --count')
    .option('--radius <r>', 'radius of the fixed-radius loss and the finite-difference curvature', '0.5')
    .option('--x <min:max:n>', "x axis (default: the run's surface grid)")
    .option('--y <min:max:n>', 'y axis')
    .option('--backend <name>', 'auto, jax or onnx')
    .option('--out <dir>', 'output folder (default <run>/studies/variability-ckpt-K)')
    .option('--fresh', 'recompute results computed with other settings')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (run: string, f: VariabilityFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const r = await variabilityStudy(run, {
        checkpoint: numberFlag(f.checkpoint, '--checkpoint', { integer: true, min: 0 }),
        count: numberFlag(f.count, '--count', { integer: true, min: 2 }),
        seeds: f.seeds === undefined ? undefined : parseList(f.seeds, '--seeds'),
        radius: numberFlag(f.radius, '--radius', { min: 0 }),
        x: f.x,
        y: f.y,
        backend: choiceFlag(f.backend, '--backend', ['auto', 'jax', 'onnx'] as const),
        out: f.out,
        fresh: f.fresh,
        progress: ctx.progress,
        png: f.png,
      });
      if (r.figure) ctx.progress.log(`figure: ${r.figure.png ?? r.figure.svg}`);
      for (const row of r.rows) {
        ctx.progress.log(
          `seed ${row.seed}: L at r ${row.atRadius.toPrecision(4)}, δᵀHδ ${row.curvD.toPrecision(4)}, ηᵀHη ${row.curvE.toPrecision(4)}, grid max ${row.gridMax.toPrecision(4)}`,
        );
      }
      ctx.progress.log(
        `per-point spread (max − min over seeds): max ${r.spread.max.toPrecision(4)}, mean ${r.spread.mean.toPrecision(4)} (${(100 * r.spread.meanRel).toPrecision(3)} % of the median on average)`,
      );
      ctx.out(`variability: ${r.tables.md}`);
    });
}
