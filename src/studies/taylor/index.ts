/**
 * `losscape taylor <run>`, `study: taylor`: the second-order Taylor model
 * beside the real landscape, and where they agree.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { defineRunStudy } from '../definition.js';
import { backendFlag, checkpointFlag, freshFlag, outFlag, RUN_STUDY_KEYS, xFlag, yFlag } from '../run-options.js';
import { taylorFigure } from './figure.js';
import { taylorStudy } from './study.js';

export const taylor = defineRunStudy({
  kind: 'taylor',
  label: 'Taylor',
  input: 'run',
  spec: z
    .object({
      tol: z.number().positive().default(0.1),
      dtype: z.enum(['float32', 'float64']).default('float32'),
      ...RUN_STUDY_KEYS,
    })
    .strict(),
  compute: taylorStudy,
  configOptions: (spec, s) => ({ ...spec, out: join(s.out, 'taylor'), fresh: s.fresh, progress: s.progress }),
  figure: (r, png) => taylorFigure(r.out, png),
  report(r, io) {
    io.log(`quadratic model agrees on ${(100 * r.summary.agreeFraction).toFixed(1)} % of the grid, radius ${r.summary.agreeRadius.toPrecision(3)}`);
    io.out(`study: ${join(r.out, 'summary.md')}`);
  },
  command: {
    summary: 'second-order Taylor model beside the real landscape, and where they agree',
    description:
      "Q(α, β) = L + α·gᵀδ + β·gᵀη + ½(α²·δᵀHδ + 2αβ·δᵀHη + β²·ηᵀHη) from one gradient and two HVPs at the checkpoint, on the same plane (the run's directions) and grid as the real landscape L. Writes <out>/taylor.h5 (train_loss, taylor_loss, taylor_relerr, taylor_agree), summary.{md,csv,json} and two one-frame runs <out>/real and <out>/quadratic for the viewer.\n" +
      'Examples:\n' +
      '  losscape taylor runs/demo\n' +
      '  losscape taylor runs/demo --checkpoint 0 --x -2:2:41 --y -2:2:41 --tol 0.05\n' +
      '  losscape view runs/demo/studies/taylor-ckpt-0008/real runs/demo/studies/taylor-ckpt-0008/quadratic',
    flags: [
      checkpointFlag,
      xFlag,
      yFlag,
      { flags: '--tol <fraction>', description: 'agreement tolerance |Q − L| ≤ tol·|L|', default: '0.1', key: 'tol', value: { type: 'number', min: 0 } },
      {
        flags: '--dtype <type>',
        description: 'float32 or float64 engine',
        default: 'float32',
        key: 'dtype',
        value: { type: 'choice', choices: ['float32', 'float64'] },
      },
      backendFlag,
      outFlag('<run>/studies/taylor-ckpt-K'),
      freshFlag,
    ],
    print(r, io, { options }) {
      const c = r.coefficients;
      const s = r.summary;
      io.log(
        `checkpoint ${r.checkpoint}: L ${c.loss.toPrecision(5)}, gᵀδ ${c.gd.toPrecision(4)}, gᵀη ${c.ge.toPrecision(4)}, δᵀHδ ${c.dHd.toPrecision(4)}, δᵀHη ${c.dHe.toPrecision(4)}, ηᵀHη ${c.eHe.toPrecision(4)}`,
      );
      io.log(
        `the quadratic model agrees within ${100 * (options?.tol ?? 0.1)} % on ${(100 * s.agreeFraction).toFixed(1)} % of the grid; every point agrees up to radius ${s.agreeRadius.toPrecision(3)}` +
          (Number.isFinite(s.firstBreak) ? ` (first break at ${s.firstBreak.toPrecision(3)})` : ' (no break on this grid)') +
          `; max relative error ${s.maxRelErr.toPrecision(3)}`,
      );
      io.log(`view: losscape view ${r.out}/real ${r.out}/quadratic`);
      io.out(`taylor: ${r.out}/taylor.h5 agree ${s.agreeFraction.toFixed(4)} radius ${s.agreeRadius.toPrecision(4)}`);
    },
  },
});
