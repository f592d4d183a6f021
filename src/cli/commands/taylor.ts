import type { Command } from 'commander';
import { taylorStudy } from '../../studies/taylor.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface TaylorFlags {
  checkpoint?: string;
  x?: string;
  y?: string;
  tol?: string;
  dtype?: string;
  backend?: string;
  out?: string;
  fresh?: boolean;
  png?: boolean;
}

export function register(program: Command): void {
  program
    .command('taylor')
    .summary('second-order Taylor model beside the real landscape, and where they agree')
    .description(
      'Q(α, β) = L + α·gᵀδ + β·gᵀη + ½(α²·δᵀHδ + 2αβ·δᵀHη + β²·ηᵀHη) from one gradient and two HVPs at the\n' +
        "checkpoint, on the same plane (the run's directions) and grid as the real landscape L. Writes\n" +
        '<out>/taylor.h5 (train_loss, taylor_loss, taylor_relerr, taylor_agree), summary.{md,csv,json} and two\n' +
        'one-frame runs <out>/real and <out>/quadratic for the viewer.\n' +
        'Examples:\n' +
        '  losscape taylor runs/demo\n' +
        '  losscape taylor runs/demo --checkpoint 0 --x -2:2:41 --y -2:2:41 --tol 0.05\n' +
        '  losscape view runs/demo/studies/taylor-ckpt-0008/real runs/demo/studies/taylor-ckpt-0008/quadratic',
    )
    .argument('<run>', 'run folder')
    .option('--checkpoint <k>', 'checkpoint index (default: the last)')
    .option('--x <min:max:n>', "x axis (default: the run's surface grid)")
    .option('--y <min:max:n>', 'y axis')
    .option('--tol <fraction>', 'agreement tolerance |Q − L| ≤ tol·|L|', '0.1')
    .option('--dtype <type>', 'float32 or float64 engine', 'float32')
    .option('--backend <name>', 'auto, jax or onnx')
    .option('--out <dir>', 'output folder (default <run>/studies/taylor-ckpt-K)')
    .option('--fresh', 'recompute results computed with other settings')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (run: string, f: TaylorFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const r = await taylorStudy(run, {
        checkpoint: numberFlag(f.checkpoint, '--checkpoint', { integer: true, min: 0 }),
        x: f.x,
        y: f.y,
        tol: numberFlag(f.tol, '--tol', { min: 0 }),
        dtype: choiceFlag(f.dtype, '--dtype', ['float32', 'float64'] as const),
        backend: choiceFlag(f.backend, '--backend', ['auto', 'jax', 'onnx'] as const),
        out: f.out,
        fresh: f.fresh,
        progress: ctx.progress,
        png: f.png,
      });
      if (r.figure) ctx.progress.log(`figure: ${r.figure.png ?? r.figure.svg}`);
      const c = r.coefficients;
      const s = r.summary;
      ctx.progress.log(
        `checkpoint ${r.checkpoint}: L ${c.loss.toPrecision(5)}, gᵀδ ${c.gd.toPrecision(4)}, gᵀη ${c.ge.toPrecision(4)}, δᵀHδ ${c.dHd.toPrecision(4)}, δᵀHη ${c.dHe.toPrecision(4)}, ηᵀHη ${c.eHe.toPrecision(4)}`,
      );
      ctx.progress.log(
        `the quadratic model agrees within ${100 * Number(f.tol ?? 0.1)} % on ${(100 * s.agreeFraction).toFixed(1)} % of the grid; every point agrees up to radius ${s.agreeRadius.toPrecision(3)}` +
          (Number.isFinite(s.firstBreak) ? ` (first break at ${s.firstBreak.toPrecision(3)})` : ' (no break on this grid)') +
          `; max relative error ${s.maxRelErr.toPrecision(3)}`,
      );
      ctx.progress.log(`view: losscape view ${r.out}/real ${r.out}/quadratic`);
      ctx.out(`taylor: ${r.out}/taylor.h5 agree ${s.agreeFraction.toFixed(4)} radius ${s.agreeRadius.toPrecision(4)}`);
    });
}
