/**
 * The heatmap with contours of the focused run's layer: click to put the
 * slice crosshair on a point, double-click to put it back at the centre,
 * hover to read the values under the pointer.
 */
import { colormap } from '../../../core/colormap.js';
import { nearestIndex, pathPointAt, untransform } from '../data.js';
import { HiDpiCanvas, h } from '../dom.js';
import { drawHeatmap, type HeatmapLayout } from '../draw/heatmap.js';
import { DARK } from '../draw/plot.js';
import { fmt } from '../draw/ticks.js';
import { card, type Panel, type PanelFactory, type PanelHost, type PanelState } from './panel.js';

class HeatmapPanel implements Panel {
  readonly id = 'heatmap';
  readonly title = 'Heatmap with contours';
  readonly slot = 'side';
  readonly element: HTMLElement;
  private canvas: HiDpiCanvas;
  private heading = h('span', {}, 'Loss');
  private readout = h('div', { class: 'ls-readout' }, 'click the map to slice through a point');
  private layout: HeatmapLayout | null = null;
  private state: PanelState | null = null;

  constructor(host: PanelHost) {
    this.canvas = new HiDpiCanvas('ls-heat', () => host.redraw());
    const c = this.canvas.canvas;
    c.addEventListener('click', (e) => {
      const p = this.pointAt(e);
      if (p) host.select({ probe: p });
    });
    c.addEventListener('dblclick', () => host.select({ probe: null }));
    c.addEventListener('mousemove', (e) => this.hover(e));
    this.element = card(this.heading, h('span', { class: 'ls-muted' }, 'contours · click to slice'), [c, this.readout]);
  }

  render(s: PanelState): void {
    this.state = s;
    const { look, run, view } = s;
    if (!look) return;
    const pca = view.plane === 'pca' && !!run?.pca?.field;
    const values = look.layer === 'accuracy' ? look.acc! : look.layer === 'hessian' ? look.ratio! : look.heights;
    this.heading.textContent =
      look.layer === 'accuracy' ? 'Train accuracy' : look.layer === 'hessian' ? '|λmin/λmax|' : view.log ? 'Train loss (log scale)' : 'Train loss';
    const explained = pca && run?.pca?.explained ? run.pca.explained : null;
    const c = this.canvas;
    this.layout = drawHeatmap(
      c.context(),
      { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height },
      {
        field: look.grid,
        values,
        lo: look.layer === 'loss' ? look.lo : look.colorLo,
        hi: look.layer === 'loss' ? look.cap : look.colorHi,
        cmap: colormap(view.colormap),
        contours: 10,
        label: look.layer === 'loss' ? look.colorLabel : fmt,
        xLabel: explained ? `PC1 (${(explained[0] * 100).toFixed(0)}%)` : pca ? 'PC1' : 'α',
        yLabel: explained ? `PC2 (${(explained[1] * 100).toFixed(0)}%)` : pca ? 'PC2' : 'β',
        probe: s.probe,
        path: look.path,
        marker: pca && run ? pathPointAt(run, view.t) : null,
      },
      { ...DARK, scale: c.ratio },
    );
  }

  dispose(): void {
    this.canvas.dispose();
  }

  private hover(e: MouseEvent): void {
    const p = this.pointAt(e);
    const look = this.state?.look;
    if (!p || !look) return;
    const g = look.grid;
    const k = nearestIndex(g.ys, p[1]) * g.nx + nearestIndex(g.xs, p[0]);
    const pca = this.state!.view.plane === 'pca';
    const bits = [`${pca ? 'PC1' : 'α'} ${fmt(p[0])}`, `${pca ? 'PC2' : 'β'} ${fmt(p[1])}`, `loss ${fmt(untransform(look.scale, look.heights[k]!))}`];
    if (look.acc) bits.push(`acc ${fmt(look.acc[k]!)}%`);
    if (look.ratio) bits.push(`|λmin/λmax| ${fmt(look.ratio[k]!)}`);
    this.readout.textContent = bits.join('  ·  ');
  }

  /** The data point under the pointer, or null outside the map. */
  private pointAt(e: MouseEvent): [number, number] | null {
    if (!this.layout) return null;
    const r = this.canvas.canvas.getBoundingClientRect();
    return this.layout.toData((e.clientX - r.left) * this.canvas.ratio, (e.clientY - r.top) * this.canvas.ratio);
  }
}

export const heatmapPanel: PanelFactory = (host) => new HeatmapPanel(host);
