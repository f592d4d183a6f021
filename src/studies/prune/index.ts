/**
 * `losscape prune <run>`, `study: prune`: magnitude pruning at several
 * sparsities, the landscapes on the surviving weights, and a table of loss,
 * accuracy and sharpness per sparsity.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { defineRunStudy } from '../definition.js';
import { parseList } from '../parse.js';
import { backendFlag, checkpointFlag, outFlag, RUN_STUDY_KEYS, xFlag, yFlag } from '../run-options.js';
import { pruneFigure } from './figure.js';
import { pruneStudy } from './study.js';

export const prune = defineRunStudy({
  kind: 'prune',
  label: 'pruning',
  input: 'run',
  spec: z
    .object({
      sparsities: z.array(z.number().min(0).max(100)).min(1).default([0, 50, 80, 90]),
      scope: z.enum(['global', 'layer']).default('global'),
      finetune: z.number().int().min(0).default(0),
      lr: z.number().positive().optional(),
      ...RUN_STUDY_KEYS,
    })
    .strict(),
  compute: pruneStudy,
  configOptions: (spec, s, study) => ({ ...spec, sharpness: study.config.sharpness, out: join(s.out, 'prune'), fresh: s.fresh, progress: s.progress }),
  figure: async (r, png) => (r.grid.y ? pruneFigure(r.out, r.rows, png) : undefined),
  report(r, io) {
    io.log(`view: losscape view ${r.rows.map((x) => `${r.out}/${x.folder}`).join(' ')}`);
    io.out(`study: ${r.tables.md}`);
  },
  command: {
    summary: 'magnitude pruning at several sparsities: landscapes on the surviving weights and a table',
    description:
      "Zero exactly s % of the eligible weights (weight tensors with more than one dimension; biases and batch norm are kept) by magnitude, globally or per layer, optionally fine-tune N steps with the masks fixed, and compute each pruned network's landscape with directions restricted to the surviving weights. Writes <out>/prune.{csv,md} (loss, accuracy, sharpness per sparsity) and one run folder per sparsity.\n" +
      'Examples:\n' +
      '  losscape prune runs/demo --sparsity 0,50,80,90\n' +
      '  losscape prune runs/demo --sparsity 0,90,95 --scope layer --finetune 200 --lr 0.01',
    flags: [
      {
        flags: '--sparsity <list>',
        description: 'sparsities in percent',
        default: '0,50,80,90',
        key: 'sparsities',
        value: { type: 'parse', parse: parseList },
      },
      {
        flags: '--scope <scope>',
        description: 'global (one threshold) or layer (the same share of every tensor)',
        default: 'global',
        key: 'scope',
        value: { type: 'choice', choices: ['global', 'layer'] },
      },
      {
        flags: '--finetune <steps>',
        description: 'fine-tuning steps with fixed masks',
        default: '0',
        key: 'finetune',
        value: { type: 'number', integer: true, min: 0 },
      },
      { flags: '--lr <rate>', description: "fine-tuning learning rate (default: the run's)", key: 'lr', value: { type: 'number', min: 0 } },
      checkpointFlag,
      xFlag,
      yFlag,
      { group: 'sharpness', key: 'sharpness' },
      backendFlag,
      outFlag('<run>/studies/prune-<scope>-ckpt-K'),
      { flags: '--fresh', description: 'recompute finished sparsities', key: 'fresh' },
    ],
    print(r, io) {
      for (const row of r.rows) {
        io.log(
          `${String(row.sparsity).padStart(5)} %: ${row.zeroed}/${row.eligible} eligible weights zero, train loss ${row.train_loss.toPrecision(4)} (acc ${row.train_acc.toFixed(1)}%), test loss ${row.test_loss.toPrecision(4)}` +
            (row.lambda_max !== undefined ? `, λmax ${row.lambda_max.toPrecision(4)}` : ''),
        );
      }
      io.log(`compare: losscape view ${r.rows.map((x) => `${r.out}/${x.folder}`).join(' ')}`);
      io.out(`prune: ${r.tables.md}`);
    },
  },
});
