import type { Command } from 'commander';
import { parseList } from '../../studies/common.js';
import { pruneStudy } from '../../studies/prune.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';
import { addSharpnessOptions, type SharpnessFlags, sharpnessFlags } from './study.js';

interface PruneFlags extends SharpnessFlags {
  sparsity: string;
  scope: string;
  finetune: string;
  lr?: string;
  checkpoint?: string;
  x?: string;
  y?: string;
  backend?: string;
  out?: string;
  fresh?: boolean;
  png?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('prune')
    .summary('magnitude pruning at several sparsities: landscapes on the surviving weights and a table')
    .description(
      'Zero exactly s % of the eligible weights (weight tensors with more than one dimension; biases and batch\n' +
        'norm are kept) by magnitude, globally or per layer, optionally fine-tune N steps with the masks fixed,\n' +
        "and compute each pruned network's landscape with directions restricted to the surviving weights.\n" +
        'Writes <out>/prune.{csv,md} (loss, accuracy, sharpness per sparsity) and one run folder per sparsity.\n' +
        'Examples:\n' +
        '  losscape prune runs/demo --sparsity 0,50,80,90\n' +
        '  losscape prune runs/demo --sparsity 0,90,95 --scope layer --finetune 200 --lr 0.01',
    )
    .argument('<run>', 'run folder')
    .option('--sparsity <list>', 'sparsities in percent', '0,50,80,90')
    .option('--scope <scope>', 'global (one threshold) or layer (the same share of every tensor)', 'global')
    .option('--finetune <steps>', 'fine-tuning steps with fixed masks', '0')
    .option('--lr <rate>', "fine-tuning learning rate (default: the run's)")
    .option('--checkpoint <k>', 'checkpoint index (default: the last)')
    .option('--x <min:max:n>', "x axis (default: the run's surface grid)")
    .option('--y <min:max:n>', 'y axis');
  addSharpnessOptions(cmd)
    .option('--backend <name>', 'auto, jax or onnx')
    .option('--out <dir>', 'output folder (default <run>/studies/prune-<scope>-ckpt-K)')
    .option('--fresh', 'recompute finished sparsities')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (run: string, f: PruneFlags, c: Command) => {
      const ctx = contextOf(c);
      const r = await pruneStudy(run, {
        sparsities: parseList(f.sparsity, '--sparsity'),
        scope: choiceFlag(f.scope, '--scope', ['global', 'layer'] as const),
        finetune: numberFlag(f.finetune, '--finetune', { integer: true, min: 0 }),
        lr: numberFlag(f.lr, '--lr', { min: 0 }),
        checkpoint: numberFlag(f.checkpoint, '--checkpoint', { integer: true, min: 0 }),
        x: f.x,
        y: f.y,
        sharpness: sharpnessFlags(f),
        backend: choiceFlag(f.backend, '--backend', ['auto', 'jax', 'onnx'] as const),
        out: f.out,
        fresh: f.fresh,
        progress: ctx.progress,
        png: f.png,
      });
      if (r.figure) ctx.progress.log(`figure: ${r.figure.png ?? r.figure.svg}`);
      for (const row of r.rows) {
        ctx.progress.log(
          `${String(row.sparsity).padStart(5)} %: ${row.zeroed}/${row.eligible} eligible weights zero, train loss ${row.train_loss.toPrecision(4)} (acc ${row.train_acc.toFixed(1)}%), test loss ${row.test_loss.toPrecision(4)}` +
            (row.lambda_max !== undefined ? `, λmax ${row.lambda_max.toPrecision(4)}` : ''),
        );
      }
      ctx.progress.log(`compare: losscape view ${r.rows.map((x) => `${r.out}/${x.folder}`).join(' ')}`);
      ctx.out(`prune: ${r.tables.md}`);
    });
}
