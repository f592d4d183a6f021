/**
 * How honest the current frame's plane is (scene `planes`, written by run/planes.ts): on the
 * heatmap of the focused run, a marker where the next checkpoint projects onto the plane with an
 * arrow from the centre, and the training path as far as it stays near the plane; the next
 * checkpoint's distance off the plane as a number and a bar (the part of the step the plane
 * shows); the plane's hidden-curvature report, flagged when it hides a saddle.
 */
import { colormap } from '../../../core/colormap.js';
import type { PlaneFrameScene } from '../../shared/planes.js';
import type { RunData } from '../data.js';
import { HiDpiCanvas, h } from '../dom.js';
import { drawHeatmap, type HeatmapLayout } from '../draw/heatmap.js';
import { DARK } from '../draw/plot.js';
import { fmt } from '../draw/ticks.js';
import { card, type Panel, type PanelFactory, type PanelHost, type PanelState } from './panel.js';

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

class PlanesPanel implements Panel {
  readonly id = 'planes';
  readonly title = 'Next checkpoint and hidden curvature';
  readonly slot = 'side';
  readonly element: HTMLElement;
  private canvas: HiDpiCanvas;
  private note = h('span', { class: 'ls-muted' }, '');
  private offText = h('div', { class: 'ls-readout', 'data-role': 'off-plane' }, '');
  private barFill = h('div', { class: 'ls-plane-bar-fill' });
  private report = h('div', { class: 'ls-readout', 'data-role': 'curvature' }, '');

  constructor(host: PanelHost) {
    this.canvas = new HiDpiCanvas('ls-heat', () => host.redraw());
    const bar = h('div', { class: 'ls-plane-bar', title: 'part of the step to the next checkpoint that lies in the plane' }, this.barFill);
    this.element = card(h('span', {}, 'Plane vs path and curvature'), this.note, [this.canvas.canvas, this.offText, bar, this.report], 'ls-planes');
  }

  render(s: PanelState): void {
    const { look, run, view } = s;
    if (!run || !look) return;
    const p = planeFrameAt(run, view.t);
    if (view.plane === 'pca' || !p) {
      this.note.textContent = view.plane === 'pca' ? 'not on the PCA plane' : 'no plane data at this checkpoint';
      return;
    }
    const c = this.canvas;
    const ctx = c.context();
    const layout = drawHeatmap(
      ctx,
      { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height },
      {
        field: look.grid,
        values: look.heights,
        lo: look.lo,
        hi: look.cap,
        cmap: colormap(view.colormap),
        contours: 8,
        label: look.colorLabel,
        xLabel: 'α',
        yLabel: 'β',
        path: nearStretch(p),
        marker: p.next ? [p.next.alpha, p.next.beta] : null,
      },
      { ...DARK, scale: c.ratio },
    );
    if (p.next) drawArrow(ctx, layout, look.grid, [p.next.alpha, p.next.beta], c.ratio);
    this.note.textContent = p.next ? `next: checkpoint ${p.next.checkpoint}` : 'last checkpoint';
    this.showOffPlane(p);
    this.showCurvature(p);
  }

  private showOffPlane(p: PlaneFrameScene): void {
    const n = p.next;
    this.barFill.style.width = n ? `${(100 * n.captured).toFixed(1)}%` : '0%';
    this.offText.textContent = n
      ? `next at α ${fmt(n.alpha)}, β ${fmt(n.beta)} · off the plane ${fmt(n.offPlane)}${p.unitX ? ` (${fmt(n.offPlane / p.unitX)} α-units)` : ''} · ${(100 * n.captured).toFixed(1)}% of the step in the plane`
      : 'no next checkpoint';
  }

  private showCurvature(p: PlaneFrameScene): void {
    const k = p.curvature;
    this.report.classList.toggle('ls-warn', !!k?.hiddenSaddle);
    if (!k) {
      this.report.textContent = 'no curvature report (config section curvature, or losscape planes RUN)';
      return;
    }
    const eig = k.planeEigenvalues.map((v) => fmt(v)).join(', ');
    this.report.textContent =
      `in-plane curvature α ${fmt(k.curvatureX)}, β ${fmt(k.curvatureY)} · plane eigenvalues ${eig} · full λmin ${fmt(k.lambdaMin)}, λmax ${fmt(k.lambdaMax)}` +
      (k.hiddenSaddle ? ` · HIDDEN SADDLE: λmin < −${k.epsilon}·λmax but the plane looks convex` : '');
  }

  dispose(): void {
    this.canvas.dispose();
  }
}

/** An arrow from the centre (0, 0) to `to`, in the heatmap's data coordinates, clipped to the plot. */
function drawArrow(
  ctx: CanvasRenderingContext2D,
  layout: HeatmapLayout,
  g: { x: { min: number; max: number }; y: { min: number } },
  to: [number, number],
  s: number,
): void {
  const { plot } = layout;
  const k = plot.w / (g.x.max - g.x.min || 1);
  const px = (a: number) => plot.x + (a - g.x.min) * k;
  const py = (b: number) => plot.y + plot.h - (b - g.y.min) * k;
  const [x0, y0, x1, y1] = [px(0), py(0), px(to[0]), py(to[1])];
  const ang = Math.atan2(y1 - y0, x1 - x0);
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  ctx.strokeStyle = '#ff5c8a';
  ctx.fillStyle = '#ff5c8a';
  ctx.lineWidth = 2 * s;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
  const head = 8 * s;
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(ang - 0.4), y1 - head * Math.sin(ang - 0.4));
  ctx.lineTo(x1 - head * Math.cos(ang + 0.4), y1 - head * Math.sin(ang + 0.4));
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

export const planesPanel: PanelFactory = (host) => (host.scene.ok.some((r) => r.scene.planes?.length) ? new PlanesPanel(host) : null);
