/** Surfaces as CSV: one row per grid point, columns x, y and every channel (long format; frames of a run stacked with checkpoint/step/epoch columns). */
import type { SurfaceFrame } from './frames.js';

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan';
}

export function surfacesToCsv(frames: SurfaceFrame[]): string {
  const channels = [...new Set(frames.flatMap((f) => Object.keys(f.values)))];
  const withRun = frames.some((f) => f.checkpoint !== undefined) && frames.length > 1;
  const cols = [...(withRun ? ['checkpoint', 'step', 'epoch'] : []), 'x', 'y', ...channels, 'computed'];
  const rows: string[] = [cols.join(',')];
  for (const f of frames) {
    const nx = f.xs.length;
    const n = nx * f.ys.length;
    for (let k = 0; k < n; k++) {
      const row: string[] = [];
      if (withRun) row.push(String(f.checkpoint ?? ''), String(f.step ?? ''), String(f.epoch ?? ''));
      row.push(num(f.xs[k % nx]!), f.grid.y ? num(f.ys[Math.floor(k / nx)]!) : '');
      for (const c of channels) row.push(f.done[k] && f.values[c] ? num(f.values[c]![k]!) : '');
      row.push(String(f.done[k] ?? 0));
      rows.push(row.join(','));
    }
  }
  return `${rows.join('\n')}\n`;
}
