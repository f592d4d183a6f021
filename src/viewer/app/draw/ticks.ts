/** Tick labels and number formatting for the plots (the ticks themselves: core/ticks.ts). */

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
