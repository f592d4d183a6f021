/**
 * 1-D slices of the focused run's landscape through the crosshair, along both axes; through the
 * centre row or column of a run with subset error bars, a band shows the loss range over the other
 * evaluation subsets.
 */
import { nearestIndex, type SpreadBand, spreadAt, untransform } from '../data.js';
import type { RunLook } from '../decoded-scene.js';
import { HiDpiCanvas, h } from '../dom.js';
import { ACC, LOSS } from '../draw/curves.js';
import { DARK, drawLinePlot, type PlotAxis } from '../draw/plot.js';
import { fmt } from '../draw/ticks.js';
import { card, type Panel, type PanelFactory, type PanelHost, type PanelState } from './panel.js';

class SlicesPanel implements Panel {
  readonly id = 'slices';
  readonly title = '1-D slices';
  readonly slot = 'side';
  readonly element: HTMLElement;
  private alongX: HiDpiCanvas;
  private alongY: HiDpiCanvas;

  constructor(host: PanelHost) {
    this.alongX = new HiDpiCanvas('ls-slice', () => host.redraw());
    this.alongY = new HiDpiCanvas('ls-slice', () => host.redraw());
    this.element = card(h('span', {}, '1-D slices'), null, [this.alongX.canvas, this.alongY.canvas]);
  }

  render(s: PanelState): void {
    const { look, probe, view } = s;
    if (!look || !probe) return;
    const g = look.grid;
    const i0 = nearestIndex(g.ys, probe[1]);
    const j0 = nearestIndex(g.xs, probe[0]);
    const acc = look.layer === 'accuracy' && !!look.acc;
    const val = sliceValue(look, acc);
    const row = Float64Array.from({ length: g.nx }, (_, j) => val(i0 * g.nx + j));
    const col = Float64Array.from({ length: g.ny }, (_, i) => val(i * g.nx + j0));
    const axis: PlotAxis = acc ? { label: 'train acc %' } : { label: view.log ? 'train loss (log)' : 'train loss', log: view.log, shift: look.scale.shift };
    const pca = view.plane === 'pca';
    const xa = pca ? 'PC1' : 'α';
    const ya = pca ? 'PC2' : 'β';
    const color = acc ? ACC : LOSS;
    // bands: loss on the frames plane only, where the crosshair lies on the stored centre line
    const spread = !acc && !pca && s.run ? spreadAt(s.run, view.t) : undefined;
    const on = (a: number, b: number | undefined) => b !== undefined && Math.abs(a - b) < 1e-9 * (1 + Math.abs(b));
    const rowBand = spread && on(g.ys[i0]!, spread.rowY) && spread.row.lo.length === g.nx ? spread.row : undefined;
    const colBand = spread?.col && on(g.xs[j0]!, spread.colX) && spread.col.lo.length === g.ny ? spread.col : undefined;
    const note = (b: SpreadBand | undefined) => (b ? `, band: ${spread!.k} other subsets` : '');
    const draw = (c: HiDpiCanvas, xs: Float64Array, ys: Float64Array, label: string, marker: number, band: SpreadBand | undefined) =>
      drawLinePlot(
        c.context(),
        { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height },
        { series: [{ xs, ys, color, width: 1.8, ...(band ? { band } : {}) }], x: { label }, left: axis, markerX: marker },
        { ...DARK, scale: c.ratio },
      );
    draw(this.alongX, g.xs, row, `${xa}   (${ya} = ${fmt(g.ys[i0]!)}${note(rowBand)})`, g.xs[j0]!, rowBand);
    draw(this.alongY, g.ys, col, `${ya}   (${xa} = ${fmt(g.xs[j0]!)}${note(colBand)})`, g.ys[i0]!, colBand);
  }

  dispose(): void {
    this.alongX.dispose();
    this.alongY.dispose();
  }
}

/** Value at grid index k: accuracy as is, loss back on its own scale. */
function sliceValue(look: RunLook, acc: boolean): (k: number) => number {
  return acc ? (k) => look.acc![k]! : (k) => untransform(look.scale, look.heights[k]!);
}

export const slicesPanel: PanelFactory = (host) => new SlicesPanel(host);
