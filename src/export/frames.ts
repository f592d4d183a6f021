/**
 * Surfaces to export: one surface file, or the frames of a run folder (one per
 * checkpoint with a finished surface), plus the height transform of the
 * reference code's ParaView export: clip at zmax, then ln(z + 0.1).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { coordinates, type Grid } from '../core/grid.js';
import { readGridFile } from '../jobs/grid-file.js';
import { RunStore } from '../store/run-store.js';

export interface SurfaceFrame {
  /** e.g. "ckpt-0003" or the file name. */
  label: string;
  checkpoint?: number;
  step?: number;
  epoch?: number;
  grid: Grid;
  xs: Float64Array;
  /** [0] for 1-D surfaces. */
  ys: Float64Array;
  /** Channel → values, row-major [ny, nx]: element [i, j] = (x[j], y[i]). */
  values: Record<string, Float64Array>;
  /** 1 where the point is computed (and its value usable). */
  done: Uint8Array;
  source: string;
}

export interface FrameSelection {
  /** Checkpoint index of the frame (run folders); default the last frame. */
  frame?: number;
  all?: boolean;
}

const CHANNEL_ORDER = ['train_loss', 'train_acc', 'test_loss', 'test_acc'];

/** Channels in a fixed order: train_loss, train_acc, test_loss, test_acc, then the rest by name. */
function ordered(values: Record<string, Float64Array>): Record<string, Float64Array> {
  const rank = (k: string) => (CHANNEL_ORDER.includes(k) ? CHANNEL_ORDER.indexOf(k) : CHANNEL_ORDER.length);
  const keys = Object.keys(values).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, values[k]!]));
}

function frameFromGrid(label: string, source: string, gf: Awaited<ReturnType<typeof readGridFile>>, extra: Partial<SurfaceFrame> = {}): SurfaceFrame {
  return {
    label,
    grid: gf.grid,
    xs: coordinates(gf.grid.x),
    ys: gf.grid.y ? coordinates(gf.grid.y) : new Float64Array([0]),
    values: ordered(gf.values),
    done: gf.done,
    source,
    ...extra,
  };
}

/** Read the frames to export from a surface file or a run folder. */
export async function readSurfaceFrames(input: string, sel: FrameSelection = {}): Promise<SurfaceFrame[]> {
  if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
  if (!statSync(input).isDirectory()) {
    if (sel.frame !== undefined || sel.all) throw new Error(`${input}: --frame and --all select frames of a run folder, not of one surface file`);
    const gf = await readGridFile(input);
    return [frameFromGrid(input.replace(/^.*[\\/]/, '').replace(/\.h5$/, ''), input, gf)];
  }
  const store = new RunStore(input);
  if (!store.exists()) throw new Error(`${input} is not a run folder (no manifest.json) and not a surface file`);
  const m = store.readManifest();
  const frames = (m.frames ?? []).filter((f) => f.surface).sort((a, b) => a.checkpoint - b.checkpoint);
  if (frames.length === 0) throw new Error(`${input}: the run has no finished surfaces yet`);
  let chosen = frames;
  if (!sel.all) {
    const k = sel.frame ?? frames[frames.length - 1]!.checkpoint;
    const f = frames.find((x) => x.checkpoint === k);
    if (!f) throw new Error(`${input}: no surface for checkpoint ${k} (frames: ${frames.map((x) => x.checkpoint).join(', ')})`);
    chosen = [f];
  }
  const out: SurfaceFrame[] = [];
  for (const f of chosen) {
    const rel = f.surface!;
    if (rel.startsWith('/') || rel.split(/[\\/]/).includes('..')) throw new Error(`${input}: frame path "${rel}" leaves the run folder`);
    const gf = await readGridFile(join(input, rel));
    const ck = m.checkpoints.find((c) => c.index === f.checkpoint);
    out.push(
      frameFromGrid(`ckpt-${String(f.checkpoint).padStart(4, '0')}`, join(input, rel), gf, {
        checkpoint: f.checkpoint,
        step: ck?.step,
        epoch: ck?.epoch,
      }),
    );
  }
  return out;
}

export interface HeightOptions {
  /** The channel that gives the height (default train_loss). */
  channel?: string;
  /** ln(z + 0.1), after clipping (the reference code's `--log`). */
  log?: boolean;
  /** Clip heights above this value (in the channel's units, before the log; the reference's `zmax`). */
  clip?: number;
}

export interface Heights {
  channel: string;
  /** Transformed heights; invalid points hold the lowest valid height. */
  h: Float64Array;
  /** 1 where the value is computed and finite. */
  valid: Uint8Array;
  min: number;
  max: number;
}

export function heightsOf(f: SurfaceFrame, opts: HeightOptions = {}): Heights {
  const channel = opts.channel ?? 'train_loss';
  const v = f.values[channel];
  if (!v) throw new Error(`${f.source}: no channel "${channel}" (it has: ${Object.keys(f.values).join(', ')})`);
  if (opts.clip !== undefined && !(opts.clip > 0)) throw new Error(`clip must be a positive height, got ${opts.clip}`);
  const h = new Float64Array(v.length);
  const valid = new Uint8Array(v.length);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    let z = v[i]!;
    if (!f.done[i] || !Number.isFinite(z)) continue;
    if (opts.clip !== undefined && z > opts.clip) z = opts.clip;
    if (opts.log) z = Math.log(z + 0.1);
    if (!Number.isFinite(z)) continue;
    h[i] = z;
    valid[i] = 1;
    min = Math.min(min, z);
    max = Math.max(max, z);
  }
  if (!(min <= max)) throw new Error(`${f.source}: no computed, finite values of "${channel}" to export`);
  for (let i = 0; i < h.length; i++) if (!valid[i]) h[i] = min;
  return { channel, h, valid, min, max };
}

/** Grid cells (quads, as vertex indices v00, v01, v11, v10 counter-clockwise in the x-y plane) whose corners are all valid. */
export function validQuads(f: SurfaceFrame, valid: Uint8Array): Uint32Array {
  const nx = f.xs.length;
  const ny = f.ys.length;
  const out: number[] = [];
  for (let i = 0; i + 1 < ny; i++) {
    for (let j = 0; j + 1 < nx; j++) {
      const a = i * nx + j;
      const q = [a, a + 1, a + nx + 1, a + nx];
      if (q.every((k) => valid[k])) out.push(...q);
    }
  }
  return Uint32Array.from(out);
}

/** Quads → triangles (v00, v01, v11) and (v00, v11, v10). */
export function quadsToTriangles(q: Uint32Array): Uint32Array {
  const t = new Uint32Array((q.length / 4) * 6);
  for (let k = 0, o = 0; k < q.length; k += 4) {
    t[o++] = q[k]!;
    t[o++] = q[k + 1]!;
    t[o++] = q[k + 2]!;
    t[o++] = q[k]!;
    t[o++] = q[k + 2]!;
    t[o++] = q[k + 3]!;
  }
  return t;
}
