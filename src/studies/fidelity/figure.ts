/** The fidelity study's figure: the full-split landscape, one subset landscape per size, and the error per size as bars. */
import { join } from 'node:path';
import { lastFrame, withRange } from '../figure/panels.js';
import { type FigureFiles, figureSvg, type Panel, writeFigure } from '../figure/svg.js';
import { type FidelityRow, subsetFolder } from './study.js';

export async function fidelityFigure(out: string, rows: FidelityRow[], png: boolean): Promise<FigureFiles> {
  const full = await lastFrame(join(out, 'full'));
  const seen = new Set<string>();
  const panels: Panel[] = [
    { title: 'full train split', subtitle: `${full.gf.attrs.samples ?? ''} samples`, grid: full.gf.grid, values: full.gf.values.train_loss! },
  ];
  for (const r of rows) {
    if (seen.has(r.size)) continue;
    seen.add(r.size);
    const name = subsetFolder(r.size, r.seed, rows.filter((x) => x.size === r.size).length);
    try {
      const { gf } = await lastFrame(join(out, name));
      panels.push({
        title: `${r.size} (${r.samples})`,
        subtitle: `max rel. err ${(100 * r.maxRelErr).toPrecision(3)} %`,
        grid: gf.grid,
        values: gf.values.train_loss!,
      });
    } catch {
      /* 1-D or missing: the chart still shows it */
    }
  }
  const sizes = [...seen];
  const agg = (f: (r: FidelityRow) => number) => sizes.map((s) => Math.max(...rows.filter((r) => r.size === s).map(f)));
  const fig = figureSvg({
    title: 'Subset fidelity: landscapes on subsets vs the whole training split',
    panels: withRange(panels, true),
    columns: Math.min(6, panels.length),
    size: 150,
    chart: {
      title: 'relative loss error vs the full split (worst over subset seeds)',
      categories: sizes,
      series: [
        { name: 'max over the grid', values: agg((r) => 100 * r.maxRelErr), color: '#d95f02' },
        { name: 'mean over the grid', values: agg((r) => 100 * r.meanRelErr), color: '#1b9e77' },
      ],
      yLabel: 'percent',
      fmt: (v) => `${v.toPrecision(2)}%`,
    },
  });
  return writeFigure(join(out, 'figure'), fig, png);
}
