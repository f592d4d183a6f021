/** Small statistics over flat vectors (non-finite entries are skipped where it says so). */

/** Median of the finite entries (NaN if none). */
export function median(v: ArrayLike<number>): number {
  const a = Array.from(v)
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  if (!a.length) return Number.NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : 0.5 * (a[m - 1]! + a[m]!);
}

/** Mean of the finite entries (NaN if none). */
export function mean(v: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) continue;
    s += v[i]!;
    n++;
  }
  return n ? s / n : Number.NaN;
}

/** Sample standard deviation of the finite entries (0 for fewer than two). */
export function std(v: ArrayLike<number>): number {
  const m = mean(v);
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) continue;
    s += (v[i]! - m) ** 2;
    n++;
  }
  return n > 1 ? Math.sqrt(s / (n - 1)) : 0;
}

export function maxOf(v: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! > m) m = v[i]!;
  return m;
}

export function minOf(v: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! < m) m = v[i]!;
  return m;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
