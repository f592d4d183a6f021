/**
 * `losscape modes <run>`, `study: modes`: the train-mode and eval-mode
 * landscapes of one checkpoint on the same plane and grid, and their difference.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { defineRunStudy } from '../definition.js';
import { backendFlag, checkpointFlag, freshFlag, outFlag, RUN_STUDY_KEYS, xFlag, yFlag } from '../run-options.js';
import { modesFigure } from './figure.js';
import { COINCIDE, modesStudy } from './study.js';

export const modes = defineRunStudy({
  kind: 'modes',
  label: 'modes',
  input: 'run',
  spec: z.object(RUN_STUDY_KEYS).strict(),
  compute: modesStudy,
  configOptions: (spec, s) => ({ ...spec, out: join(s.out, 'modes'), fresh: s.fresh, progress: s.progress }),
  figure: (r, png) => modesFigure(r.out, png, r.runName),
  report(r, io) {
    if (r.identical) io.log(`note: ${COINCIDE}`);
    io.log(`|train − eval| max ${r.diff.maxAbs.toPrecision(4)}, mean ${r.diff.meanAbs.toPrecision(4)}; view: losscape view ${r.out}/eval ${r.out}/train`);
    io.out(`study: ${r.tables.md}`);
  },
  command: {
    summary: 'train-mode vs eval-mode landscape at the same checkpoint (batch statistics, dropout)',
    description:
      "Compute the landscape of one checkpoint twice on the same plane and grid: in eval mode (running BN statistics, no dropout) and in train mode (batch statistics, fixed dropout masks; the run's surface.batchSize and dropoutSeed). Writes <out>/eval and <out>/train (one-frame runs to view side by side), difference.h5 and modes.{md,csv} with the max/mean difference.\n" +
      'Examples:\n' +
      '  losscape modes runs/bn\n' +
      '  losscape view runs/bn/studies/modes-ckpt-0008/eval runs/bn/studies/modes-ckpt-0008/train',
    flags: [checkpointFlag, xFlag, yFlag, backendFlag, outFlag('<run>/studies/modes-ckpt-K'), freshFlag],
    print(r, io) {
      if (r.identical) io.log(`note: ${COINCIDE}`);
      for (const row of r.rows)
        io.log(
          `${row.mode.padEnd(5)} mode: L(θ) ${row.centre.toPrecision(5)} (acc ${row.centreAcc.toFixed(1)}%), grid ${row.min.toPrecision(4)} … ${row.max.toPrecision(4)}`,
        );
      io.log(
        `|train − eval|: max ${r.diff.maxAbs.toPrecision(4)}, mean ${r.diff.meanAbs.toPrecision(4)} (relative: max ${(100 * r.diff.maxRel).toPrecision(3)} %, mean ${(100 * r.diff.meanRel).toPrecision(3)} %)`,
      );
      io.log(`show both: losscape view ${r.out}/eval ${r.out}/train`);
      io.out(`modes: ${r.tables.md}`);
    },
  },
});
