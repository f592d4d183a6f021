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
  const fig = figureSvg({
    title: `PCA plane of the trajectory: ${m.name}`,
    size: 300,
    panels: [
      {
        title: `PC1 ${(100 * a).toFixed(1)} %, PC2 ${(100 * b).toFixed(1)} % of the variance`,
        subtitle: 'red: projected path (white dot: final checkpoint)',
        grid: gf.grid,
        values: gf.values.train_loss!,
        path: m.pca.path,
        log: true,
      },
    ],
    caption: ['The path is a projection onto the plane;', 'the checkpoints lie off it, so contours under the path may differ.'],
  });
  return writeFigure(join(runDir, 'pca', 'figure'), fig, png);
}
