/**
 * Sharding a grid job over machines: shard i of n computes a fixed, contiguous block of the
 * grid's chunks into its own file (`<out>.shard-i-of-n.h5`, same layout, the other points
 * unfinished); `mergeShardFiles` checks that the shards belong together (same fingerprint,
 * directions, grid and shard count, every shard complete) and writes the combined file, equal
 * to what one process would have written with the same chunk size.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { formatAxis, type Grid, gridSize } from '../core/grid.js';
import { type GridFile, readGridFile, writeGridFile } from './grid-file.js';

export interface Shard {
  /** 0-based, < count (Slurm's SLURM_ARRAY_TASK_ID, Kubernetes' JOB_COMPLETION_INDEX). */
  index: number;
  count: number;
}

/** "i/n" → shard (i counts from 0). */
export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new LosscapeError('input', `${flag} "${text}" must look like i/n with 0 ≤ i < n, e.g. 0/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count)
    throw new LosscapeError('input', `${flag} ${text}: i must be 0…${Math.max(0, count - 1)} for n = ${count} (shards count from 0)`);
  return { index, count };
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/** The chunks shard `s` computes: a contiguous block, balanced to ±1 chunk. */
export function shardChunks(chunks: number, s: Shard): number[] {
  const start = Math.floor((s.index * chunks) / s.count);
  const end = Math.floor(((s.index + 1) * chunks) / s.count);
  return Array.from({ length: end - start }, (_, i) => start + i);
}

/** `dir/name.h5` → `dir/name.shard-i-of-n.h5`. */
export function shardPath(path: string, s: Shard): string {
  const base = path.endsWith('.h5') ? path.slice(0, -3) : path;
  return `${base}.shard-${s.index}-of-${s.count}.h5`;
}

const SHARD_FILE = /^(.*)\.shard-(\d+)-of-(\d+)\.h5$/;

/** The output a shard file belongs to and its shard, or null for another name. */
export function parseShardPath(path: string): { target: string; shard: Shard } | null {
  const m = SHARD_FILE.exec(path);
  if (!m) return null;
  return { target: `${m[1]}.h5`, shard: { index: Number(m[2]), count: Number(m[3]) } };
}

/** Shard files next to `target` (e.g. surfaces/ckpt-0003.h5 → surfaces/ckpt-0003.shard-*-of-*.h5). */
export function findShardFiles(target: string): string[] {
  const dir = dirname(target);
  if (!existsSync(dir)) return [];
  const stem = basename(target).replace(/\.h5$/, '');
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${stem}.shard-`) && SHARD_FILE.test(f) && parseShardPath(f)!.target === `${stem}.h5`)
    .map((f) => join(dir, f))
    .sort();
}

function sameGrid(a: Grid, b: Grid): boolean {
  return formatAxis(a.x) === formatAxis(b.x) && (a.y ? (b.y ? formatAxis(a.y) === formatAxis(b.y) : false) : !b.y);
}

/**
 * Combine shard files into one grid file at `out`. Throws ShardError (one line) when they do
 * not belong together or do not cover the grid.
 */
export async function mergeShardFiles(paths: string[], out: string): Promise<GridFile> {
  if (paths.length === 0) throw new LosscapeError('input', 'no shard files to merge');
  const files: { path: string; gf: GridFile; shard: Shard }[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new LosscapeError('input', `${p}: no such file`);
    const gf = await readGridFile(p);
    const tag = gf.attrs.shard;
    if (typeof tag !== 'string')
      throw new LosscapeError('input', `${p} is not a shard file (no "shard" attribute); merge only takes files written with --shard`);
    files.push({ path: p, gf, shard: parseShard(tag, `${p}: shard attribute`) });
  }
  const first = files[0]!;
  const n = first.shard.count;
  for (const f of files) {
    if (f.shard.count !== n)
      throw new LosscapeError(
        'input',
        `${f.path} is shard ${formatShard(f.shard)} but ${first.path} is shard ${formatShard(first.shard)}: they come from different splits`,
      );
    if (f.gf.attrs.directions_hash !== first.gf.attrs.directions_hash) {
      throw new LosscapeError('input', `${f.path} was computed with other directions than ${first.path}; every shard must use the same directions`);
    }
    if (f.gf.attrs.fingerprint !== first.gf.attrs.fingerprint) {
      throw new LosscapeError(
        'input',
        `${f.path} was computed with another configuration than ${first.path} (model, checkpoint, data, grid, engine or chunk size differ)`,
      );
    }
    if (!sameGrid(f.gf.grid, first.gf.grid)) throw new LosscapeError('input', `${f.path} has another grid than ${first.path}`);
  }
  const seen = new Map<number, string>();
  for (const f of files) {
    const prev = seen.get(f.shard.index);
    if (prev) throw new LosscapeError('input', `shard ${formatShard(f.shard)} is given twice: ${prev} and ${f.path}`);
    seen.set(f.shard.index, f.path);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new LosscapeError(
      'input',
      `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} (have ${[...seen.keys()]
        .sort((a, b) => a - b)
        .map((i) => `${i}/${n}`)
        .join(', ')})`,
    );
  }
  const chunk = Number(first.gf.attrs.chunk);
  const total = gridSize(first.gf.grid);
  if (!Number.isInteger(chunk) || chunk < 1) throw new LosscapeError('input', `${first.path} has no valid "chunk" attribute`);
  const chunks = Math.ceil(total / chunk);
  const channels = Object.keys(first.gf.values);
  const merged: GridFile = {
    grid: first.gf.grid,
    values: Object.fromEntries(channels.map((c) => [c, new Float64Array(total).fill(Number.NaN)])),
    done: new Uint8Array(total),
    attrs: { ...first.gf.attrs },
  };
  delete merged.attrs.shard;
  for (const f of files.sort((a, b) => a.shard.index - b.shard.index)) {
    const mine = shardChunks(chunks, f.shard);
    for (const c of mine) {
      const start = c * chunk;
      const end = Math.min(total, start + chunk);
      for (let i = start; i < end; i++) {
        if (f.gf.done[i] !== 1) {
          const left = mine.reduce((a, cc) => a + (f.gf.done[cc * chunk] === 1 ? 0 : 1), 0);
          throw new LosscapeError(
            'input',
            `${f.path} (shard ${formatShard(f.shard)}) is incomplete: ${left} of its ${mine.length} chunks are not computed; rerun that shard`,
          );
        }
      }
      for (const ch of channels) {
        const v = f.gf.values[ch];
        if (!v) throw new LosscapeError('input', `${f.path} has no ${ch} values`);
        merged.values[ch]!.set(v.subarray(start, end), start);
      }
      merged.done.fill(1, start, end);
    }
  }
  await writeGridFile(out, merged);
  return merged;
}
