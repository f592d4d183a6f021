/** Training curves (loss and accuracy against step) with the current position marked. */
import { type RunData, stepAt } from '../data.js';
import type { ViewState } from '../state.js';
import { DARK, drawLinePlot, type Rect, type Series } from './plot.js';
import { fmt } from './ticks.js';

export const LOSS = '#7aa2f7';
export const ACC = '#e0af68';

/** Training curves of a run with the current position marked (the timeline panel and the movie HUD). */
export function drawTrainingCurves(
  ctx: CanvasRenderingContext2D,
  rect: Rect,
  run: RunData,
  o: Pick<ViewState, 't' | 'log'>,
  theme = DARK,
  background?: string,
): void {
  const rows = run.scene.history.length ? run.scene.history : run.scene.checkpoints;
  const steps = rows.map((r) => r.step);
  const col = (k: 'train_loss' | 'test_loss' | 'train_acc' | 'test_acc') => rows.map((r) => r[k] ?? Number.NaN);
  const series: Series[] = [];
  const frameSteps = run.frames.map((f) => f.meta.step ?? f.meta.checkpoint);
  const has = (v: number[]) => v.some(Number.isFinite);
  const trl = col('train_loss');
  const tel = col('test_loss');
  const tra = col('train_acc');
  const tea = col('test_acc');
  if (has(trl)) series.push({ xs: steps, ys: trl, color: LOSS, label: 'train loss', dotsAt: frameSteps });
  if (has(tel)) series.push({ xs: steps, ys: tel, color: LOSS, dash: [5, 4], label: 'test loss' });
  if (has(tra)) series.push({ xs: steps, ys: tra, color: ACC, axis: 'right', label: 'train acc', dotsAt: frameSteps });
  if (has(tea)) series.push({ xs: steps, ys: tea, color: ACC, dash: [5, 4], axis: 'right', label: 'test acc' });
  if (series.length === 0 || rows.length < 1) {
    ctx.fillStyle = theme.muted;
    ctx.font = `${12 * theme.scale}px ${theme.font}`;
    ctx.fillText('no training history in this run', rect.x + 12 * theme.scale, rect.y + rect.h / 2);
    return;
  }
  const positive = [...trl, ...tel].filter(Number.isFinite).every((v) => v > 0);
  const hasAcc = has(tra) || has(tea);
  const st = stepAt(run, o.t);
  drawLinePlot(
    ctx,
    rect,
    {
      series,
      x: { label: 'step' },
      left: { label: 'loss', log: o.log && positive },
      ...(hasAcc ? { right: { label: 'acc %', format: (v: number) => `${fmt(v)}` } } : {}),
      ...(st ? { markerX: st.step } : {}),
      legend: true,
      ...(background ? { background } : {}),
    },
    theme,
  );
}
