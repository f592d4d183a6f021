/**
 * The figure of each study (figure.svg, optionally figure.png), drawn from the
 * files the study wrote, so a figure can be redrawn without recomputing.
 */
import { join } from 'node:path';
import { readGridFile } from '../jobs/grid-file.js';
import { RunStore } from '../store/run-store.js';
import { fmtNumber } from './common.js';
import type { CompareRow } from './compare.js';
import type { FidelityRow } from './fidelity.js';
import { figureSvg, type Panel, sharedRange, writeFigure } from './figure.js';
import type { PruneRow } from './prune.js';

export interface FigureFiles {
  svg: string;
  png?: string;
}

const f3 = (v: number | undefined) => (v === undefined ? '—' : fmtNumber(v, 3));

/** Last finished frame of a run folder. */
async function lastFrame(dir: string) {
  const m = new RunStore(dir).readManifest();
  const fr = [...m.frames]
    .filter((f) => f.surface)
    .sort((a, b) => a.checkpoint - b.checkpoint)
    .pop();
  if (!fr) throw new Error(`${dir}: no finished landscape`);
  return { m, frame: fr, gf: await readGridFile(join(dir, fr.surface!)) };
}

function withRange(panels: Panel[], log: boolean): Panel[] {
  const range = sharedRange(
    panels.map((p) => p.values),
    log,
  );
  return panels.map((p) => ({ ...p, range, log }));
}

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

export async function fidelityFigure(out: string, rows: FidelityRow[], png: boolean): Promise<FigureFiles> {
  const full = await lastFrame(join(out, 'full'));
  const seen = new Set<string>();
  const panels: Panel[] = [
    { title: 'full train split', subtitle: `${full.gf.attrs.samples ?? ''} samples`, grid: full.gf.grid, values: full.gf.values.train_loss! },
  ];
  for (const r of rows) {
    if (seen.has(r.size)) continue;
    seen.add(r.size);
    const name = `subset-${r.size.replace('%', 'pct')}${rows.filter((x) => x.size === r.size).length > 1 ? `-seed${r.seed}` : ''}`;
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

/** Draw a figure; a failure (no Chromium for the PNG, …) is a warning, not a failed study. */
export async function tryFigure(warn: (l: string) => void, draw: () => Promise<FigureFiles>): Promise<FigureFiles | undefined> {
  try {
    return await draw();
  } catch (e) {
    warn(`no figure: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
