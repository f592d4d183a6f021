/** The variability study's figure: the landscape through every plane on one log scale, and the per-point spread. */
import { join } from 'node:path';
import { readGridFile } from '../../jobs/grid-file.js';
import { lastFrame, withRange } from '../figure/panels.js';
import { type FigureFiles, figureSvg, type Panel, writeFigure } from '../figure/svg.js';

export async function variabilityFigure(out: string, seeds: number[], png: boolean): Promise<FigureFiles> {
  const panels: Panel[] = [];
  for (const s of seeds) {
    const { gf } = await lastFrame(join(out, `seed-${s}`));
    panels.push({ title: `seed ${s}`, grid: gf.grid, values: gf.values.train_loss! });
  }
  const sp = await readGridFile(join(out, 'spread.h5'));
  const all = withRange(panels, true);
  all.push({
    title: 'spread (max − min)',
    subtitle: 'per point over the seeds',
    grid: sp.grid,
    values: sp.values.loss_spread!,
    colormap: 'magma',
    levels: 6,
  });
  const fig = figureSvg({
    title: `Direction variability: ${seeds.length} random planes at one checkpoint`,
    panels: all,
    columns: Math.ceil(all.length / 2),
    size: 180,
  });
  return writeFigure(join(out, 'figure'), fig, png);
}
