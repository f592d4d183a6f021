/** Training curves of the focused run under the timeline, the current step marked. */

import { HiDpiCanvas } from '../dom.js';
import { drawTrainingCurves } from '../draw/curves.js';
import { DARK } from '../draw/plot.js';
import type { Panel, PanelFactory, PanelHost, PanelState } from './panel.js';

class CurvesPanel implements Panel {
  readonly id = 'curves';
  readonly title = 'Training curves';
  readonly slot = 'timeline';
  readonly element: HTMLElement;
  private canvas: HiDpiCanvas;

  constructor(host: PanelHost) {
    this.canvas = new HiDpiCanvas('ls-curves', () => host.redraw());
    this.element = this.canvas.canvas;
  }

  render(s: PanelState): void {
    const c = this.canvas;
    const ctx = c.context();
    if (!s.run) return;
    drawTrainingCurves(ctx, { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height }, s.run, s.view, { ...DARK, scale: c.ratio });
  }

  dispose(): void {
    this.canvas.dispose();
  }
}

export const curvesPanel: PanelFactory = (host) => new CurvesPanel(host);
