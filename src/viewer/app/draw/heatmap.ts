/**
 * 2-D heatmap with marching-squares contours, axes, a colour bar and optional
 * overlays (slice crosshair, trajectory path, current point). Drawn into a
 * rectangle of a 2-D context; returns the pixel ↔ data mapping for clicks.
 */

import { type Colormap, lutIndex } from '../../../core/colormap.js';
import { contourLevels, contourSegments } from '../../../core/contour.js';
import { niceTicks } from '../../../core/ticks.js';
import type { Field } from '../data.js';
import { DARK, type Rect, type Theme } from './plot.js';
import { fmt } from './ticks.js';

export interface HeatmapProps {
  field: Pick<Field, 'x' | 'y' | 'nx' | 'ny'>;
  values: Float32Array;
  /** Colour range (values outside are clamped). */
  lo: number;
  hi: number;
  cmap: Colormap;
  contours?: number;
  /** Colour-bar tick labels: value → text (e.g. undo the log). */
  label?: (v: number) => string;
  colorbarTitle?: string;
  xLabel?: string;
  yLabel?: string;
  /** Slice crosshair through this data point. */
  probe?: [number, number] | null;
  path?: [number, number][];
  marker?: [number, number] | null;
  /** Data points marked with a cross (e.g. uncertified Hessian points). */
  crosses?: [number, number][];
}

export interface HeatmapLayout {
  plot: Rect;
  toData(px: number, py: number): [number, number] | null;
}

const scratch = new Map<string, HTMLCanvasElement>();

function imageOf(p: HeatmapProps): HTMLCanvasElement {
  const { nx, ny } = p.field;
  const key = `${nx}x${ny}`;
  let c = scratch.get(key);
  if (!c) {
    c = document.createElement('canvas');
    c.width = nx;
    c.height = ny;
    scratch.set(key, c);
  }
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(nx, ny);
  const span = p.hi - p.lo || 1;
  for (let i = 0; i < ny; i++) {
    const row = ny - 1 - i; // y up
    for (let j = 0; j < nx; j++) {
      const v = p.values[i * nx + j]!;
      const o = (row * nx + j) * 4;
      if (!Number.isFinite(v)) {
        img.data[o + 3] = 0;
        continue;
      }
      const k = lutIndex((v - p.lo) / span) * 3;
      img.data[o] = p.cmap.srgb[k]!;
      img.data[o + 1] = p.cmap.srgb[k + 1]!;
      img.data[o + 2] = p.cmap.srgb[k + 2]!;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

export function drawHeatmap(ctx: CanvasRenderingContext2D, r: Rect, p: HeatmapProps, theme: Theme = DARK): HeatmapLayout {
  const s = theme.scale;
  const { x, y, nx, ny } = p.field;
  const cbW = 10 * s;
  const cbGap = 10 * s;
  const cbLabels = 46 * s;
  const area = { x: r.x + 40 * s, y: r.y + 8 * s, w: r.w - 40 * s - cbW - cbGap - cbLabels, h: r.h - 8 * s - 34 * s };
  // Equal scaling: one unit along x is as long as one along y.
  const xspan = x.max - x.min || 1;
  const yspan = y.max - y.min || 1;
  const k = Math.min(area.w / xspan, area.h / yspan);
  const plot = { x: area.x + (area.w - xspan * k) / 2, y: area.y + (area.h - yspan * k) / 2, w: xspan * k, h: yspan * k };
  const px = (vx: number) => plot.x + (vx - x.min) * k;
  const py = (vy: number) => plot.y + plot.h - (vy - y.min) * k;
  // grid index → pixel
  const gx = (j: number) => px(nx > 1 ? x.min + (j / (nx - 1)) * xspan : x.min);
  const gy = (i: number) => py(ny > 1 ? y.min + (i / (ny - 1)) * yspan : y.min);

  ctx.save();
  // image: pixel centres on the grid points, clipped to the data extent
  const img = imageOf(p);
  const dx = nx > 1 ? plot.w / (nx - 1) : plot.w;
  const dy = ny > 1 ? plot.h / (ny - 1) : plot.h;
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img, plot.x - dx / 2, plot.y - dy / 2, plot.w + dx, plot.h + dy);

  // contours
  const levels = contourLevels(p.lo, p.hi, p.contours ?? 10);
  ctx.strokeStyle = 'rgba(255,255,255,0.42)';
  ctx.lineWidth = 0.9 * s;
  ctx.beginPath();
  for (const lv of levels) {
    const seg = contourSegments(p.values, nx, ny, lv);
    for (let q = 0; q < seg.length; q += 4) {
      ctx.moveTo(gx(seg[q]!), gy(seg[q + 1]!));
      ctx.lineTo(gx(seg[q + 2]!), gy(seg[q + 3]!));
    }
  }
  ctx.stroke();

  // crosshair
  if (p.probe) {
    ctx.strokeStyle = 'rgba(255,255,255,0.75)';
    ctx.setLineDash([4 * s, 3 * s]);
    ctx.lineWidth = 1 * s;
    ctx.beginPath();
    ctx.moveTo(plot.x, py(p.probe[1]));
    ctx.lineTo(plot.x + plot.w, py(p.probe[1]));
    ctx.moveTo(px(p.probe[0]), plot.y);
    ctx.lineTo(px(p.probe[0]), plot.y + plot.h);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  // trajectory
  if (p.path && p.path.length > 1) {
    ctx.strokeStyle = 'rgba(255,255,255,0.95)';
    ctx.lineWidth = 2 * s;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    p.path.forEach(([a, b], i) => (i ? ctx.lineTo(px(a), py(b)) : ctx.moveTo(px(a), py(b))));
    ctx.stroke();
    ctx.fillStyle = '#ffffff';
    for (const [a, b] of p.path) {
      ctx.beginPath();
      ctx.arc(px(a), py(b), 2.2 * s, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  if (p.crosses?.length)
    drawCrosses(
      ctx,
      p.crosses.map(([a, b]) => [px(a), py(b)]),
      4 * s,
      s,
    );
  ctx.restore();
  if (p.marker) {
    ctx.fillStyle = '#ffb545';
    ctx.strokeStyle = '#1b1200';
    ctx.lineWidth = 1.5 * s;
    ctx.beginPath();
    ctx.arc(px(p.marker[0]), py(p.marker[1]), 5 * s, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
  }

  // frame + axes
  ctx.strokeStyle = 'rgba(150,160,185,0.35)';
  ctx.lineWidth = 1;
  ctx.strokeRect(Math.round(plot.x) + 0.5, Math.round(plot.y) + 0.5, Math.round(plot.w), Math.round(plot.h));
  ctx.font = `${10.5 * s}px ${theme.font}`;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of niceTicks(x.min, x.max, Math.max(2, Math.round(plot.w / (60 * s))))) {
    ctx.fillText(fmt(t), px(t), plot.y + plot.h + 5 * s);
  }
  if (p.xLabel) ctx.fillText(p.xLabel, plot.x + plot.w / 2, plot.y + plot.h + 19 * s);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of niceTicks(y.min, y.max, Math.max(2, Math.round(plot.h / (45 * s))))) {
    ctx.fillText(fmt(t), plot.x - 5 * s, py(t));
  }
  if (p.yLabel) {
    ctx.save();
    ctx.translate(r.x + 9 * s, plot.y + plot.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(p.yLabel, 0, 0);
    ctx.restore();
  }

  // colour bar
  drawColorbar(ctx, { x: area.x + area.w + cbGap, y: plot.y, w: cbW, h: plot.h }, p.cmap, p.lo, p.hi, p.label ?? fmt, theme, p.colorbarTitle);
  ctx.restore();

  return {
    plot,
    toData: (qx, qy) => {
      if (qx < plot.x || qx > plot.x + plot.w || qy < plot.y || qy > plot.y + plot.h) return null;
      return [x.min + (qx - plot.x) / k, y.min + (plot.y + plot.h - qy) / k];
    },
  };
}

/** × marks at pixel positions, white on a dark outline. */
function drawCrosses(ctx: CanvasRenderingContext2D, at: [number, number][], r: number, s: number): void {
  const path = new Path2D();
  for (const [x, y] of at) {
    path.moveTo(x - r, y - r);
    path.lineTo(x + r, y + r);
    path.moveTo(x - r, y + r);
    path.lineTo(x + r, y - r);
  }
  ctx.lineCap = 'round';
  ctx.strokeStyle = 'rgba(0,0,0,0.8)';
  ctx.lineWidth = 3.5 * s;
  ctx.stroke(path);
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 1.6 * s;
  ctx.stroke(path);
}

export function drawColorbar(
  ctx: CanvasRenderingContext2D,
  r: Rect,
  cmap: Colormap,
  lo: number,
  hi: number,
  label: (v: number) => string,
  theme: Theme = DARK,
  title?: string,
): void {
  const s = theme.scale;
  const g = ctx.createLinearGradient(0, r.y + r.h, 0, r.y);
  for (let q = 0; q <= 16; q++) {
    const k = lutIndex(q / 16) * 3;
    g.addColorStop(q / 16, `rgb(${cmap.srgb[k]},${cmap.srgb[k + 1]},${cmap.srgb[k + 2]})`);
  }
  ctx.fillStyle = g;
  ctx.fillRect(r.x, r.y, r.w, r.h);
  ctx.strokeStyle = 'rgba(150,160,185,0.35)';
  ctx.strokeRect(r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1);
  ctx.font = `${10 * s}px ${theme.font}`;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const n = Math.max(2, Math.min(6, Math.floor(r.h / (28 * s))));
  const labels = new Set<string>();
  for (let q = 0; q <= n; q++) {
    const v = lo + ((hi - lo) * q) / n;
    const text = label(v);
    if (labels.has(text)) continue;
    labels.add(text);
    ctx.fillText(text, r.x + r.w + 4 * s, r.y + r.h - (q / n) * r.h);
  }
  if (title) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText(title, r.x + r.w, r.y - 3 * s);
  }
}
