/**
 * Loss surfaces: L(θ + α·δ + β·η) and accuracy over a 1-D or 2-D grid, on the
 * evaluation subset (and optionally a test subset), resumable (see grid-job.ts).
 */

import { formatAxis, type Grid, gridPoints } from '../core/grid.js';
import { hashBytes, hashJSON } from '../core/hash.js';
import type { LossEngine } from '../engine/engine.js';
import type { H5Tree } from '../io/h5.js';
import type { GridFile } from '../jobs/grid-file.js';
import { chunkCount, type GridProgress, runGridJob } from '../jobs/grid-job.js';
import { formatShard, type Shard, shardChunks } from '../jobs/shard.js';

export interface SurfaceRequest {
  theta: Float32Array;
  dx: Float32Array;
  /** Absent for a 1-D slice. */
  dy?: Float32Array;
  grid: Grid;
  /** Engines by split name: `train` is required (the evaluation subset), `test` optional. */
  engines: { train: LossEngine; test?: LossEngine };
  path: string;
  /** Everything else the values depend on (model, data subset, mode…), for the fingerprint. */
  context: unknown;
  chunkSize?: number;
  chunks?: number[];
  /** Compute only this shard's block of chunks (write `path` = shardPath(out, shard)). */
  shard?: Shard;
  /** Chunks evaluated at once; default: what the engines can run in parallel (their workers). */
  concurrency?: number;
  fresh?: boolean;
  saveEverySec?: number;
  attrs?: Record<string, string | number>;
  extra?: H5Tree;
  onProgress?(p: GridProgress): void;
}

export const DEFAULT_CHUNK = 64;

/** A landscape needs a finite loss at its centre; NaN/Inf there means broken weights or data. */
export function checkCentre(m: { loss: number }, what: string): void {
  if (!Number.isFinite(m.loss)) {
    throw new Error(`the loss at ${what} is ${m.loss}: the weights or the data contain NaN/Inf (or the model diverged); nothing was computed`);
  }
}

export function surfaceChannels(hasTest: boolean): string[] {
  return hasTest ? ['train_loss', 'train_acc', 'test_loss', 'test_acc'] : ['train_loss', 'train_acc'];
}

export function surfaceFingerprint(req: Pick<SurfaceRequest, 'theta' | 'dx' | 'dy' | 'grid' | 'engines' | 'context' | 'chunkSize'>): string {
  return hashJSON({
    kind: 'surface',
    theta: hashBytes(req.theta),
    dx: hashBytes(req.dx),
    dy: req.dy ? hashBytes(req.dy) : null,
    x: formatAxis(req.grid.x),
    y: req.grid.y ? formatAxis(req.grid.y) : null,
    engines: Object.fromEntries(Object.entries(req.engines).map(([k, e]) => [k, e ? `${e.description} n=${e.samples}` : null])),
    chunk: req.chunkSize ?? DEFAULT_CHUNK,
    context: req.context,
  });
}

export async function computeSurface(req: SurfaceRequest): Promise<GridFile> {
  const chunkSize = req.chunkSize ?? DEFAULT_CHUNK;
  const dy = req.dy ?? new Float32Array(req.dx.length);
  const splits = (['train', 'test'] as const).filter((s) => req.engines[s]);
  const chunks = req.shard ? shardChunks(chunkCount(req.grid, chunkSize), req.shard) : req.chunks;
  return runGridJob({
    path: req.path,
    grid: req.grid,
    channels: surfaceChannels(splits.includes('test')),
    fingerprint: surfaceFingerprint({ ...req, chunkSize }),
    attrs: {
      ...req.attrs,
      chunk: chunkSize,
      directions_hash: hashBytes(req.dx, dy),
      ...(req.shard ? { shard: formatShard(req.shard) } : {}),
    },
    extra: req.extra,
    chunkSize,
    chunks,
    concurrency: req.concurrency ?? Math.max(1, req.engines.train.concurrency ?? 1),
    fresh: req.fresh,
    saveEverySec: req.saveEverySec,
    onProgress: req.onProgress,
    async evaluate(start, end) {
      const pts = gridPoints(req.grid, start, end);
      const len = end - start;
      const out = new Float64Array(len * 2 * splits.length);
      for (let s = 0; s < splits.length; s++) {
        const r = await req.engines[splits[s]!]!.evaluatePlane(req.theta, req.dx, dy, pts);
        out.set(r.loss, 2 * s * len);
        out.set(r.acc, (2 * s + 1) * len);
      }
      return out;
    },
  });
}
