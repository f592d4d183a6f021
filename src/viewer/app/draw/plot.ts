/**
 * Small canvas-2D line plots (1-D slices, training curves): axes, round
 * ticks, optional log axis (log10(v + shift)), a marker line. Drawn into a
 * rectangle of any 2-D context so the app panels and the movie HUD share it.
 */
import { logTicks, niceTicks } from '../../../core/ticks.js';
import { tickLabels } from './ticks.js';

export interface Theme {
  text: string;
  muted: string;
  grid: string;
  font: string;
  /** CSS pixels → canvas pixels. */
  scale: number;
}

export const DARK: Theme = {
  text: '#d9e0ee',
  muted: '#8b93a7',
  grid: 'rgba(150,160,185,0.16)',
  font: 'Inter, "Segoe UI", system-ui, -apple-system, sans-serif',
  scale: 1,
};

export interface PlotAxis {
  label?: string;
  log?: boolean;
  /** log axes show v + shift (for zero/negative values). */
  shift?: number;
  min?: number;
  max?: number;
  format?: (v: number) => string;
}

export interface Series {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  color: string;
  width?: number;
  dash?: number[];
  axis?: 'left' | 'right';
  label?: string;
  /** Draw dots at these x values (interpolated on the series). */
  dotsAt?: number[];
  /** A shaded band between lo and hi at the same xs (e.g. the spread over data subsets). */
  band?: { lo: ArrayLike<number>; hi: ArrayLike<number> };
}

export interface LinePlotProps {
  series: Series[];
  x: PlotAxis;
  left: PlotAxis;
  right?: PlotAxis;
  markerX?: number;
  title?: string;
  legend?: boolean;
  /** Draw the plot background panel. */
  background?: string;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Mapped {
  pos: (v: number) => number;
  ticks: number[];
  labels: string[];
}

function mapAxis(a: PlotAxis, lo: number, hi: number, from: number, to: number): Mapped {
  const shift = a.shift ?? 0;
  const log = !!a.log && lo + shift > 0;
  const f = (v: number) => (log ? Math.log10(v + shift) : v);
  let l = f(lo);
  let h = f(hi);
  if (!(h > l)) {
    const pad = Math.abs(l) * 0.05 || 0.5;
    l -= pad;
    h += pad;
  }
  const ticks = log ? logTicks(lo + shift, hi + shift).map((t) => t - shift) : niceTicks(lo, hi, 4);
  const shown = ticks.filter((t) => f(t) >= l - 1e-9 && f(t) <= h + 1e-9);
  return {
    pos: (v) => from + ((f(v) - l) / (h - l)) * (to - from),
    ticks: shown,
    labels: a.format ? shown.map(a.format) : tickLabels(shown),
  };
}

/** The band lo…hi over xs as one filled polygon in the series' colour, translucent (finite points only). */
function fillBand(
  ctx: CanvasRenderingContext2D,
  xs: ArrayLike<number>,
  band: { lo: ArrayLike<number>; hi: ArrayLike<number> },
  color: string,
  px: (v: number) => number,
  py: (v: number) => number,
): void {
  const idx = Array.from({ length: xs.length }, (_, i) => i).filter((i) => [xs[i]!, band.lo[i]!, band.hi[i]!].every(Number.isFinite));
  if (idx.length < 2) return;
  ctx.save();
  ctx.globalAlpha = 0.28;
  ctx.fillStyle = color;
  ctx.beginPath();
  idx.forEach((i, k) => (k ? ctx.lineTo(px(xs[i]!), py(band.hi[i]!)) : ctx.moveTo(px(xs[i]!), py(band.hi[i]!))));
  for (const i of [...idx].reverse()) ctx.lineTo(px(xs[i]!), py(band.lo[i]!));
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

function extent(series: Series[], key: 'xs' | 'ys', axis?: 'left' | 'right'): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    if (axis && (s.axis ?? 'left') !== axis) continue;
    for (const v of key === 'ys' && s.band ? [s.ys, s.band.lo, s.band.hi] : [s[key]]) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (!Number.isFinite(x)) continue;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
    }
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

export function drawLinePlot(ctx: CanvasRenderingContext2D, r: Rect, p: LinePlotProps, theme: Theme = DARK): void {
  const s = theme.scale;
  ctx.save();
  if (p.background) {
    ctx.fillStyle = p.background;
    roundRect(ctx, r.x, r.y, r.w, r.h, 8 * s);
    ctx.fill();
  }
  const top = r.y + (p.title || p.legend || p.left.label ? 22 : 8) * s;
  const bottom = r.y + r.h - (p.x.label ? 30 : 18) * s;
  const left = r.x + 44 * s;
  const right = r.x + r.w - (p.right ? 44 : 12) * s;
  if (right - left < 20 || bottom - top < 10) {
    ctx.restore();
    return;
  }
  const [x0, x1] = extent(p.series, 'xs');
  const X = mapAxis(p.x, p.x.min ?? x0, p.x.max ?? x1, left, right);
  const [l0, l1] = extent(p.series, 'ys', 'left');
  const L = mapAxis(p.left, p.left.min ?? l0, p.left.max ?? l1, bottom, top);
  const R = p.right
    ? (() => {
        const [r0, r1] = extent(p.series, 'ys', 'right');
        return mapAxis(p.right!, p.right!.min ?? r0, p.right!.max ?? r1, bottom, top);
      })()
    : null;

  ctx.font = `${11 * s}px ${theme.font}`;
  ctx.lineWidth = 1;
  // grid + left ticks
  ctx.strokeStyle = theme.grid;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  L.ticks.forEach((t, i) => {
    const y = Math.round(L.pos(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(right, y);
    ctx.stroke();
    ctx.fillText(L.labels[i]!, left - 6 * s, y);
  });
  if (R) {
    ctx.textAlign = 'left';
    R.ticks.forEach((t, i) => ctx.fillText(R.labels[i]!, right + 6 * s, R.pos(t)));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  X.ticks.forEach((t, i) => {
    const x = Math.round(X.pos(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, bottom);
    ctx.lineTo(x, bottom + 4 * s);
    ctx.stroke();
    ctx.fillText(X.labels[i]!, x, bottom + 6 * s);
  });
  ctx.strokeStyle = 'rgba(150,160,185,0.35)';
  ctx.beginPath();
  ctx.moveTo(left, bottom + 0.5);
  ctx.lineTo(right, bottom + 0.5);
  ctx.stroke();
  if (p.x.label) {
    ctx.fillStyle = theme.muted;
    ctx.fillText(p.x.label, (left + right) / 2, bottom + 18 * s);
  }
  // axis labels in the top corners
  ctx.textBaseline = 'alphabetic';
  ctx.font = `${11 * s}px ${theme.font}`;
  if (p.left.label) {
    ctx.textAlign = 'left';
    ctx.fillStyle = theme.muted;
    ctx.fillText(p.left.label, r.x + 6 * s, r.y + 13 * s);
  }
  if (p.title) {
    ctx.textAlign = 'center';
    ctx.fillStyle = theme.text;
    ctx.fillText(p.title, (left + right) / 2, r.y + 13 * s);
  }

  // series
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top - 2 * s, right - left, bottom - top + 4 * s);
  ctx.clip();
  for (const se of p.series) {
    const Y = (se.axis ?? 'left') === 'right' && R ? R : L;
    if (se.band) fillBand(ctx, se.xs, se.band, se.color, X.pos, Y.pos);
    ctx.strokeStyle = se.color;
    ctx.lineWidth = (se.width ?? 1.6) * s;
    ctx.setLineDash((se.dash ?? []).map((d) => d * s));
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < se.xs.length; i++) {
      const xv = se.xs[i]!;
      const yv = se.ys[i]!;
      if (!Number.isFinite(xv) || !Number.isFinite(yv)) {
        pen = false;
        continue;
      }
      const px = X.pos(xv);
      const py = Y.pos(yv);
      if (pen) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    if (se.dotsAt) {
      ctx.fillStyle = se.color;
      for (const dx of se.dotsAt) {
        const dy = interp(se.xs, se.ys, dx);
        if (!Number.isFinite(dy)) continue;
        ctx.beginPath();
        ctx.arc(X.pos(dx), Y.pos(dy), 2.4 * s, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
  ctx.restore();

  if (p.markerX !== undefined && Number.isFinite(p.markerX)) {
    const x = X.pos(p.markerX);
    ctx.strokeStyle = 'rgba(255,196,92,0.9)';
    ctx.lineWidth = 1.5 * s;
    ctx.beginPath();
    ctx.moveTo(x, top - 4 * s);
    ctx.lineTo(x, bottom);
    ctx.stroke();
  }

  if (p.legend) {
    ctx.font = `${10.5 * s}px ${theme.font}`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = right;
    const items = p.series.filter((se) => se.label).reverse();
    for (const se of items) {
      const w = ctx.measureText(se.label!).width;
      lx -= w;
      ctx.fillStyle = theme.muted;
      ctx.fillText(se.label!, lx, r.y + 10 * s);
      lx -= 18 * s;
      ctx.strokeStyle = se.color;
      ctx.lineWidth = 2 * s;
      ctx.setLineDash((se.dash ?? []).map((d) => d * s));
      ctx.beginPath();
      ctx.moveTo(lx, r.y + 10 * s);
      ctx.lineTo(lx + 14 * s, r.y + 10 * s);
      ctx.stroke();
      ctx.setLineDash([]);
      lx -= 12 * s;
    }
  }
  ctx.restore();
}

/** Linear interpolation of a polyline at x (xs ascending). */
export function interp(xs: ArrayLike<number>, ys: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (n === 0) return Number.NaN;
  if (x <= xs[0]!) return ys[0]!;
  for (let i = 1; i < n; i++) {
    if (x <= xs[i]!) {
      const f = (x - xs[i - 1]!) / (xs[i]! - xs[i - 1]! || 1);
      return ys[i - 1]! + (ys[i]! - ys[i - 1]!) * f;
    }
  }
  return ys[n - 1]!;
}

export function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}
