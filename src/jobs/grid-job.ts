/**
 * A resumable computation over the points of a grid.
 *
 * The grid is cut into fixed chunks of `chunkSize` consecutive points (row-major),
 * so results never depend on where a run was interrupted or how the work was
 * split. Each finished chunk is appended to a journal at once; the HDF5 file is
 * rewritten atomically every `saveEverySec` seconds and at the end. A rerun
 * with the same fingerprint continues where the last one stopped; a different
 * fingerprint is refused (or, with `fresh`, starts over).
 */
import { existsSync } from 'node:fs';
import { LosscapeError } from '../core/errors.js';
import { type Grid, gridSize } from '../core/grid.js';
import type { H5Tree } from '../io/h5.js';
import { emptyGridFile, type GridFile, readGridFile, writeGridFile } from './grid-file.js';
import { Journal } from './journal.js';

export interface GridJob {
  path: string;
  grid: Grid;
  channels: string[];
  /** Identifies everything the values depend on; stored in the file. */
  fingerprint: string;
  attrs?: Record<string, string | number>;
  extra?: H5Tree;
  chunkSize: number;
  /** Values of chunk [start, end): channel-major, channels.length × (end − start). */
  evaluate(start: number, end: number): Promise<Float64Array>;
  /** Only these chunks (sharding); default all. */
  chunks?: number[];
  /**
   * Chunks evaluated at once (worker threads behind `evaluate`); each is journaled as it
   * completes. Values never depend on it. Default 1.
   */
  concurrency?: number;
  saveEverySec?: number;
  /** Ignore (overwrite) an existing file with another fingerprint. */
  fresh?: boolean;
  onProgress?(p: GridProgress): void;
}

export interface GridProgress {
  done: number;
  total: number;
  /** Points already finished when the job started (resumed). */
  resumed: number;
  /** Points computed by this process so far. */
  computed: number;
}

export function chunkCount(grid: Grid, chunkSize: number): number {
  return Math.ceil(gridSize(grid) / chunkSize);
}

/** Load what exists for this job (file + journal), or an empty result. */
export async function loadGridState(job: GridJob): Promise<GridFile> {
  const journal = new Journal(`${job.path}.journal`, job.fingerprint);
  let gf: GridFile | null = null;
  if (existsSync(job.path)) {
    const old = await readGridFile(job.path);
    if (old.attrs.fingerprint === job.fingerprint) gf = old;
    else if (!job.fresh) {
      throw new LosscapeError(
        'state',
        `${job.path} exists but was computed with a different configuration; use --fresh to recompute it or choose another output`,
      );
    }
  }
  gf ??= emptyGridFile(job.grid, job.channels, { ...job.attrs, fingerprint: job.fingerprint });
  for (const c of job.channels) gf.values[c] ??= new Float64Array(gridSize(job.grid)).fill(Number.NaN);
  const n = gridSize(job.grid);
  for (const r of journal.open()) applyChunk(gf, job, r.chunk, r.values, n);
  return gf;
}

function applyChunk(gf: GridFile, job: GridJob, chunk: number, values: Float64Array, n: number): void {
  const start = chunk * job.chunkSize;
  const end = Math.min(n, start + job.chunkSize);
  const len = end - start;
  if (values.length !== len * job.channels.length) return;
  job.channels.forEach((c, k) => gf.values[c]!.set(values.subarray(k * len, (k + 1) * len), start));
  gf.done.fill(1, start, end);
}

export async function runGridJob(job: GridJob): Promise<GridFile> {
  const n = gridSize(job.grid);
  const journal = new Journal(`${job.path}.journal`, job.fingerprint);
  const gf = await loadGridState(job);
  gf.attrs = { ...gf.attrs, ...job.attrs, fingerprint: job.fingerprint };
  const all = Array.from({ length: chunkCount(job.grid, job.chunkSize) }, (_, i) => i);
  const mine = job.chunks ?? all;
  const chunkDone = (c: number) => gf.done[c * job.chunkSize] === 1;
  const todo = mine.filter((c) => !chunkDone(c));
  const pointsIn = (c: number) => Math.min(n, (c + 1) * job.chunkSize) - c * job.chunkSize;
  const total = mine.reduce((a, c) => a + pointsIn(c), 0);
  const resumed = total - todo.reduce((a, c) => a + pointsIn(c), 0);
  let computed = 0;
  job.onProgress?.({ done: resumed, total, resumed, computed });
  const saveEvery = (job.saveEverySec ?? 5) * 1000;
  let lastSave = Date.now();
  let dirty = !existsSync(job.path);
  // completions (journal, file rewrites) run one at a time, in completion order
  let serial: Promise<void> = Promise.resolve();
  const finish = (c: number, values: Float64Array) =>
    (serial = serial.then(async () => {
      const start = c * job.chunkSize;
      const end = Math.min(n, start + job.chunkSize);
      journal.append(c, values);
      applyChunk(gf, job, c, values, n);
      computed += end - start;
      dirty = true;
      job.onProgress?.({ done: resumed + computed, total, resumed, computed });
      if (Date.now() - lastSave >= saveEvery) {
        await writeGridFile(job.path, gf, job.extra);
        journal.clear();
        lastSave = Date.now();
        dirty = false;
      }
    }));
  const queue = [...todo];
  let failed: unknown = null;
  const lane = async () => {
    while (queue.length > 0 && failed === null) {
      const c = queue.shift()!;
      const start = c * job.chunkSize;
      const end = Math.min(n, start + job.chunkSize);
      try {
        const values = await job.evaluate(start, end);
        await finish(c, values);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  const lanes = Math.max(1, Math.min(job.concurrency ?? 1, queue.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  await serial;
  if (failed !== null) {
    // keep what finished: the journal already holds it
    throw failed;
  }
  if (dirty) {
    await writeGridFile(job.path, gf, job.extra);
  }
  journal.clear();
  return gf;
}
