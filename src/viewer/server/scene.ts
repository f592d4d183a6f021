/**
 * Run folder → scene (the format is ../shared/scene.ts). A run that cannot be shown is not
 * an exception here: it becomes a run with `error` set, so the page can say
 * what is wrong instead of staying blank. Frames whose files are unreadable
 * are skipped with a warning.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { asFloat64, readH5 } from '../../io/h5.js';
import { type GridFile, readGridFile } from '../../jobs/grid-file.js';
import {
  type FieldSet,
  type FrameScene,
  type MetricRow,
  type PcaScene,
  type RunScene,
  SCENE_FORMAT,
  type Scene,
  type SpreadLine,
  type SpreadScene,
} from '../shared/scene.js';
import { loadCurvatureTimeline, loadPlanes } from './planes-scene.js';

const SURFACE_CHANNELS = ['train_loss', 'train_acc', 'test_loss', 'test_acc'];
const HESSIAN_CHANNELS = ['eig_ratio', 'max_eig', 'min_eig', 'certified'];

/** Build the scene for one or more run folders (several → compare mode). */
export async function loadScene(runDirs: string | string[]): Promise<Scene> {
  const dirs = Array.isArray(runDirs) ? runDirs : [runDirs];
  const runs: RunScene[] = [];
  for (const d of dirs) runs.push(await loadRun(d));
  return { format: SCENE_FORMAT, runs };
}

/** Base64 of little-endian float32 values (the scene's array encoding). */
export function encodeFloats(v: ArrayLike<number>): string {
  const f = Float32Array.from(v as ArrayLike<number>);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export function decodeFloats(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

type Json = Record<string, unknown>;

/** Why `dir` is not a run folder at all (no such folder, a file, no manifest), or null when it is one. */
export function missingRun(dir: string): string | null {
  if (!existsSync(dir)) return `Run not found: ${dir} (no such folder)`;
  if (!statSync(dir).isDirectory()) return `Not a run folder: ${dir} is a file`;
  if (!existsSync(join(dir, 'manifest.json'))) return `${dir} is not a losscape run: manifest.json is missing`;
  return null;
}

export async function loadRun(dir: string): Promise<RunScene> {
  const run: RunScene = { name: basename(resolve(dir)), source: dir, history: [], checkpoints: [], frames: [], warnings: [] };
  const fail = (msg: string): RunScene => ({ ...run, error: msg });

  const absent = missingRun(dir);
  if (absent) return fail(absent);
  const manifestPath = join(dir, 'manifest.json');

  let m: Json;
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level is not an object');
    m = parsed as Json;
  } catch (e) {
    return fail(`${manifestPath} is not valid JSON: ${oneLine(e)}`);
  }
  if (typeof m.format === 'string' && !m.format.startsWith('losscape-run/')) {
    return fail(`${manifestPath}: format "${m.format}" is not a losscape run (expected losscape-run/1)`);
  }
  if (!Array.isArray(m.frames)) return fail(`${manifestPath}: "frames" is missing or not a list`);

  if (typeof m.name === 'string' && m.name) run.name = m.name;
  if (typeof m.status === 'string') run.status = m.status;
  const model = m.model as Json | undefined;
  if (model && typeof model === 'object') {
    const params = typeof model.params === 'number' ? ` · ${model.params.toLocaleString('en-US')} parameters` : '';
    if (typeof model.name === 'string') run.model = model.name + params;
  }
  const data = m.data as Json | undefined;
  if (data && typeof data === 'object' && typeof data.name === 'string') {
    const sub = data.subset as Json | undefined;
    const size = sub && typeof sub.size === 'number' ? ` (landscape on ${sub.size} train points)` : '';
    run.data = data.name + size;
    if (sub && typeof sub.size === 'number') run.subset = sub.size;
  }
  run.checkpoints = rows(m.checkpoints).map((r, i) => ({ ...r, index: typeof r.index === 'number' ? r.index : i }));
  run.history = rows(m.history);
  if (run.history.length === 0) run.history = run.checkpoints.map(({ index: _i, ...r }) => r);

  const frames = m.frames as unknown[];
  let firstError = '';
  for (const [k, fr] of frames.entries()) {
    if (!fr || typeof fr !== 'object') continue;
    const f = fr as Json;
    if (typeof f.surface !== 'string') continue; // not finished yet
    const checkpoint = typeof f.checkpoint === 'number' ? f.checkpoint : k;
    try {
      const gf = await readRunGrid(dir, f.surface);
      const surface = fieldSet(gf, SURFACE_CHANNELS, f.surface);
      if (!surface.channels.train_loss) throw new Error(`${f.surface}: no train_loss dataset`);
      const ck = run.checkpoints.find((c) => c.index === checkpoint);
      const frame: FrameScene = { checkpoint, surface };
      const step = ck?.step ?? num(gf.attrs.step);
      const epoch = ck?.epoch ?? num(gf.attrs.epoch);
      if (step !== undefined) frame.step = step;
      if (epoch !== undefined) frame.epoch = epoch;
      if (typeof f.hessian === 'string') {
        try {
          const hf = await readRunGrid(dir, f.hessian);
          const h = fieldSet(hf, HESSIAN_CHANNELS, f.hessian);
          if (!h.channels.eig_ratio) throw new Error(`${f.hessian}: no eig_ratio dataset`);
          frame.hessian = h;
        } catch (e) {
          run.warnings.push(`Hessian map of checkpoint ${checkpoint} skipped: ${oneLine(e)}`);
        }
      }
      if (typeof f.spread === 'string') {
        try {
          frame.spread = await readSpread(dir, f.spread);
        } catch (e) {
          run.warnings.push(`Subset error bars of checkpoint ${checkpoint} skipped: ${oneLine(e)}`);
        }
      }
      run.frames.push(frame);
    } catch (e) {
      firstError ||= oneLine(e);
      run.warnings.push(`Checkpoint ${checkpoint} skipped: ${oneLine(e)}`);
    }
  }
  run.frames.sort((a, b) => a.checkpoint - b.checkpoint);

  if (m.pca && typeof m.pca === 'object') {
    try {
      run.pca = await loadPca(dir, m.pca as Json);
    } catch (e) {
      run.warnings.push(`PCA trajectory skipped: ${oneLine(e)}`);
    }
  }

  const planes = loadPlanes(dir, frames, (line) => run.warnings.push(line));
  if (planes) run.planes = planes;
  const curvature = loadCurvatureTimeline(m.checkpoints);
  if (curvature) run.curvature = curvature;

  if (run.frames.length === 0) {
    const listed = frames.length;
    if (firstError) return fail(`No frame of ${run.name} could be read: ${firstError}`);
    return fail(
      listed === 0
        ? `${run.name} has no frames yet: the manifest lists no checkpoints with a surface`
        : `${run.name} has no surfaces yet: none of its ${listed} frames is finished`,
    );
  }
  return run;
}

async function loadPca(dir: string, p: Json): Promise<PcaScene> {
  const path = p.path;
  if (!Array.isArray(path) || !path.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => typeof v === 'number'))) {
    throw new Error('"path" must be a list of [x, y] pairs');
  }
  const out: PcaScene = { path: path as [number, number][] };
  const ex = p.explained;
  if (Array.isArray(ex) && ex.length === 2 && ex.every((v) => typeof v === 'number')) out.explained = ex as [number, number];
  if (typeof p.surface === 'string') {
    out.surface = fieldSet(await readRunGrid(dir, p.surface), SURFACE_CHANNELS, p.surface);
  }
  return out;
}

/** Read a grid file named by the manifest; the name must stay inside the run. */
async function readRunGrid(dir: string, rel: string): Promise<GridFile> {
  if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) throw new Error(`${rel}: paths in the manifest must stay inside the run folder`);
  const path = join(dir, rel);
  if (!existsSync(path)) throw new Error(`${rel}: no such file`);
  if (!looksLikeHdf5(path)) throw new Error(`${rel}: not an HDF5 file`);
  try {
    return await readGridFile(path);
  } catch (e) {
    throw new Error(`${rel}: not a readable HDF5 grid file (${oneLine(e).split(`${path}: `).join('')})`);
  }
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The HDF5 signature sits at offset 0, 512, 1024, 2048, … (after a user block). */
function looksLikeHdf5(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    for (let off = 0; off <= 65536; off = off ? off * 2 : 512) {
      if (readSync(fd, buf, 0, 8, off) < 8) return false;
      if (buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** A spread file (run/subset-spread.ts) as the min and max over its subsets along the row and column. */
async function readSpread(dir: string, file: string): Promise<SpreadScene> {
  if (isAbsolute(file) || file.split(/[\\/]/).includes('..')) throw new Error(`${file}: paths in the manifest must stay inside the run folder`);
  const h = await readH5(join(dir, file));
  const line = (name: string): SpreadLine | undefined => {
    const d = h.get(name);
    if (!d) return undefined;
    const [k, n] = d.shape as [number, number];
    const v = asFloat64(d.value, name);
    const lo = new Float64Array(n).fill(Infinity);
    const hi = new Float64Array(n).fill(-Infinity);
    for (let r = 0; r < k; r++) {
      for (let j = 0; j < n; j++) {
        lo[j] = Math.min(lo[j]!, v[r * n + j]!);
        hi[j] = Math.max(hi[j]!, v[r * n + j]!);
      }
    }
    return { lo: encodeFloats(lo), hi: encodeFloats(hi) };
  };
  const row = line('row_loss');
  if (!row) throw new Error(`${file}: no row_loss dataset`);
  const out: SpreadScene = { k: h.get('row_loss')!.shape[0]!, rowY: Number(h.attrs.row_y), row };
  const col = line('col_loss');
  if (col) {
    out.col = col;
    out.colX = Number(h.attrs.col_x);
  }
  return out;
}

function fieldSet(gf: GridFile, channels: string[], what: string): FieldSet {
  if (!gf.grid.y) throw new Error(`${what}: 1-D surfaces are not shown by the viewer`);
  const out: FieldSet = { x: { ...gf.grid.x }, y: { ...gf.grid.y }, channels: {} };
  for (const c of channels) {
    const v = gf.values[c];
    if (!v) continue;
    // Unfinished points are NaN already; make sure `computed` agrees.
    const w = Float64Array.from(v, (x, i) => (gf.done[i] ? x : Number.NaN));
    out.channels[c] = encodeFloats(w);
  }
  return out;
}

function rows(v: unknown): (MetricRow & { index?: number })[] {
  if (!Array.isArray(v)) return [];
  const out: (MetricRow & { index?: number })[] = [];
  for (const r of v) {
    if (!r || typeof r !== 'object') continue;
    const o = r as Json;
    const row: MetricRow & { index?: number } = { step: num(o.step) ?? out.length };
    for (const k of ['epoch', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'index'] as const) {
      const x = num(o[k]);
      if (x !== undefined) row[k] = x;
    }
    out.push(row);
  }
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
