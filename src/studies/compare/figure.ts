/** The comparison's figure: the final landscape of every variant on one log colour scale. */
import { join } from 'node:path';
import { f3, lastFrame, withRange } from '../figure/panels.js';
import { type FigureFiles, figureSvg, type Panel, writeFigure } from '../figure/svg.js';
import type { CompareRow } from './study.js';

export async function compareFigure(out: string, rows: CompareRow[], png: boolean): Promise<FigureFiles> {
  const panels: Panel[] = [];
  for (const r of rows) {
    const { frame, gf } = await lastFrame(join(out, r.variant));
    panels.push({
      title: r.variant,
      subtitle: `ckpt ${frame.checkpoint}: test acc ${r.test_acc.toFixed(1)}%, λmax ${f3(r.lambda_max)}`,
      grid: gf.grid,
      values: gf.values.train_loss!,
    });
  }
  const fig = figureSvg({
    title: 'Final landscapes (shared log colour scale)',
    panels: withRange(panels, true),
    caption: rows.map(
      (r) =>
        `${r.variant}${r.changes === '(base)' ? ' (the base config)' : ` (${r.changes})`}: train ${f3(r.train_loss)} / test ${f3(r.test_loss)} loss, gap ${f3(r.gap_loss)}` +
        (r.lambda_max !== undefined ? `; λmax ${f3(r.lambda_max)}, tr H ${f3(r.trace)}, ε-sharpness ${f3(r.eps_sharpness)} %` : ''),
    ),
  });
  return writeFigure(join(out, 'figure'), fig, png);
}
