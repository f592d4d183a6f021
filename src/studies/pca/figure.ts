/** The PCA study's figure: the loss over the PCA plane with the projected path. */
import { join } from 'node:path';
import { readGridFile } from '../../jobs/grid-file.js';
import { RunStore } from '../../store/run-store.js';
import { type FigureFiles, figureSvg, writeFigure } from '../figure/svg.js';

export async function pcaFigure(runDir: string, png: boolean): Promise<FigureFiles> {
  const m = new RunStore(runDir).readManifest() as ReturnType<RunStore['readManifest']> & {
    pca?: { surface: string; path: [number, number][]; explained: [number, number] };
  };
  if (!m.pca) throw new Error(`${runDir}: no PCA entry`);
  const gf = await readGridFile(join(runDir, m.pca.surface));
  const [a, b] = m.pca.explained;
  const pc = (k: number, e: number) => `PC${k} (${(100 * e).toFixed(1)} % of the variance)`;
  const fig = figureSvg({
    title: `PCA plane of the trajectory: ${m.name}`,
    size: 560,
    panels: [
      {
        title: `train loss (log colour) over the plane of PC1 and PC2: ${(100 * (a + b)).toFixed(1)} % of the variance`,
        subtitle: 'red: projected path (white dot: final checkpoint); one unit is as long on both axes',
        grid: gf.grid,
        values: gf.values.train_loss!,
        path: m.pca.path,
        log: true,
        axes: { x: pc(1, a), y: pc(2, b) },
        equalAspect: true,
      },
    ],
    caption: ['The path is a projection onto the plane; the checkpoints lie off it, so contours under the path may differ.'],
  });
  return writeFigure(join(runDir, 'pca', 'figure'), fig, png);
}
