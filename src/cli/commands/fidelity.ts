import type { Command } from 'commander';
import { parseList, parseSize } from '../../studies/common.js';
import { fidelityStudy } from '../../studies/fidelity.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface FidelityFlags {
  checkpoint?: string;
  sizes: string;
  seeds?: string;
  x?: string;
  y?: string;
  backend?: string;
  out?: string;
  fresh?: boolean;
  png?: boolean;
}

export function register(program: Command): void {
  program
    .command('fidelity')
    .summary('landscape on subsets vs the whole training split: relative error per subset size')
    .description(
      'Compute the landscape of one checkpoint on the whole training split and on fixed stratified subsets of\n' +
        'it (same θ, directions and grid), and tabulate the max and mean relative loss error per subset size\n' +
        '(<out>/fidelity.csv, fidelity.md). Checks how small an evaluation subset may be.\n' +
        'Examples:\n' +
        '  losscape fidelity runs/demo\n' +
        '  losscape fidelity runs/demo --sizes 1%,2%,5%,10%,20% --seeds 0,1,2 --x -1:1:21 --y -1:1:21',
    )
    .argument('<run>', 'run folder')
    .option('--checkpoint <k>', 'checkpoint index (default: the last)')
    .option('--sizes <list>', 'subset sizes: percentages, fractions, counts or all', '1%,2%,5%,10%,20%')
    .option('--seeds <list>', "subset seeds (default: the run's subset seed)")
    .option('--x <min:max:n>', "x axis (default: the run's surface grid)")
    .option('--y <min:max:n>', 'y axis')
    .option('--backend <name>', 'auto, jax or onnx')
    .option('--out <dir>', 'output folder (default <run>/studies/fidelity-ckpt-K)')
    .option('--fresh', 'recompute results computed with other settings')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (run: string, f: FidelityFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const r = await fidelityStudy(run, {
        checkpoint: numberFlag(f.checkpoint, '--checkpoint', { integer: true, min: 0 }),
        sizes: f.sizes.split(',').map(parseSize),
        seeds: f.seeds === undefined ? undefined : parseList(f.seeds, '--seeds'),
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
          `${row.size.padStart(6)} (${row.samples} samples, seed ${row.seed}): max rel. error ${(100 * row.maxRelErr).toPrecision(3)} %, mean ${(100 * row.meanRelErr).toPrecision(3)} %, max |Δacc| ${row.maxAccDiff.toFixed(2)} pp`,
        );
      }
      ctx.out(`fidelity: ${r.tables.md}`);
    });
}
