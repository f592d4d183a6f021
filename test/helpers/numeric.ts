/** Numeric comparisons shared by tests. */

/** max |a_i − b_i| / max |b_i| (the largest difference in units of b's largest magnitude). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}
