/** The pruning study's figure: the landscape of every sparsity on one log colour scale. */
import { join } from 'node:path';
import { f3, lastFrame, withRange } from '../figure/panels.js';
import { type FigureFiles, figureSvg, type Panel, writeFigure } from '../figure/svg.js';
import type { PruneRow } from './study.js';

export async function pruneFigure(out: string, rows: PruneRow[], png: boolean): Promise<FigureFiles> {
  const panels: Panel[] = [];
  for (const r of rows) {
    const { gf } = await lastFrame(join(out, r.folder));
    panels.push({
      title: `${r.sparsity} % pruned`,
      subtitle: `test acc ${r.test_acc.toFixed(1)}%, λmax ${f3(r.lambda_max)}`,
      grid: gf.grid,
      values: gf.values.train_loss!,
    });
  }
  const fig = figureSvg({
    title: `Magnitude pruning (${rows[0]?.scope ?? ''}${rows[0]?.finetune ? `, ${rows[0].finetune} fine-tune steps` : ''}): landscapes on the surviving weights`,
    panels: withRange(panels, true),
    columns: Math.min(5, panels.length),
  });
  return writeFigure(join(out, 'figure'), fig, png);
}
