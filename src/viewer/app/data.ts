/**
 * The scene's runs decoded into typed arrays, and what is derived from them:
 * value scales (linear or log(loss + shift)), frame interpolation on the
 * timeline, Hessian maps resampled onto the surface grid. Pure functions and
 * plain data; no DOM.
 */
import type { Axis, FieldSet, FrameScene, MetricRow, RunScene, Scene } from '../shared/scene.js';

export interface Field {
  x: Axis;
  y: Axis;
  nx: number;
  ny: number;
  xs: Float64Array;
  ys: Float64Array;
  channels: Record<string, Float32Array>;
}

export interface FrameData {
  meta: FrameScene;
  surface: Field;
  hessian?: Field;
  /** eig_ratio bilinearly resampled onto the surface grid (computed on first use). */
  ratioOnSurface?: Float32Array;
}

export interface RunData {
  scene: RunScene;
  frames: FrameData[];
  pca?: { field?: Field; path: [number, number][]; explained?: [number, number] };
  hasHessian: boolean;
}

export function decodeFloats(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer, 0, bytes.length >> 2);
}

export function linspace(a: Axis): Float64Array {
  const out = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) out[i] = a.n === 1 ? a.min : a.min + ((a.max - a.min) * i) / (a.n - 1);
  return out;
}

export function decodeField(fs: FieldSet): Field {
  const nx = fs.x.n;
  const ny = fs.y.n;
  const channels: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(fs.channels)) {
    const a = decodeFloats(v);
    if (a.length !== nx * ny) throw new Error(`channel ${k} has ${a.length} values, expected ${nx}×${ny}`);
    channels[k] = a;
  }
  return { x: fs.x, y: fs.y, nx, ny, xs: linspace(fs.x), ys: linspace(fs.y), channels };
}

export function decodeRun(scene: RunScene): RunData {
  const frames = (scene.frames ?? []).map((meta) => {
    const fr: FrameData = { meta, surface: decodeField(meta.surface) };
    if (meta.hessian) fr.hessian = decodeField(meta.hessian);
    return fr;
  });
  const run: RunData = { scene, frames, hasHessian: frames.some((f) => f.hessian) };
  if (scene.pca) {
    run.pca = { path: scene.pca.path ?? [] };
    if (scene.pca.explained) run.pca.explained = scene.pca.explained;
    if (scene.pca.surface) run.pca.field = decodeField(scene.pca.surface);
  }
  return run;
}

/** Parse and check a scene document; throws one readable line when it is not one. */
export function checkScene(doc: unknown): Scene {
  const s = doc as Scene;
  if (!s || typeof s !== 'object' || !Array.isArray(s.runs)) throw new Error('the scene document is not a losscape scene');
  return s;
}

/** Titles of the 3-D view's axes: the plane's two directions and the height. */
export interface AxisTitles {
  x: string;
  y: string;
  z: string;
}

/* ---------- scales ---------- */

export interface Scale {
  log: boolean;
  shift: number;
  /** Range of transformed values over all frames shown together. */
  lo: number;
  hi: number;
}

export function transform(s: Pick<Scale, 'log' | 'shift'>, v: number): number {
  return s.log ? Math.log(v + s.shift) : v;
}

export function untransform(s: Pick<Scale, 'log' | 'shift'>, u: number): number {
  return s.log ? Math.exp(u) - s.shift : u;
}

/** A scale covering every finite value of `channel` in `fields`. */
export function makeScale(fields: Field[], channel: string, log: boolean): Scale {
  let min = Infinity;
  let max = -Infinity;
  for (const f of fields) {
    const v = f.channels[channel];
    if (!v) continue;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  if (!Number.isFinite(min)) return { log, shift: 0, lo: 0, hi: 1 };
  // log(loss + shift): shift only when some value is ≤ 0, just enough to stay finite.
  const shift = log && min <= 0 ? -min + Math.max(1e-3 * (max - min), 1e-6) : 0;
  const s = { log, shift, lo: 0, hi: 1 };
  s.lo = transform(s, min);
  s.hi = transform(s, max);
  if (!(s.hi > s.lo)) s.hi = s.lo + 1;
  return s;
}

/* ---------- timeline ---------- */

/** Smooth step between frames: constant near checkpoints, moving in between. */
export function ease(f: number): number {
  return f * f * (3 - 2 * f);
}

export interface FramePos {
  a: number;
  b: number;
  /** Eased weight of frame b. */
  w: number;
}

export function framePos(count: number, t: number): FramePos {
  if (count <= 1) return { a: 0, b: 0, w: 0 };
  const c = Math.min(Math.max(t, 0), count - 1);
  const a = Math.min(Math.floor(c), count - 2);
  const f = c - a;
  if (f <= 0) return { a, b: a, w: 0 };
  if (f >= 1) return { a: a + 1, b: a + 1, w: 0 };
  return { a, b: a + 1, w: ease(f) };
}

function sameGrid(p: Field, q: Field): boolean {
  return p.nx === q.nx && p.ny === q.ny && p.x.min === q.x.min && p.x.max === q.x.max && p.y.min === q.y.min && p.y.max === q.y.max;
}

const transformed = new WeakMap<Float32Array, Map<string, Float32Array>>();

/** Values of one channel, transformed by the scale (cached per array and scale). */
export function transformedValues(v: Float32Array, s: Pick<Scale, 'log' | 'shift'>): Float32Array {
  if (!s.log) return v;
  let m = transformed.get(v);
  if (!m) {
    m = new Map();
    transformed.set(v, m);
  }
  const key = String(s.shift);
  let out = m.get(key);
  if (!out) {
    out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Math.log(v[i]! + s.shift);
    m.set(key, out);
  }
  return out;
}

export interface Sampled {
  grid: Field;
  /** Transformed values (or raw for accuracy), interpolated between frames. */
  values: Float32Array;
}

/**
 * A channel at timeline position t, lerped between the two neighbouring frames
 * into `out` (reused between calls when the size fits). Frames on different
 * grids are not blended: the nearer one is shown.
 */
export function sampleChannel(run: RunData, t: number, channel: string, s: Pick<Scale, 'log' | 'shift'> | null, out?: Float32Array): Sampled | null {
  if (run.frames.length === 0) return null;
  const p = framePos(run.frames.length, t);
  const fa = run.frames[p.a]!;
  const fb = run.frames[p.b]!;
  const ra = fa.surface.channels[channel];
  const rb = fb.surface.channels[channel];
  const near = p.w < 0.5 ? fa : fb;
  if (!ra || !rb || !sameGrid(fa.surface, fb.surface) || p.w === 0) {
    const r = near.surface.channels[channel] ?? (p.w === 0 ? ra : undefined);
    if (!r) return null;
    const v = s ? transformedValues(r, s) : r;
    const o = out && out.length === v.length ? out : new Float32Array(v.length);
    o.set(v);
    return { grid: near.surface, values: o };
  }
  const va = s ? transformedValues(ra, s) : ra;
  const vb = s ? transformedValues(rb, s) : rb;
  const o = out && out.length === va.length ? out : new Float32Array(va.length);
  const w = p.w;
  for (let i = 0; i < o.length; i++) o[i] = va[i]! + (vb[i]! - va[i]!) * w;
  return { grid: fa.surface, values: o };
}

/** eig_ratio of a frame on its surface grid (bilinear from the Hessian grid). */
export function ratioOnSurface(fr: FrameData): Float32Array | undefined {
  if (!fr.hessian) return undefined;
  if (fr.ratioOnSurface) return fr.ratioOnSurface;
  const h = fr.hessian;
  const r = h.channels.eig_ratio;
  if (!r) return undefined;
  const s = fr.surface;
  const out = new Float32Array(s.nx * s.ny);
  for (let i = 0; i < s.ny; i++) {
    for (let j = 0; j < s.nx; j++) out[i * s.nx + j] = bilinear(h, r, s.xs[j]!, s.ys[i]!);
  }
  fr.ratioOnSurface = out;
  return out;
}

/** The Hessian ratio at t on the surface grid; undefined where the nearer frame has none. */
export function sampleRatio(run: RunData, t: number, out?: Float32Array): Float32Array | undefined {
  if (run.frames.length === 0) return undefined;
  const p = framePos(run.frames.length, t);
  const fa = run.frames[p.a]!;
  const fb = run.frames[p.b]!;
  const ra = ratioOnSurface(fa);
  const rb = ratioOnSurface(fb);
  if (ra && rb && ra.length === rb.length && p.w > 0) {
    const o = out && out.length === ra.length ? out : new Float32Array(ra.length);
    for (let i = 0; i < o.length; i++) o[i] = ra[i]! + (rb[i]! - ra[i]!) * p.w;
    return o;
  }
  return p.w < 0.5 ? ra : rb;
}

/** A line's loss range over the other subsets (data.subset.errorBars). */
export interface SpreadBand {
  lo: Float32Array;
  hi: Float32Array;
}

/**
 * The nearer frame's subset spread: the band along the centre row (β = rowY, over the surface's
 * xs) and column (α = colX, over its ys); undefined for frames without one.
 */
export function spreadAt(run: RunData, t: number): { k: number; rowY: number; row: SpreadBand; colX?: number; col?: SpreadBand } | undefined {
  if (run.frames.length === 0) return undefined;
  const p = framePos(run.frames.length, t);
  const s = run.frames[p.w < 0.5 ? p.a : p.b]!.meta.spread;
  if (!s) return undefined;
  const band = (l: { lo: string; hi: string }): SpreadBand => ({ lo: decodeFloats(l.lo), hi: decodeFloats(l.hi) });
  const out: { k: number; rowY: number; row: SpreadBand; colX?: number; col?: SpreadBand } = { k: s.k, rowY: s.rowY, row: band(s.row) };
  if (s.col && s.colX !== undefined) {
    out.col = band(s.col);
    out.colX = s.colX;
  }
  return out;
}

/**
 * The points of the nearer frame's Hessian map whose extremes the check did not certify
 * (certified = 0), as (α, β); none for maps without a certified channel.
 */
export function uncertifiedPoints(run: RunData, t: number): [number, number][] {
  if (run.frames.length === 0) return [];
  const p = framePos(run.frames.length, t);
  const h = run.frames[p.w < 0.5 ? p.a : p.b]!.hessian;
  const c = h?.channels.certified;
  if (!h || !c) return [];
  const out: [number, number][] = [];
  for (let i = 0; i < h.ny; i++) for (let j = 0; j < h.nx; j++) if (c[i * h.nx + j] === 0) out.push([h.xs[j]!, h.ys[i]!]);
  return out;
}

/** Bilinear sample of v (on field f's grid) at data coordinates (x, y); NaN outside or next to holes. */
export function bilinear(f: Pick<Field, 'x' | 'y' | 'nx' | 'ny'>, v: ArrayLike<number>, x: number, y: number): number {
  const fx = f.nx > 1 ? ((x - f.x.min) / (f.x.max - f.x.min)) * (f.nx - 1) : 0;
  const fy = f.ny > 1 ? ((y - f.y.min) / (f.y.max - f.y.min)) * (f.ny - 1) : 0;
  if (fx < -1e-9 || fy < -1e-9 || fx > f.nx - 1 + 1e-9 || fy > f.ny - 1 + 1e-9) return Number.NaN;
  const j = Math.min(Math.max(Math.floor(fx), 0), Math.max(f.nx - 2, 0));
  const i = Math.min(Math.max(Math.floor(fy), 0), Math.max(f.ny - 2, 0));
  const u = f.nx > 1 ? Math.min(Math.max(fx - j, 0), 1) : 0;
  const w = f.ny > 1 ? Math.min(Math.max(fy - i, 0), 1) : 0;
  const j1 = Math.min(j + 1, f.nx - 1);
  const i1 = Math.min(i + 1, f.ny - 1);
  const a = v[i * f.nx + j]!;
  const b = v[i * f.nx + j1]!;
  const c = v[i1 * f.nx + j]!;
  const d = v[i1 * f.nx + j1]!;
  const val = (a * (1 - u) + b * u) * (1 - w) + (c * (1 - u) + d * u) * w;
  if (Number.isFinite(val)) return val;
  // A hole next to the point: fall back to the nearest finite corner.
  const corners = [
    [a, (1 - u) * (1 - w)],
    [b, u * (1 - w)],
    [c, (1 - u) * w],
    [d, u * w],
  ] as const;
  let best = Number.NaN;
  let bw = -1;
  for (const [val2, wt] of corners) if (Number.isFinite(val2) && wt > bw) [best, bw] = [val2, wt];
  return best;
}

/** Step of the timeline position, interpolated like the surfaces; checkpoint, epoch and nearStep of the nearer frame. */
export function stepAt(run: RunData, t: number): { step: number; nearStep: number; epoch?: number; checkpoint: number } | null {
  if (run.frames.length === 0) return null;
  const p = framePos(run.frames.length, t);
  const a = run.frames[p.a]!.meta;
  const b = run.frames[p.b]!.meta;
  const sa = a.step ?? a.checkpoint;
  const sb = b.step ?? b.checkpoint;
  const out: { step: number; nearStep: number; epoch?: number; checkpoint: number } = {
    step: sa + (sb - sa) * p.w,
    nearStep: p.w < 0.5 ? sa : sb,
    checkpoint: p.w < 0.5 ? a.checkpoint : b.checkpoint,
  };
  const ep = p.w < 0.5 ? a.epoch : b.epoch;
  if (ep !== undefined) out.epoch = ep;
  return out;
}

/** Position on the PCA path at t (checkpoint k of frame ↔ path[k]). */
export function pathPointAt(run: RunData, t: number): [number, number] | null {
  const path = run.pca?.path;
  if (!path || path.length === 0 || run.frames.length === 0) return null;
  const p = framePos(run.frames.length, t);
  // path[k] belongs to the k-th entry of `checkpoints`
  const at = (checkpoint: number) => {
    const k = run.scene.checkpoints.findIndex((c) => c.index === checkpoint);
    return path[Math.min(Math.max(k >= 0 ? k : checkpoint, 0), path.length - 1)]!;
  };
  const pa = at(run.frames[p.a]!.meta.checkpoint);
  const pb = at(run.frames[p.b]!.meta.checkpoint);
  return [pa[0] + (pb[0] - pa[0]) * p.w, pa[1] + (pb[1] - pa[1]) * p.w];
}

/** The checkpoint metrics row of a frame, if the manifest has it. */
export function metricsOf(run: RunData, frame: number): MetricRow | undefined {
  const fr = run.frames[frame];
  if (!fr) return undefined;
  return run.scene.checkpoints.find((c) => c.index === fr.meta.checkpoint);
}

/** Nearest grid index of a coordinate. */
export function nearestIndex(coords: Float64Array, v: number): number {
  let best = 0;
  for (let k = 1; k < coords.length; k++) if (Math.abs(coords[k]! - v) < Math.abs(coords[best]! - v)) best = k;
  return best;
}

/** Min/max of the finite values. */
export function finiteRange(v: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}
