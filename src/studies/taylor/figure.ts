/** The Taylor study's figure: the real landscape, the quadratic model, and their relative error with the agreement boundary. */
import { join } from 'node:path';
import { readGridFile } from '../../jobs/grid-file.js';
import { type FigureFiles, figureSvg, type Panel, sharedRange, writeFigure } from '../figure/svg.js';

export async function taylorFigure(out: string, png: boolean): Promise<FigureFiles> {
  const t = await readGridFile(join(out, 'taylor.h5'));
  const tol = Number(t.attrs.taylor_tol ?? 0.1);
  const real = t.values.train_loss!;
  const q = t.values.taylor_loss!;
  const agree = t.values.taylor_agree!;
  // the quadratic model may go ≤ 0 far out: colour both linearly on the real landscape's range
  const range = sharedRange([real]);
  const panels: Panel[] = [
    { title: 'real landscape L', grid: t.grid, values: real, range },
    { title: 'second-order model Q', subtitle: 'gradient + 2 HVPs at the centre', grid: t.grid, values: q, range },
    {
      title: '|Q − L| / L',
      grid: t.grid,
      values: t.values.taylor_relerr!.map((v) => Math.min(v, 1)),
      colormap: 'magma',
      range: [0, Math.min(1, Math.max(...t.values.taylor_relerr!.filter(Number.isFinite)))],
      levels: 0,
      mask: agree,
      maskLabel: `red: boundary of |Q − L| ≤ ${100 * tol} % · L`,
    },
  ];
  const fig = figureSvg({
    title: `Taylor view: where the quadratic picture holds (agrees on ${(100 * Number(t.attrs.taylor_agree_fraction ?? 0)).toFixed(0)} % of the grid)`,
    panels,
  });
  return writeFigure(join(out, 'figure'), fig, png);
}
