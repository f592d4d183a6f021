/** Axis ticks and number formatting for the 2-D plots. */

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

/** Labels for a set of ticks: `fmt`, with more digits when 3 significant ones would repeat a label. */
export function tickLabels(ticks: number[], format: (v: number, digits?: number) => string = fmt): string[] {
  for (let digits = 3; digits <= 7; digits++) {
    const labels = ticks.map((t) => format(t, digits));
    if (new Set(labels).size === labels.length) return labels;
  }
  return ticks.map((t) => format(t, 7));
}

/** Compact number: 3 significant digits (or `digits`), k/M for large, exponent for tiny. */
export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(digits)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(digits)}k`;
  if (a < 1e-3)
    return v
      .toExponential(digits - 2)
      .replace('e-', 'e−')
      .replace('-', '−');
  return String(+v.toPrecision(digits)).replace('-', '−');
}
