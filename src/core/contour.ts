/**
 * Marching squares over a row-major [ny, nx] field. Segments come out in grid
 * coordinates (column j, row i, fractional), which callers map to pixels or to
 * world space. Cells touching NaN are skipped; saddles are resolved by the
 * cell's mean value.
 */

/** Flat list of segments: [j0, i0, j1, i1, …] per level. */
export function contourSegments(values: ArrayLike<number>, nx: number, ny: number, level: number): number[] {
  const out: number[] = [];
  const at = (i: number, j: number) => values[i * nx + j]!;
  for (let i = 0; i < ny - 1; i++) {
    for (let j = 0; j < nx - 1; j++) {
      // corners: a (i, j), b (i, j+1), c (i+1, j+1), d (i+1, j)
      const a = at(i, j);
      const b = at(i, j + 1);
      const c = at(i + 1, j + 1);
      const d = at(i + 1, j);
      if (!(Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(d))) continue;
      const code = (a > level ? 1 : 0) | (b > level ? 2 : 0) | (c > level ? 4 : 0) | (d > level ? 8 : 0);
      if (code === 0 || code === 15) continue;
      const t = (p: number, q: number) => (p === q ? 0.5 : (level - p) / (q - p));
      // edge points: bottom (a-b), right (b-c), top (d-c), left (a-d)
      const eB = () => [j + t(a, b), i];
      const eR = () => [j + 1, i + t(b, c)];
      const eT = () => [j + t(d, c), i + 1];
      const eL = () => [j, i + t(a, d)];
      const seg = (p: number[], q: number[]) => out.push(p[0]!, p[1]!, q[0]!, q[1]!);
      switch (code) {
        case 1:
        case 14:
          seg(eL(), eB());
          break;
        case 2:
        case 13:
          seg(eB(), eR());
          break;
        case 3:
        case 12:
          seg(eL(), eR());
          break;
        case 4:
        case 11:
          seg(eR(), eT());
          break;
        case 6:
        case 9:
          seg(eB(), eT());
          break;
        case 7:
        case 8:
          seg(eL(), eT());
          break;
        case 5:
        case 10: {
          const centreAbove = (a + b + c + d) / 4 > level;
          // code 5: a and c above. If the centre is above, a and c are joined.
          if ((code === 5) === centreAbove) {
            seg(eL(), eT());
            seg(eB(), eR());
          } else {
            seg(eL(), eB());
            seg(eR(), eT());
          }
          break;
        }
      }
    }
  }
  return out;
}

/** `count` levels evenly spaced strictly inside (lo, hi). */
export function contourLevels(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo) || count < 1) return [];
  return Array.from({ length: count }, (_, k) => lo + ((k + 1) / (count + 1)) * (hi - lo));
}
