import type { Command } from 'commander';
import { resolveConfig } from '../../run/config.js';
import { contextOf } from '../context.js';
import { numberFlag } from '../flags.js';
import { runAndReport } from './run.js';

/** The demo: an MLP on MNIST, a 41×41 landscape at each of 11 checkpoints. */
export function demoConfig(o: { epochs?: number; grid?: number; subset?: number }) {
  const n = o.grid ?? 41;
  return resolveConfig(
    {
      name: 'demo',
      data: { source: 'mnist', testFraction: 0.2, subset: { size: o.subset ?? 0.05, seed: 0 }, testSubset: { size: o.subset ?? 0.05, seed: 0 } },
      model: { type: 'mlp', hidden: [128, 64], activation: 'relu' },
      train: { epochs: o.epochs ?? 10, batchSize: 64, optimizer: { type: 'sgd', lr: 0.02, momentum: 0.9 }, seed: 0 },
      directions: { seed: 123, norm: 'filter', ignore: 'biasbn' },
      surface: { x: `-1:1:${n}`, y: `-1:1:${n}` },
    },
    'demo',
  );
}

export function register(program: Command): void {
  program
    .command('demo')
    .summary('train an MLP on MNIST and compute its landscape movie (about a minute)')
    .description(
      'Trains an MLP 784-128-64-10 on MNIST (8,000 digits, 10 epochs) and computes the 41×41 loss landscape around the weights at every epoch on a fixed 5 % subset: a movie of the landscape in motion.',
    )
    .option('--out <dir>', 'run folder', 'runs/demo')
    .option('--epochs <n>', 'training epochs (one checkpoint per epoch)')
    .option('--grid <n>', 'points per axis of each landscape')
    .option('--subset <size>', 'evaluation subset: a count or a fraction')
    .option('--fresh', 'discard an existing run with a different config in the output folder')
    .action(async (o: { out: string; epochs?: string; grid?: string; subset?: string; fresh?: boolean }, cmd: Command) => {
      const cfg = demoConfig({
        epochs: numberFlag(o.epochs, '--epochs', { integer: true, min: 1 }),
        grid: numberFlag(o.grid, '--grid', { integer: true, min: 2 }),
        subset: numberFlag(o.subset, '--subset', { min: 0 }),
      });
      await runAndReport(cfg, o.out, Boolean(o.fresh), contextOf(cmd));
    });
}
