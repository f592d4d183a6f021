/**
 * The figure renderer of the studies: panels of landscapes as heatmaps with
 * contour lines (optionally a path, a mask boundary), a small bar chart, a
 * title and a caption, as one self-contained SVG (`figure.svg` next to a
 * study's tables), and its PNG rendering in headless Chromium (the viewer's
 * browser) for `--png`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ColormapName, colorAt } from '../../core/colormap.js';
import { contourSegments } from '../../core/contour.js';
import { coordinates, type Grid } from '../../core/grid.js';
import { niceTicks } from '../../core/ticks.js';
import { fmtNumber } from '../tables.js';

export interface Panel {
  title: string;
  subtitle?: string;
  grid: Grid;
  /** Row-major [ny, nx] (the grid-file order). */
  values: Float64Array;
  /** Points (α, β) in plane coordinates, drawn as a line with dots (PCA path). */
  path?: [number, number][];
  /** 0/1 per point: the boundary of the 1-region is drawn (e.g. where the Taylor model agrees). */
  mask?: Float64Array;
  maskLabel?: string;
  colormap?: ColormapName;
  /** Colour range (after the log, if any); default the panel's own finite range. */
  range?: [number, number];
  /** Colour by log(value) (positive values). */
  log?: boolean;
  /** Number of contour levels (default 10; 0 for none). */
  levels?: number;
  /** Axis titles: with them the axes get round ticks (otherwise only their end values are printed). */
  axes?: { x: string; y: string };
  /** Draw one unit of x as long as one unit of y (the longer side gets `size` px). */
  equalAspect?: boolean;
}

export interface BarChart {
  title: string;
  categories: string[];
  series: { name: string; values: number[]; color: string }[];
  yLabel?: string;
  /** Format of the value labels. */
  fmt?(v: number): string;
}

export interface FigureOptions {
  title: string;
  panels: Panel[];
  columns?: number;
  /** Size of a panel's heatmap in px (default 220). */
  size?: number;
  caption?: string[];
  chart?: BarChart;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Shared colour range of several panels (log or linear). */
export function sharedRange(values: Float64Array[], log = false): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    for (const x of v) {
      const t = log ? Math.log(x) : x;
      if (!Number.isFinite(t)) continue;
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  }
  return [lo, hi];
}

function rgb(c: [number, number, number]): string {
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Where a panel lies (x0, y0) and its heatmap: top edge, size W × H, cells cw × ch. */
interface PanelBox {
  x0: number;
  y0: number;
  top: number;
  W: number;
  H: number;
  nx: number;
  ny: number;
  cw: number;
  ch: number;
}

/** Heatmap width and height of a panel: size × size, or the grid's aspect with equalAspect. */
function heatmapSize(p: Panel, size: number): [number, number] {
  const g = p.grid;
  if (!g.y) return [size, 40];
  if (!p.equalAspect) return [size, size];
  // the heatmap's cells are centred on the grid points: n cells span (max − min) · n / (n − 1)
  const w = ((g.x.max - g.x.min) * g.x.n) / Math.max(1, g.x.n - 1);
  const h = ((g.y.max - g.y.min) * g.y.n) / Math.max(1, g.y.n - 1);
  if (!(w > 0 && h > 0)) return [size, size];
  return w >= h ? [size, Math.max(40, Math.round((size * h) / w))] : [Math.max(40, Math.round((size * w) / h)), size];
}

function panelSvg(p: Panel, x0: number, y0: number, size: number): string {
  const g = p.grid;
  const nx = g.x.n;
  const ny = g.y?.n ?? 1;
  const [W, H] = heatmapSize(p, size);
  const box: PanelBox = { x0, y0, top: y0 + 34, W, H, nx, ny, cw: W / nx, ch: H / ny };
  const field = Float64Array.from(p.values, (v) => (p.log ? Math.log(v) : v));
  const [lo, hi] = p.range ?? sharedRange([field]);
  const parts: string[] = [];
  parts.push(`<text x="${x0}" y="${y0 + 13}" class="t">${esc(p.title)}</text>`);
  if (p.subtitle) parts.push(`<text x="${x0}" y="${y0 + 27}" class="s">${esc(p.subtitle)}</text>`);
  parts.push(...heatmapCells(box, field, lo, hi, p.colormap ?? 'viridis'));
  if (g.y) parts.push(...overlays(p, box, field, lo, hi));
  parts.push(...axisLabels(p, box), ...colourBar(p, box, lo, hi));
  return parts.join('');
}

/** One rect per grid point; rows follow y (row 0 at the bottom). */
function heatmapCells(b: PanelBox, field: Float64Array, lo: number, hi: number, cmap: ColormapName): string[] {
  const span = hi > lo ? hi - lo : 1;
  const parts: string[] = [];
  for (let i = 0; i < b.ny; i++) {
    for (let j = 0; j < b.nx; j++) {
      const v = field[i * b.nx + j]!;
      const fill = Number.isFinite(v) ? rgb(colorAt(cmap, (v - lo) / span)) : '#999999';
      parts.push(
        `<rect x="${(b.x0 + j * b.cw).toFixed(2)}" y="${(b.top + (b.ny - 1 - i) * b.ch).toFixed(2)}" width="${(b.cw + 0.6).toFixed(2)}" height="${(b.ch + 0.6).toFixed(2)}" fill="${fill}"/>`,
      );
    }
  }
  return parts;
}

/** Contour lines, the mask boundary and the path of a 2-D panel. */
function overlays(p: Panel, b: PanelBox, field: Float64Array, lo: number, hi: number): string[] {
  const span = hi > lo ? hi - lo : 1;
  const toPx = (j: number, i: number) => [b.x0 + (j + 0.5) * b.cw, b.top + (b.ny - 1 - i + 0.5) * b.ch];
  const segPath = (segs: number[]) => {
    let d = '';
    for (let k = 0; k < segs.length; k += 4) {
      const [a, c0] = toPx(segs[k]!, segs[k + 1]!);
      const [c, e] = toPx(segs[k + 2]!, segs[k + 3]!);
      d += `M${a!.toFixed(1)} ${c0!.toFixed(1)}L${c!.toFixed(1)} ${e!.toFixed(1)}`;
    }
    return d;
  };
  const parts: string[] = [];
  const levels = p.levels ?? 10;
  if (levels > 0) {
    let d = '';
    for (let k = 1; k <= levels; k++) d += segPath(contourSegments(field, b.nx, b.ny, lo + (k / (levels + 1)) * span));
    if (d) parts.push(`<path d="${d}" stroke="#ffffff" stroke-opacity="0.55" stroke-width="0.8" fill="none"/>`);
  }
  if (p.mask) {
    const d = segPath(contourSegments(p.mask, b.nx, b.ny, 0.5));
    if (d) parts.push(`<path d="${d}" stroke="#ff3b30" stroke-width="2.2" fill="none"/>`);
    if (p.maskLabel) parts.push(`<text x="${b.x0}" y="${b.top + b.H + 26}" class="s" fill="#c0241b">${esc(p.maskLabel)}</text>`);
  }
  if (p.path) parts.push(...pathLine(p.path, p.grid, b));
  return parts;
}

/** A path in plane coordinates (α, β): a line with dots, the last one white. */
function pathLine(path: [number, number][], g: Grid, b: PanelBox): string[] {
  const xs = coordinates(g.x);
  const ys = coordinates(g.y!);
  const fx = (a: number) => b.x0 + (0.5 + ((a - xs[0]!) / (xs[b.nx - 1]! - xs[0]!)) * (b.nx - 1)) * b.cw;
  const fy = (v: number) => b.top + (b.ny - 1 - ((v - ys[0]!) / (ys[b.ny - 1]! - ys[0]!)) * (b.ny - 1) + 0.5) * b.ch;
  const pts = path.map(([a, v]) => `${fx(a).toFixed(1)},${fy(v).toFixed(1)}`).join(' ');
  const parts = [`<polyline points="${pts}" stroke="#ff3b30" stroke-width="2" fill="none"/>`];
  path.forEach(([a, v], k) =>
    parts.push(
      `<circle cx="${fx(a).toFixed(1)}" cy="${fy(v).toFixed(1)}" r="${k === path.length - 1 ? 4 : 2.6}" fill="${k === path.length - 1 ? '#ffffff' : '#ff3b30'}" stroke="#000" stroke-width="0.6"/>`,
    ),
  );
  return parts;
}

/** Round ticks along both axes of a heatmap (cell centres span the axis range) and the axis titles. */
function tickedAxes(p: Panel & { axes: { x: string; y: string } }, b: PanelBox): string[] {
  const g = p.grid;
  const ax = (v: number) => fmtNumber(v, 3);
  const parts: string[] = [];
  const px = (v: number) => b.x0 + (0.5 + (g.x.n > 1 ? ((v - g.x.min) / (g.x.max - g.x.min)) * (g.x.n - 1) : 0)) * b.cw;
  for (const t of niceTicks(g.x.min, g.x.max, Math.max(2, Math.round(b.W / 70)))) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${b.top + b.H}" x2="${x}" y2="${b.top + b.H + 4}" stroke="#444"/>`);
    parts.push(`<text x="${x}" y="${b.top + b.H + 14}" class="a" text-anchor="middle">${ax(t)}</text>`);
  }
  parts.push(`<text x="${b.x0 + b.W / 2}" y="${b.top + b.H + 28}" class="s" text-anchor="middle">${esc(p.axes.x)}</text>`);
  if (g.y) {
    const y = g.y;
    const py = (v: number) => b.top + (b.ny - 0.5 - (y.n > 1 ? ((v - y.min) / (y.max - y.min)) * (y.n - 1) : 0)) * b.ch;
    for (const t of niceTicks(y.min, y.max, Math.max(2, Math.round(b.H / 50)))) {
      const yy = py(t).toFixed(1);
      parts.push(`<line x1="${b.x0 - 4}" y1="${yy}" x2="${b.x0}" y2="${yy}" stroke="#444"/>`);
      parts.push(`<text x="${b.x0 - 6}" y="${(py(t) + 3.5).toFixed(1)}" class="a" text-anchor="end">${ax(t)}</text>`);
    }
    const cy = b.top + b.H / 2;
    parts.push(`<text x="${b.x0 - 40}" y="${cy}" class="s" text-anchor="middle" transform="rotate(-90 ${b.x0 - 40} ${cy})">${esc(p.axes.y)}</text>`);
  }
  return parts;
}

/** The x and y ranges at the heatmap's edges, or ticks and titles when the panel names its axes. */
function axisLabels(p: Panel, b: PanelBox): string[] {
  if (p.axes) return tickedAxes({ ...p, axes: p.axes }, b);
  const g = p.grid;
  const ax = (v: number) => fmtNumber(v, 3);
  const parts = [
    `<text x="${b.x0}" y="${b.top + b.H + 12}" class="a">${ax(g.x.min)}</text>`,
    `<text x="${b.x0 + b.W}" y="${b.top + b.H + 12}" class="a" text-anchor="end">${ax(g.x.max)}</text>`,
  ];
  if (g.y) {
    parts.push(`<text x="${b.x0 - 3}" y="${b.top + b.H}" class="a" text-anchor="end">${ax(g.y.min)}</text>`);
    parts.push(`<text x="${b.x0 - 3}" y="${b.top + 8}" class="a" text-anchor="end">${ax(g.y.max)}</text>`);
  }
  return parts;
}

/** The colour bar under the heatmap with the values at its ends. */
function colourBar(p: Panel, b: PanelBox, lo: number, hi: number): string[] {
  const cmap = p.colormap ?? 'viridis';
  const by = b.top + b.H + (p.axes ? 38 : p.mask && p.maskLabel ? 32 : 18);
  const stops = Array.from({ length: 9 }, (_, k) => `<stop offset="${k / 8}" stop-color="${rgb(colorAt(cmap, k / 8))}"/>`).join('');
  const id = `cb${Math.round(b.x0)}_${Math.round(b.y0)}`;
  const ax = (v: number) => fmtNumber(v, 3);
  const lab = (t: number) => (p.log ? ax(Math.exp(t)) : ax(t));
  return [
    `<defs><linearGradient id="${id}">${stops}</linearGradient></defs>`,
    `<rect x="${b.x0}" y="${by}" width="${b.W}" height="7" fill="url(#${id})"/>`,
    `<text x="${b.x0}" y="${by + 18}" class="a">${lab(lo)}</text>`,
    `<text x="${b.x0 + b.W}" y="${by + 18}" class="a" text-anchor="end">${lab(hi)}${p.log ? ' (log)' : ''}</text>`,
  ];
}

function chartSvg(c: BarChart, x0: number, y0: number, W: number, H: number): string {
  const parts: string[] = [`<text x="${x0}" y="${y0 + 13}" class="t">${esc(c.title)}</text>`];
  const top = y0 + 40;
  const h = H - 76;
  const max = Math.max(...c.series.flatMap((s) => s.values).filter(Number.isFinite), 1e-12);
  const groupW = W / c.categories.length;
  const barW = (groupW * 0.7) / c.series.length;
  const fmt = c.fmt ?? ((v: number) => fmtNumber(v, 3));
  parts.push(`<line x1="${x0}" y1="${top + h}" x2="${x0 + W}" y2="${top + h}" stroke="#333"/>`);
  c.categories.forEach((cat, k) => {
    const gx = x0 + k * groupW + groupW * 0.15;
    c.series.forEach((s, m) => {
      const v = s.values[k]!;
      const bh = Number.isFinite(v) ? (v / max) * h : 0;
      const bx = gx + m * barW;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${(top + h - bh).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${s.color}"/>`);
      parts.push(`<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(top + h - bh - 3).toFixed(1)}" class="a" text-anchor="middle">${esc(fmt(v))}</text>`);
    });
    parts.push(`<text x="${(x0 + (k + 0.5) * groupW).toFixed(1)}" y="${top + h + 14}" class="s" text-anchor="middle">${esc(cat)}</text>`);
  });
  c.series.forEach((s, m) => {
    parts.push(`<rect x="${x0 + m * 150}" y="${top + h + 24}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${x0 + m * 150 + 14}" y="${top + h + 33}" class="s">${esc(s.name)}</text>`);
  });
  if (c.yLabel) parts.push(`<text x="${x0 + W}" y="${y0 + 13}" class="s" text-anchor="end">${esc(c.yLabel)}</text>`);
  return parts.join('');
}

/** The whole figure as one SVG document; returns the text and its pixel size. */
export function figureSvg(o: FigureOptions): { svg: string; width: number; height: number } {
  const size = o.size ?? 220;
  const cols = Math.max(1, Math.min(o.columns ?? o.panels.length, o.panels.length || 1));
  const rows = Math.ceil(o.panels.length / cols);
  const withAxes = o.panels.some((p) => p.axes);
  const padL = withAxes ? 64 : 44;
  const cellW = size + (withAxes ? 76 : 56);
  const hasMaskLabel = o.panels.some((p) => p.mask && p.maskLabel);
  const heatH = Math.max(...o.panels.map((p) => heatmapSize(p, size)[1]), 0);
  const cellH = heatH + 34 + (withAxes ? 38 : hasMaskLabel ? 32 : 18) + 30;
  const chartH = o.chart ? 230 : 0;
  const width = Math.max(padL + cols * cellW, o.chart ? 640 : 0);
  const caption = wrap(o.caption ?? [], Math.floor((width - 24) / 6.3));
  const capH = caption.length * 16 + (caption.length ? 10 : 0);
  const height = 40 + rows * cellH + chartH + capH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    '<style>.t{font-size:13px;font-weight:600;fill:#111}.s{font-size:11px;fill:#333}.a{font-size:10px;fill:#444}.h{font-size:16px;font-weight:700;fill:#111}rect{shape-rendering:crispEdges}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" class="h">${esc(o.title)}</text>`,
  ];
  o.panels.forEach((p, k) => {
    const c = k % cols;
    const r = Math.floor(k / cols);
    parts.push(panelSvg(p, padL + c * cellW, 40 + r * cellH, size));
  });
  let y = 40 + rows * cellH;
  if (o.chart) {
    parts.push(chartSvg(o.chart, padL, y, Math.min(width - padL - 20, 120 * o.chart.categories.length + 200), chartH));
    y += chartH;
  }
  caption.forEach((line, k) => parts.push(`<text x="12" y="${y + 14 + 16 * k}" class="s">${esc(line)}</text>`));
  parts.push('</svg>');
  return { svg: parts.join('\n'), width, height };
}

/** Greedy word wrap at `max` characters (11 px text ≈ 6.3 px per character). */
function wrap(lines: string[], max: number): string[] {
  const out: string[] = [];
  for (const line of lines) {
    let cur = '';
    for (const w of line.split(' ')) {
      if (cur && cur.length + 1 + w.length > max) {
        out.push(cur);
        cur = `   ${w}`;
      } else cur = cur ? `${cur} ${w}` : w;
    }
    out.push(cur);
  }
  return out;
}

export interface FigureFiles {
  svg: string;
  png?: string;
}

/** Write `<base>.svg`, and `<base>.png` (headless Chromium) when asked. */
export async function writeFigure(base: string, fig: { svg: string; width: number; height: number }, png = false): Promise<FigureFiles> {
  mkdirSync(dirname(base), { recursive: true });
  const svgPath = `${base}.svg`;
  writeFileSync(svgPath, fig.svg);
  if (!png) return { svg: svgPath };
  const pngPath = `${base}.png`;
  await renderSvgPng(fig, pngPath);
  return { svg: svgPath, png: pngPath };
}

async function renderSvgPng(fig: { svg: string; width: number; height: number }, out: string): Promise<void> {
  const { launchBrowser } = await import('../../viewer/server/browser.js');
  const b = await launchBrowser({ width: fig.width, height: fig.height });
  try {
    await b.page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${fig.svg}</body></html>`);
    await b.page.screenshot({ path: out, clip: { x: 0, y: 0, width: fig.width, height: fig.height } });
  } finally {
    await b.close();
  }
}
