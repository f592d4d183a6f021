/**
 * `losscape variability <run>`, `study: variability`: one checkpoint through K
 * random planes, the per-point spread of the landscapes and per-seed statistics.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { defineRunStudy } from '../definition.js';
import { parseList } from '../parse.js';
import { backendFlag, checkpointFlag, freshFlag, outFlag, RUN_STUDY_KEYS, xFlag, yFlag } from '../run-options.js';
import { variabilityFigure } from './figure.js';
import { variabilityStudy } from './study.js';

export const variability = defineRunStudy({
  kind: 'variability',
  label: 'variability',
  input: 'run',
  spec: z
    .object({
      count: z.number().int().min(2).default(5),
      seeds: z.array(z.number().int().min(0)).min(2).optional(),
      radius: z.number().positive().default(0.5),
      ...RUN_STUDY_KEYS,
    })
    .strict(),
  compute: variabilityStudy,
  configOptions: (spec, s) => ({ ...spec, out: join(s.out, 'variability'), fresh: s.fresh, progress: s.progress }),
  figure: (r, png) => variabilityFigure(r.out, r.seeds, png),
  report(r, io) {
    io.log(`per-point spread over ${r.seeds.length} planes: max ${r.spread.max.toPrecision(4)}, mean ${r.spread.mean.toPrecision(4)}`);
    io.out(`study: ${r.tables.md}`);
  },
  command: {
    summary: 'one checkpoint through K random planes: per-point spread and per-seed statistics',
    description:
      'Compute the landscape of one checkpoint with K direction seeds (s, s+2, …; each plane uses seed and seed + 1), the per-point min / median / max of the loss (<out>/spread.h5), and a table of per-seed statistics: loss at a fixed radius along ±δ, ±η, grid mean and max, curvature along each direction (exact δᵀHδ by HVP and finite differences) (<out>/variability.{csv,md}). Each seed is a one-frame run.\n' +
      'Examples:\n' +
      '  losscape variability runs/demo --count 5\n' +
      '  losscape variability runs/demo --seeds 1,3,5,7 --radius 0.25 --x -1:1:31 --y -1:1:31',
    flags: [
      checkpointFlag,
      {
        flags: '--count <K>',
        description: "number of planes (seeds from the run's direction seed, step 2)",
        default: '5',
        key: 'count',
        value: { type: 'number', integer: true, min: 2 },
      },
      { flags: '--seeds <list>', description: 'explicit direction seeds instead of --count', key: 'seeds', value: { type: 'parse', parse: parseList } },
      {
        flags: '--radius <r>',
        description: 'radius of the fixed-radius loss and the finite-difference curvature',
        default: '0.5',
        key: 'radius',
        value: { type: 'number', min: 0 },
      },
      xFlag,
      yFlag,
      backendFlag,
      outFlag('<run>/studies/variability-ckpt-K'),
      freshFlag,
    ],
    print(r, io) {
      for (const row of r.rows) {
        io.log(
          `seed ${row.seed}: L at r ${row.atRadius.toPrecision(4)}, δᵀHδ ${row.curvD.toPrecision(4)}, ηᵀHη ${row.curvE.toPrecision(4)}, grid max ${row.gridMax.toPrecision(4)}`,
        );
      }
      io.log(
        `per-point spread (max − min over seeds): max ${r.spread.max.toPrecision(4)}, mean ${r.spread.mean.toPrecision(4)} (${(100 * r.spread.meanRel).toPrecision(3)} % of the median on average)`,
      );
      io.out(`variability: ${r.tables.md}`);
    },
  },
});
