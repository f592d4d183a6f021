/**
 * The trajectory relative to the current frame's plane (scene `planes`), drawn over a heatmap
 * of the frame: the next checkpoint's projection as a marker with an arrow from the centre, the
 * path as far as it stays near the plane, and (in the movie's inset) the next checkpoint's
 * distance off the plane as a number and a bar, and a hidden saddle when the plane's report flags
 * one. The planes panel and the movie renderer both draw with it.
 */
import type { Colormap } from '../../../core/colormap.js';
import type { PlaneFrameScene } from '../../shared/planes.js';
import type { RunData } from '../data.js';
import type { RunLook } from '../decoded-scene.js';
import { drawHeatmap, type HeatmapLayout } from './heatmap.js';
import type { Rect, Theme } from './plot.js';
import { fmt } from './ticks.js';

export const ARROW_COLOR = '#ff5c8a';

/** The planes entry of the frame nearest timeline position t. */
export function planeFrameAt(run: RunData, t: number): PlaneFrameScene | undefined {
  if (!run.scene.planes || run.frames.length === 0) return undefined;
  const k = Math.min(Math.max(Math.round(t), 0), run.frames.length - 1);
  const checkpoint = run.frames[k]!.meta.checkpoint;
  return run.scene.planes.find((p) => p.checkpoint === checkpoint);
}

/** The stretch of the path around the frame's own checkpoint whose points all lie near the plane. */
export function nearStretch(p: PlaneFrameScene): [number, number][] {
  const path = p.path ?? [];
  const at = path.findIndex((q) => q.checkpoint === p.checkpoint);
  if (at < 0) return [];
  let lo = at;
  let hi = at;
  while (lo > 0 && path[lo - 1]!.near) lo--;
  while (hi < path.length - 1 && path[hi + 1]!.near) hi++;
  return path.slice(lo, hi + 1).map((q) => [q.alpha, q.beta]);
}

/** The frame's heatmap with the near path, the next checkpoint's marker and the arrow to it. */
export function drawPlaneMap(ctx: CanvasRenderingContext2D, r: Rect, look: RunLook, p: PlaneFrameScene, cmap: Colormap, theme: Theme): HeatmapLayout {
  const layout = drawHeatmap(
    ctx,
    r,
    {
      field: look.grid,
      values: look.heights,
      lo: look.lo,
      hi: look.cap,
      cmap,
      contours: 8,
      label: look.colorLabel,
      xLabel: 'α',
      yLabel: 'β',
      path: nearStretch(p),
      marker: p.next ? [p.next.alpha, p.next.beta] : null,
    },
    theme,
  );
  if (p.next) drawArrow(ctx, layout, look.grid, [p.next.alpha, p.next.beta], theme.scale);
  return layout;
}

/** One line on the next checkpoint: where it projects, how far off the plane, how much of the step the plane shows. */
export function offPlaneText(p: PlaneFrameScene): string {
  const n = p.next;
  if (!n) return 'no next checkpoint';
  const units = p.unitX ? ` (${fmt(n.offPlane / p.unitX)} α-units)` : '';
  return `next at α ${fmt(n.alpha)}, β ${fmt(n.beta)} · off the plane ${fmt(n.offPlane)}${units} · ${(100 * n.captured).toFixed(1)}% of the step in the plane`;
}

/** The movie's inset: the plane map, a bar of the part of the step in the plane, the numbers, and a hidden saddle when flagged. */
export function drawPlaneInset(ctx: CanvasRenderingContext2D, r: Rect, look: RunLook, p: PlaneFrameScene, cmap: Colormap, theme: Theme): void {
  const u = theme.scale;
  ctx.save();
  ctx.fillStyle = 'rgba(20,26,41,0.85)';
  ctx.fillRect(r.x, r.y, r.w, r.h);
  const barH = 6 * u;
  const textH = 48 * u;
  drawPlaneMap(ctx, { x: r.x, y: r.y, w: r.w, h: r.h - textH - barH }, look, p, cmap, theme);
  const y = r.y + r.h - textH - barH;
  ctx.fillStyle = '#3a3f4b';
  ctx.fillRect(r.x + 8 * u, y, r.w - 16 * u, barH);
  ctx.fillStyle = ARROW_COLOR;
  ctx.fillRect(r.x + 8 * u, y, (r.w - 16 * u) * (p.next?.captured ?? 0), barH);
  ctx.font = `${11 * u}px system-ui, sans-serif`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  const n = p.next;
  const lines = n
    ? [
        `next checkpoint: ${(100 * n.captured).toFixed(1)}% of the step in the plane`,
        `off the plane ${fmt(n.offPlane)}${p.unitX ? ` = ${fmt(n.offPlane / p.unitX)} α-units` : ''}`,
      ]
    : ['last checkpoint'];
  const k = p.curvature;
  if (k?.hiddenSaddle) lines.push(`hidden saddle: λmin ${fmt(k.lambdaMin)}, plane ≥ ${fmt(Math.min(...k.planeEigenvalues))}`);
  lines.forEach((l, i) => {
    ctx.fillStyle = l.startsWith('hidden saddle') ? '#ffb347' : theme.text;
    ctx.fillText(l, r.x + 8 * u, y + barH + 3 * u + i * 14 * u);
  });
  ctx.restore();
}

/** An arrow from the centre (0, 0) to `to`, in the heatmap's data coordinates, clipped to the plot. */
function drawArrow(ctx: CanvasRenderingContext2D, layout: HeatmapLayout, g: Pick<RunLook['grid'], 'x' | 'y'>, to: [number, number], s: number): void {
  const { plot } = layout;
  const k = plot.w / (g.x.max - g.x.min || 1);
  const px = (a: number) => plot.x + (a - g.x.min) * k;
  const py = (b: number) => plot.y + plot.h - (b - g.y.min) * k;
  const [x0, y0, x1, y1] = [px(0), py(0), px(to[0]), py(to[1])];
  const ang = Math.atan2(y1 - y0, x1 - x0);
  const head = 8 * s;
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  ctx.strokeStyle = ARROW_COLOR;
  ctx.fillStyle = ARROW_COLOR;
  ctx.lineWidth = 2 * s;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(ang - 0.4), y1 - head * Math.sin(ang - 0.4));
  ctx.lineTo(x1 - head * Math.cos(ang + 0.4), y1 - head * Math.sin(ang + 0.4));
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}
