/** The grid a study evaluates: the given axes or the run's surface grid, and its centre. */
import type { Grid } from '../core/grid.js';
import { surfaceGrid } from '../run/pipeline.js';
import type { OpenedRun } from './run-access.js';

/**
 * The given axes, else the run's surface grid. `twoD`: a run with a 1-D
 * surface gets the y axis -1:1:41; otherwise a 1-D run gives a 1-D grid.
 */
export function studyGrid(run: OpenedRun, o: { x?: string; y?: string }, twoD: boolean): Grid {
  const s = run.cfg.surface;
  return surfaceGrid({ x: o.x ?? s.x, y: o.y ?? (twoD ? (s.y ?? '-1:1:41') : s.y) });
}

/** Index of the grid point (0, 0), if the grid has it. */
export function centreIndex(grid: Grid): number | null {
  const find = (a: { min: number; max: number; n: number }) => {
    if (a.n === 1) return a.min === 0 ? 0 : null;
    const step = (a.max - a.min) / (a.n - 1);
    const j = Math.round(-a.min / step);
    return j >= 0 && j < a.n && Math.abs(a.min + j * step) < 1e-9 * step ? j : null;
  };
  const j = find(grid.x);
  const i = grid.y ? find(grid.y) : 0;
  return j === null || i === null ? null : i * grid.x.n + j;
}
