import type { Command } from 'commander';
import { modesStudy } from '../../studies/modes.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface ModesFlags {
  checkpoint?: string;
  x?: string;
  y?: string;
  backend?: string;
  out?: string;
  fresh?: boolean;
  png?: boolean;
}

export function register(program: Command): void {
  program
    .command('modes')
    .summary('train-mode vs eval-mode landscape at the same checkpoint (batch statistics, dropout)')
    .description(
      'Compute the landscape of one checkpoint twice on the same plane and grid: in eval mode (running BN\n' +
        "statistics, no dropout) and in train mode (batch statistics, fixed dropout masks; the run's\n" +
        'surface.batchSize and dropoutSeed). Writes <out>/eval and <out>/train (one-frame runs to view side by\n' +
        'side), difference.h5 and modes.{md,csv} with the max/mean difference.\n' +
        'Examples:\n' +
        '  losscape modes runs/bn\n' +
        '  losscape view runs/bn/studies/modes-ckpt-0008/eval runs/bn/studies/modes-ckpt-0008/train',
    )
    .argument('<run>', 'run folder')
    .option('--checkpoint <k>', 'checkpoint index (default: the last)')
    .option('--x <min:max:n>', "x axis (default: the run's surface grid)")
    .option('--y <min:max:n>', 'y axis')
    .option('--backend <name>', 'auto, jax or onnx')
    .option('--out <dir>', 'output folder (default <run>/studies/modes-ckpt-K)')
    .option('--fresh', 'recompute results computed with other settings')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (run: string, f: ModesFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const r = await modesStudy(run, {
        checkpoint: numberFlag(f.checkpoint, '--checkpoint', { integer: true, min: 0 }),
        x: f.x,
        y: f.y,
        backend: choiceFlag(f.backend, '--backend', ['auto', 'jax', 'onnx'] as const),
        out: f.out,
        fresh: f.fresh,
        progress: ctx.progress,
        png: f.png,
      });
      if (r.figure) ctx.progress.log(`figure: ${r.figure.png ?? r.figure.svg}`);
      for (const row of r.rows)
        ctx.progress.log(
          `${row.mode.padEnd(5)} mode: L(θ) ${row.centre.toPrecision(5)} (acc ${row.centreAcc.toFixed(1)}%), grid ${row.min.toPrecision(4)} … ${row.max.toPrecision(4)}`,
        );
      ctx.progress.log(
        `|train − eval|: max ${r.diff.maxAbs.toPrecision(4)}, mean ${r.diff.meanAbs.toPrecision(4)} (relative: max ${(100 * r.diff.maxRel).toPrecision(3)} %, mean ${(100 * r.diff.meanRel).toPrecision(3)} %)`,
      );
      ctx.progress.log(`show both: losscape view ${r.out}/eval ${r.out}/train`);
      ctx.out(`modes: ${r.tables.md}`);
    });
}
