/**
 * |λmin/λmax| of the focused run at the current checkpoint, on the surface
 * grid (negative vs positive curvature), with a × on every map point whose
 * extremes were not certified. Only for scenes with Hessian maps.
 */
import { colormap } from '../../../core/colormap.js';
import { uncertifiedPoints } from '../data.js';
import { HiDpiCanvas, h } from '../dom.js';
import { drawHeatmap } from '../draw/heatmap.js';
import { DARK } from '../draw/plot.js';
import { fmt } from '../draw/ticks.js';
import { card, type Panel, type PanelFactory, type PanelHost, type PanelState } from './panel.js';

class HessianPanel implements Panel {
  readonly id = 'hessian';
  readonly title = '|λmin/λmax|';
  readonly slot = 'side';
  readonly element: HTMLElement;
  private canvas: HiDpiCanvas;
  private note = h('span', { class: 'ls-muted' }, '');

  constructor(private host: PanelHost) {
    this.canvas = new HiDpiCanvas('ls-heat', () => host.redraw());
    this.element = card(h('span', {}, '|λmin/λmax|'), this.note, [this.canvas.canvas], 'ls-hessian');
  }

  render(s: PanelState): void {
    const { look, run, view } = s;
    if (!run) return;
    const c = this.canvas;
    const ctx = c.context();
    const pca = view.plane === 'pca' && !!run.pca?.field;
    const ratio = look?.ratio;
    if (!ratio || !look || pca) {
      this.note.textContent = pca ? 'not on the PCA plane' : 'no Hessian map at this checkpoint';
      return;
    }
    const crosses = uncertifiedPoints(run, view.t);
    const [lo, hi] = this.host.scene.hessianRange(s.focus, view, ratio);
    drawHeatmap(
      ctx,
      { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height },
      { field: look.grid, values: ratio, lo, hi, cmap: colormap(view.colormap), contours: 6, xLabel: 'α', yLabel: 'β', probe: s.probe, crosses },
      { ...DARK, scale: c.ratio },
    );
    const n = crosses.length;
    const uncertified = n ? ` · × ${n} point${n > 1 ? 's' : ''} not certified` : '';
    this.note.textContent = `0 to ${fmt(hi)}: ${look.rangeNote}${uncertified}`;
  }

  dispose(): void {
    this.canvas.dispose();
  }
}

export const hessianPanel: PanelFactory = (host) => (host.scene.hasHessian ? new HessianPanel(host) : null);
