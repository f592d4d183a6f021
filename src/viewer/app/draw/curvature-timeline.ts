/**
 * The curvature timeline (scene `curvature`): λmax against the stability threshold 2/η at every
 * checkpoint, and for Adam the preconditioned λmax against its threshold (right axis), with the
 * current position marked like the training curves (the timeline panel and the movie HUD).
 */
import type { CurvatureRow } from '../../shared/planes.js';
import { type RunData, stepAt } from '../data.js';
import type { ViewState } from '../state.js';
import { DARK, drawLinePlot, type Rect, type Series } from './plot.js';

export const SHARPNESS = '#f7768e';
export const PRECONDITIONED = '#9ece6a';

/** The row of the checkpoint nearest the timeline position. */
export function curvatureAt(run: RunData, t: number): CurvatureRow | undefined {
  const st = stepAt(run, t);
  const rows = run.scene.curvature;
  if (!st || !rows?.length) return undefined;
  return rows.reduce((best, r) => (Math.abs(r.step - st.nearStep) < Math.abs(best.step - st.nearStep) ? r : best));
}

export function drawCurvatureTimeline(
  ctx: CanvasRenderingContext2D,
  rect: Rect,
  run: RunData,
  o: Pick<ViewState, 't'>,
  theme = DARK,
  background?: string,
): void {
  const rows = run.scene.curvature ?? [];
  const steps = rows.map((r) => r.step);
  const series: Series[] = [
    { xs: steps, ys: rows.map((r) => r.lambdaMax), color: SHARPNESS, label: 'λmax', dotsAt: steps },
    { xs: steps, ys: rows.map((r) => r.threshold), color: SHARPNESS, dash: [5, 4], label: '2/η' },
  ];
  const adam = rows.some((r) => r.preconditionedLambdaMax !== undefined);
  if (adam) {
    const pre = rows.map((r) => r.preconditionedLambdaMax ?? Number.NaN);
    series.push({ xs: steps, ys: pre, color: PRECONDITIONED, axis: 'right', label: 'λmax(P⁻¹H)' });
    series.push({
      xs: steps,
      ys: rows.map((r) => r.preconditionedThreshold ?? Number.NaN),
      color: PRECONDITIONED,
      dash: [5, 4],
      axis: 'right',
      label: 'Adam threshold',
    });
  }
  const st = stepAt(run, o.t);
  drawLinePlot(
    ctx,
    rect,
    {
      series,
      x: { label: 'step' },
      left: { label: 'λmax', min: 0 },
      ...(adam ? { right: { label: 'preconditioned', min: 0 } } : {}),
      ...(st ? { markerX: st.step } : {}),
      legend: true,
      ...(background ? { background } : {}),
    },
    theme,
  );
}
