/**
 * `losscape fidelity <run>`, `study: fidelity`: the landscape of one
 * checkpoint on subsets of the training split against the whole split.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { defineRunStudy } from '../definition.js';
import { parseList, parseSize, parseSizes } from '../parse.js';
import { backendFlag, checkpointFlag, freshFlag, outFlag, RUN_STUDY_KEYS, xFlag, yFlag } from '../run-options.js';
import { fidelityFigure } from './figure.js';
import { fidelityStudy } from './study.js';

export const fidelity = defineRunStudy({
  kind: 'fidelity',
  label: 'fidelity',
  input: 'run',
  spec: z
    .object({
      sizes: z
        .array(z.union([z.string(), z.number()]))
        .min(1)
        .default(['1%', '2%', '5%', '10%', '20%']),
      seeds: z.array(z.number().int().min(0)).min(1).optional(),
      ...RUN_STUDY_KEYS,
    })
    .strict(),
  compute: fidelityStudy,
  configOptions: ({ sizes, ...spec }, s) => ({
    ...spec,
    sizes: sizes?.map((v) => (typeof v === 'number' ? v : parseSize(v))),
    out: join(s.out, 'fidelity'),
    fresh: s.fresh,
    progress: s.progress,
  }),
  figure: (r, png) => fidelityFigure(r.out, r.rows, png),
  report(r, io) {
    for (const row of r.rows)
      io.log(`${row.size} (${row.samples}): max rel. error ${(100 * row.maxRelErr).toPrecision(3)} %, mean ${(100 * row.meanRelErr).toPrecision(3)} %`);
    io.out(`study: ${r.tables.md}`);
  },
  command: {
    summary: 'landscape on subsets vs the whole training split: relative error per subset size',
    description:
      'Compute the landscape of one checkpoint on the whole training split and on fixed stratified subsets of it (same θ, directions and grid), and tabulate the max and mean relative loss error per subset size (<out>/fidelity.csv, fidelity.md). Checks how small an evaluation subset may be.\n' +
      'Examples:\n' +
      '  losscape fidelity runs/demo\n' +
      '  losscape fidelity runs/demo --sizes 1%,2%,5%,10%,20% --seeds 0,1,2 --x -1:1:21 --y -1:1:21',
    flags: [
      checkpointFlag,
      {
        flags: '--sizes <list>',
        description: 'subset sizes: percentages, fractions, counts or all',
        default: '1%,2%,5%,10%,20%',
        key: 'sizes',
        value: { type: 'parse', parse: parseSizes },
      },
      { flags: '--seeds <list>', description: "subset seeds (default: the run's subset seed)", key: 'seeds', value: { type: 'parse', parse: parseList } },
      xFlag,
      yFlag,
      backendFlag,
      outFlag('<run>/studies/fidelity-ckpt-K'),
      freshFlag,
    ],
    print(r, io) {
      for (const row of r.rows) {
        io.log(
          `${row.size.padStart(6)} (${row.samples} samples, seed ${row.seed}): max rel. error ${(100 * row.maxRelErr).toPrecision(3)} %, mean ${(100 * row.meanRelErr).toPrecision(3)} %, max |Δacc| ${row.maxAccDiff.toFixed(2)} pp`,
        );
      }
      io.out(`fidelity: ${r.tables.md}`);
    },
  },
});
