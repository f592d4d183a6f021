/** Round axis ticks, linear and logarithmic (the viewer's plots and 3-D axes, the studies' figures). */

/** About `count` round ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / Math.max(count, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Ticks for a log axis over positive [lo, hi]: decades, or 1-2-5 when the range is short. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > lo)) return niceTicks(lo, hi);
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.ceil(Math.log10(hi));
  const mult = d1 - d0 <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let d = d0; d <= d1; d++) {
    for (const m of mult) {
      const v = m * 10 ** d;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  if (out.length < 2) return niceTicks(lo, hi, 3);
  const stride = Math.ceil(out.length / 6);
  return out.filter((_, i) => i % stride === 0);
}
