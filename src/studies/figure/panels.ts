/**
 * Building blocks of the study figures, which are drawn from the files a
 * study wrote (so a figure can be redrawn without recomputing): the last
 * landscape of a run folder, one colour range over several panels.
 */
import { join } from 'node:path';
import { type GridFile, readGridFile } from '../../jobs/grid-file.js';
import { type FrameInfo, type Manifest, RunStore } from '../../store/run-store.js';
import { fmtNumber } from '../tables.js';
import { type Panel, sharedRange } from './svg.js';

/** A number in a subtitle: 3 significant digits, '—' when absent. */
export const f3 = (v: number | undefined) => (v === undefined ? '—' : fmtNumber(v, 3));

/** Last finished frame of a run folder. */
export async function lastFrame(dir: string): Promise<{ m: Manifest; frame: FrameInfo; gf: GridFile }> {
  const m = new RunStore(dir).readManifest();
  const fr = [...m.frames]
    .filter((f) => f.surface)
    .sort((a, b) => a.checkpoint - b.checkpoint)
    .pop();
  if (!fr) throw new Error(`${dir}: no finished landscape`);
  return { m, frame: fr, gf: await readGridFile(join(dir, fr.surface!)) };
}

/** The panels with one shared colour range (log or linear). */
export function withRange(panels: Panel[], log: boolean): Panel[] {
  const range = sharedRange(
    panels.map((p) => p.values),
    log,
  );
  return panels.map((p) => ({ ...p, range, log }));
}
