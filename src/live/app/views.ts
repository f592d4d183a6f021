/**
 * The playground's pictures: the lit 3-D landscape (the viewer's SurfaceView), the decision
 * boundary over the data, the |λmin/λmax| map, the training curves and λmax against 2/η
 * (the viewer's line plot).
 */
import { type Colormap, colormap, lutIndex } from '../../core/colormap.js';
import type { Grid } from '../../core/grid.js';
import type { Dataset } from '../../data/dataset.js';
import { DARK, drawLinePlot, type Series } from '../../viewer/app/draw/plot.js';
import { DEFAULT_CAMERA, SurfaceView } from '../../viewer/app/draw/surface3d.js';
import type { HistoryRow } from '../session.js';

/** Class colours of the 2-D data and its decision regions (up to 8 classes). */
const CLASS_RGB = [
  [122, 162, 247],
  [224, 175, 104],
  [158, 206, 106],
  [247, 118, 142],
  [187, 154, 247],
  [125, 207, 255],
  [255, 158, 100],
  [192, 202, 245],
];

/** Size a canvas's backing store to its CSS box; returns its size in CSS pixels. */
function fitCanvas(canvas: HTMLCanvasElement): { w: number; h: number } {
  const r = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round(r.width));
  const h = Math.max(1, Math.round(r.height));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  return { w, h };
}

export class LandscapeView {
  private readonly view: SurfaceView;
  private readonly cmap: Colormap = colormap('viridis');

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.view = new SurfaceView(canvas, { interactive: false });
    this.view.orbit(0.35, DEFAULT_CAMERA);
  }

  /** Heights are log10(loss); the colour is the loss. */
  show(grid: Grid, loss: Float64Array): void {
    const { w, h } = fitCanvas(this.canvas);
    this.view.setSize(w, h, 1);
    const heights = Float32Array.from(loss, (v) => Math.log10(v));
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of heights) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const y = grid.y ?? grid.x;
    this.view.show({
      grid: { x: grid.x, y, nx: grid.x.n, ny: y.n },
      heights,
      lo,
      cap: hi > lo ? hi : lo + 1,
      exaggeration: 1,
      colors: heights,
      colorLo: lo,
      colorHi: hi > lo ? hi : lo + 1,
      cmap: this.cmap,
      contours: 12,
      marker: [0, 0],
    });
    this.view.render();
  }
}

/** Decision regions (class probabilities blended) under the data points. */
export function drawBoundary(canvas: HTMLCanvasElement, probs: Float32Array, res: number, classes: number, box: number[], data: Dataset): void {
  const { w: cw, h: ch } = fitCanvas(canvas);
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, cw, ch);
  const side = Math.min(cw, ch);
  ctx.setTransform(1, 0, 0, 1, (cw - side) / 2, (ch - side) / 2);
  const w = side;
  const h = side;
  const img = ctx.createImageData(res, res);
  for (let i = 0; i < res; i++) {
    for (let j = 0; j < res; j++) {
      const k = i * res + j;
      const rgb = [0, 0, 0];
      for (let c = 0; c < classes; c++) {
        const p = probs[k * classes + c]!;
        const col = CLASS_RGB[c % CLASS_RGB.length]!;
        for (let q = 0; q < 3; q++) rgb[q]! += p * col[q]!;
      }
      const o = 4 * ((res - 1 - i) * res + j);
      for (let q = 0; q < 3; q++) img.data[o + q] = 0.45 * rgb[q]! + 0.55 * 20;
      img.data[o + 3] = 255;
    }
  }
  const tmp = document.createElement('canvas');
  tmp.width = res;
  tmp.height = res;
  tmp.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, 0, 0, w, h);
  const [x0, x1, y0, y1] = box as [number, number, number, number];
  for (let i = 0; i < data.y.length; i++) {
    const px = ((data.x[2 * i]! - x0) / (x1 - x0)) * w;
    const py = (1 - (data.x[2 * i + 1]! - y0) / (y1 - y0)) * h;
    const col = CLASS_RGB[data.y[i]! % CLASS_RGB.length]!;
    ctx.fillStyle = `rgb(${col[0]},${col[1]},${col[2]})`;
    ctx.beginPath();
    ctx.arc(px, py, 2.2, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
}

/** The |λmin/λmax| map (magma on [0, 1]); points not yet computed are dark. */
export function drawRatioMap(canvas: HTMLCanvasElement, n: number, ratio: Float64Array): void {
  const { w: cw, h: chh } = fitCanvas(canvas);
  const ctx = canvas.getContext('2d')!;
  const cm = colormap('magma');
  ctx.clearRect(0, 0, cw, chh);
  const w = Math.min(cw, chh);
  const h = w;
  ctx.setTransform(1, 0, 0, 1, (cw - w) / 2, (chh - h) / 2);
  ctx.fillStyle = '#101218';
  ctx.fillRect(0, 0, w, h);
  const cellW = w / n;
  const cellH = h / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = ratio[i * n + j]!;
      if (!Number.isFinite(v)) continue;
      const q = lutIndex(Math.min(1, v)) * 3;
      ctx.fillStyle = `rgb(${cm.srgb[q]},${cm.srgb[q + 1]},${cm.srgb[q + 2]})`;
      ctx.fillRect(j * cellW, h - (i + 1) * cellH, Math.ceil(cellW), Math.ceil(cellH));
    }
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
}

/** Training curves: minibatch loss, full train/test loss, accuracy. */
export function drawCurves(canvas: HTMLCanvasElement, batchLoss: number[], history: HistoryRow[]): void {
  const { w, h } = fitCanvas(canvas);
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, w, h);
  const every = Math.max(1, Math.floor(batchLoss.length / 400));
  const bx: number[] = [];
  const by: number[] = [];
  for (let i = 0; i < batchLoss.length; i += every) {
    bx.push(i + 1);
    by.push(batchLoss[i]!);
  }
  const steps = history.map((r) => r.step);
  const series: Series[] = [
    { xs: bx, ys: by, color: '#565f89', width: 1, label: 'batch loss' },
    { xs: steps, ys: history.map((r) => r.train_loss), color: '#7aa2f7', label: 'train loss' },
    { xs: steps, ys: history.map((r) => r.test_loss ?? Number.NaN), color: '#7aa2f7', dash: [5, 4], label: 'test loss' },
    { xs: steps, ys: history.map((r) => r.train_acc), color: '#e0af68', axis: 'right', label: 'train acc' },
  ];
  drawLinePlot(ctx, { x: 0, y: 0, w, h }, { series, x: { label: 'step' }, left: { label: 'loss', log: true }, right: { label: 'acc %' }, legend: true }, DARK);
}

export interface EosRow {
  step: number;
  lambdaMax: number;
  twoOverLr: number;
}

/** λmax at the current weights against 2/η (edge of stability). */
export function drawEdgeOfStability(canvas: HTMLCanvasElement, rows: EosRow[]): void {
  const { w, h } = fitCanvas(canvas);
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, w, h);
  const xs = rows.map((r) => r.step);
  drawLinePlot(
    ctx,
    { x: 0, y: 0, w, h },
    {
      series: [
        { xs, ys: rows.map((r) => r.lambdaMax), color: '#f7768e', label: 'λmax' },
        { xs, ys: rows.map((r) => r.twoOverLr), color: '#9aa5ce', dash: [5, 4], label: '2/η' },
      ],
      x: { label: 'step' },
      left: { label: 'λ', log: true },
      legend: true,
    },
    DARK,
  );
}

/** A one-line note in place of a plot (e.g. no decision boundary for image data). */
export function drawNote(canvas: HTMLCanvasElement, text: string): void {
  const { w, h } = fitCanvas(canvas);
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = '#888';
  ctx.font = '13px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText(text, w / 2, h / 2);
}
