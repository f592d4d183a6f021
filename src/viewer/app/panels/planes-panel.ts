/**
 * How honest the current frame's plane is (scene `planes`, written by run/planes.ts): on the
 * heatmap of the focused run, a marker where the next checkpoint projects onto the plane with an
 * arrow from the centre, and the training path as far as it stays near the plane; the next
 * checkpoint's distance off the plane as a number and a bar (the part of the step the plane
 * shows); the plane's hidden-curvature report, flagged when it hides a saddle.
 */
import { colormap } from '../../../core/colormap.js';
import type { PlaneFrameScene } from '../../shared/planes.js';
import { HiDpiCanvas, h } from '../dom.js';
import { drawPlaneMap, offPlaneText, planeFrameAt } from '../draw/plane-inset.js';
import { DARK } from '../draw/plot.js';
import { fmt } from '../draw/ticks.js';
import { card, type Panel, type PanelFactory, type PanelHost, type PanelState } from './panel.js';

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
    drawPlaneMap(c.context(), { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height }, look, p, colormap(view.colormap), { ...DARK, scale: c.ratio });
    this.note.textContent = p.next ? `next: checkpoint ${p.next.checkpoint}` : 'last checkpoint';
    this.barFill.style.width = `${(100 * (p.next?.captured ?? 0)).toFixed(1)}%`;
    this.offText.textContent = offPlaneText(p);
    this.showCurvature(p);
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

export const planesPanel: PanelFactory = (host) => (host.scene.ok.some((r) => r.scene.planes?.length) ? new PlanesPanel(host) : null);
