/** The modes study's figure: eval- and train-mode landscapes on one log scale, and their difference. */
import { join } from 'node:path';
import { readGridFile } from '../../jobs/grid-file.js';
import { lastFrame, withRange } from '../figure/panels.js';
import { type FigureFiles, figureSvg, writeFigure } from '../figure/svg.js';
import { fmtNumber } from '../tables.js';

export async function modesFigure(out: string, png: boolean, runName = ''): Promise<FigureFiles> {
  const ev = await lastFrame(join(out, 'eval'));
  const tr = await lastFrame(join(out, 'train'));
  const d = await readGridFile(join(out, 'difference.h5'));
  const diff = d.values.difference!;
  const m = Math.max(...Array.from(diff, Math.abs).filter(Number.isFinite), 1e-12);
  const panels = withRange(
    [
      { title: 'eval mode', subtitle: 'running statistics, no dropout', grid: ev.gf.grid, values: ev.gf.values.train_loss! },
      { title: 'train mode', subtitle: 'batch statistics, dropout on', grid: tr.gf.grid, values: tr.gf.values.train_loss! },
    ],
    true,
  );
  panels.push({ title: 'train − eval', subtitle: `max |Δ| ${fmtNumber(m, 3)}`, grid: d.grid, values: diff, colormap: 'coolwarm', range: [-m, m], levels: 0 });
  return writeFigure(
    join(out, 'figure'),
    figureSvg({ title: `Train vs eval mode: ${runName ? `${runName}, ` : ''}checkpoint ${ev.frame.checkpoint}`, panels }),
    png,
  );
}
