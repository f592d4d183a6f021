/**
 * `study: compare`: variants of a base run config (partial overrides) trained
 * with the same seeds and data, their landscape movies, and one table of final
 * loss, generalization gap and sharpness.
 */
import { defineVariantsStudy } from '../definition.js';
import { compareFigure } from './figure.js';
import { compareStudy } from './study.js';

export const compare = defineVariantsStudy({
  kind: 'compare',
  label: 'compare variants',
  input: 'variants',
  compute: (study, s) => compareStudy(study, s),
  figure: (r, png) => (r.tables ? compareFigure(r.out, r.rows, png) : Promise.resolve(undefined)),
  report(r, io) {
    for (const row of r.rows) {
      io.log(
        `${row.variant}: train loss ${row.train_loss.toPrecision(4)} (${row.train_acc.toFixed(1)}%), test loss ${row.test_loss.toPrecision(4)} (${row.test_acc.toFixed(1)}%), gap ${row.gap_loss.toPrecision(3)}` +
          (row.lambda_max !== undefined
            ? `, λmax ${row.lambda_max.toPrecision(4)}, tr H ${row.trace!.toPrecision(4)}, ε-sharpness ${row.eps_sharpness!.toPrecision(3)}%`
            : ''),
      );
    }
    const dirs = r.variants.map((v) => v.dir).join(' ');
    if (!r.tables) {
      io.log(`${r.variants.map((v) => v.name).join(', ')}: done; the study's tables, report and figure: the same command without --variant`);
      return;
    }
    io.log(`side by side: losscape view ${dirs}${r.report ? `   (or open ${r.report})` : ''}`);
    io.out(`study: ${r.tables.md}`);
  },
});
