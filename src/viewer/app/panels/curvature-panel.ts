/**
 * The curvature timeline of the focused run under the timeline (λmax against 2/η; Adam's
 * preconditioned λmax against its threshold), the current checkpoint's values in a readout.
 * Only for scenes with a timeline (config `curvature: { timeline: true }`).
 */
import { HiDpiCanvas, h } from '../dom.js';
import { curvatureAt, drawCurvatureTimeline } from '../draw/curvature-timeline.js';
import { DARK } from '../draw/plot.js';
import { fmt } from '../draw/ticks.js';
import type { Panel, PanelFactory, PanelHost, PanelState } from './panel.js';

class CurvaturePanel implements Panel {
  readonly id = 'curvature';
  readonly title = 'Curvature timeline';
  readonly slot = 'timeline';
  readonly element: HTMLElement;
  private canvas: HiDpiCanvas;
  private readout = h('div', { class: 'ls-readout', 'data-role': 'curvature-now' }, '');

  constructor(host: PanelHost) {
    this.canvas = new HiDpiCanvas('ls-curves', () => host.redraw());
    this.element = h('div', { class: 'ls-curvature' }, this.canvas.canvas, this.readout);
  }

  render(s: PanelState): void {
    const run = s.run;
    if (!run?.scene.curvature?.length) {
      this.readout.textContent = 'no curvature timeline for this run';
      return;
    }
    const c = this.canvas;
    drawCurvatureTimeline(c.context(), { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height }, run, s.view, { ...DARK, scale: c.ratio });
    const r = curvatureAt(run, s.view.t);
    if (!r) return;
    const pre = r.preconditionedLambdaMax !== undefined ? ` · λmax(P⁻¹H) ${fmt(r.preconditionedLambdaMax)} vs ${fmt(r.preconditionedThreshold!)}` : '';
    this.readout.textContent = `step ${r.step}: λmax ${fmt(r.lambdaMax)} vs 2/η ${fmt(r.threshold)} (${((100 * r.lambdaMax) / r.threshold).toFixed(0)}%)${pre} · trace ${fmt(r.trace)} · ε-sharpness ${fmt(r.epsSharpness)}%`;
  }

  dispose(): void {
    this.canvas.dispose();
  }
}

export const curvaturePanel: PanelFactory = (host) => (host.scene.ok.some((r) => r.scene.curvature?.length) ? new CurvaturePanel(host) : null);
