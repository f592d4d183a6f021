/**
 * Shared pieces of the studies: result tables (CSV with full precision +
 * Markdown for reading), small statistics, subset-size parsing, config
 * overrides (deep merge), and "derived" run folders — a one-frame run written
 * next to a study's results so that `losscape view a b …` (compare mode) and
 * `losscape report`/`snapshot` can show any set of landscapes side by side.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { type CheckpointInfo, type FrameInfo, type Manifest, RUN_FORMAT, writeAtomic } from '../store/run-store.js';

// ---------------------------------------------------------------- tables

export interface Column<R> {
  key: string;
  /** Markdown header (default: key). */
  title?: string;
  value(r: R): number | string | undefined | null;
  /** Markdown formatting (default: 4 significant digits for numbers). */
  fmt?(v: number): string;
}

export function fmtNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '—' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

export const pct =
  (digits = 1) =>
  (v: number) =>
    Number.isFinite(v) ? v.toFixed(digits) : '—';

function csvCell(v: number | string | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf';
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv<R>(cols: Column<R>[], rows: R[]): string {
  const lines = [cols.map((c) => c.key).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(c.value(r))).join(','));
  return `${lines.join('\n')}\n`;
}

export function toMarkdown<R>(cols: Column<R>[], rows: R[]): string {
  const cell = (c: Column<R>, r: R) => {
    const v = c.value(r);
    if (v === undefined || v === null) return '';
    if (typeof v === 'number') return (c.fmt ?? ((x: number) => fmtNumber(x)))(v);
    return v.replace(/\|/g, '\\|');
  };
  const head = `| ${cols.map((c) => (c.title ?? c.key).replace(/\|/g, '\\|')).join(' | ')} |`;
  const sep = `|${cols.map((c) => (typeof c.value(rows[0]!) === 'string' ? ' --- ' : ' ---: ')).join('|')}|`;
  return `${[head, sep, ...rows.map((r) => `| ${cols.map((c) => cell(c, r)).join(' | ')} |`)].join('\n')}\n`;
}

/** Write `<base>.csv` and `<base>.md` (title, the table, notes). */
export function writeTables<R>(
  base: string,
  cols: Column<R>[],
  rows: R[],
  md: { title: string; intro?: string[]; notes?: string[] },
): { csv: string; md: string } {
  mkdirSync(dirname(base), { recursive: true });
  const csv = `${base}.csv`;
  const mdPath = `${base}.md`;
  writeAtomic(csv, toCsv(cols, rows));
  const parts = [`# ${md.title}`, ''];
  if (md.intro?.length) parts.push(...md.intro, '');
  if (rows.length) parts.push(toMarkdown(cols, rows));
  if (md.notes?.length) parts.push(...md.notes.map((n) => `- ${n}`), '');
  writeAtomic(mdPath, parts.join('\n'));
  return { csv, md: mdPath };
}

// ---------------------------------------------------------------- statistics

export function median(v: ArrayLike<number>): number {
  const a = Array.from(v)
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  if (!a.length) return Number.NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : 0.5 * (a[m - 1]! + a[m]!);
}

export function mean(v: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) continue;
    s += v[i]!;
    n++;
  }
  return n ? s / n : Number.NaN;
}

export function std(v: ArrayLike<number>): number {
  const m = mean(v);
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) continue;
    s += (v[i]! - m) ** 2;
    n++;
  }
  return n > 1 ? Math.sqrt(s / (n - 1)) : 0;
}

export function maxOf(v: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! > m) m = v[i]!;
  return m;
}

export function minOf(v: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! < m) m = v[i]!;
  return m;
}

// ---------------------------------------------------------------- sizes

/** A subset size: a fraction in (0, 1], a count ≥ 1, or 'all'. */
export type SizeSpec = number | 'all';

/**
 * Parse "1%", "0.05", "500" or "all". "100%" and "all" mean the whole set;
 * a plain number < 1 is a fraction, an integer ≥ 1 a count.
 */
export function parseSize(text: string): SizeSpec {
  const t = text.trim();
  if (t === 'all') return 'all';
  if (t.endsWith('%')) {
    const p = Number(t.slice(0, -1));
    if (!Number.isFinite(p) || p <= 0 || p > 100) throw new LosscapeError('input', `subset size "${text}": a percentage must be in (0, 100]`);
    return p === 100 ? 'all' : p / 100;
  }
  const n = Number(t);
  if (t === '' || !Number.isFinite(n) || n <= 0)
    throw new LosscapeError('input', `subset size "${text}" must be a percentage (5%), a fraction (0.05), a count (500) or "all"`);
  if (n >= 1 && !Number.isInteger(n)) throw new LosscapeError('input', `subset size "${text}": a count must be a whole number`);
  return n;
}

export function sizeLabel(s: SizeSpec): string {
  if (s === 'all') return '100%';
  if (s < 1) return `${Number((s * 100).toPrecision(6))}%`;
  return String(s);
}

export function parseList(text: string, what: string): number[] {
  const out = text.split(',').map((p) => Number(p.trim()));
  if (!out.length || out.some((v, i) => !Number.isFinite(v) || text.split(',')[i]!.trim() === '')) {
    throw new LosscapeError('input', `${what} "${text}" must be a comma-separated list of numbers`);
  }
  return out;
}

// ---------------------------------------------------------------- overrides

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * Deep merge of a partial override into a base (both plain JSON). Objects merge
 * key by key, everything else (arrays included) is replaced. An object with a
 * `type` other than the base's (model type, optimizer type) replaces the base
 * object instead of merging, so its own defaults apply.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? base : over;
  if ('type' in over && 'type' in base && over.type !== base.type) return structuredClone(over);
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** "model.batchNorm=true, train.optimizer.lr=0.1" (for tables). */
export function describeOverride(over: unknown, prefix = ''): string {
  if (!isObj(over)) return prefix ? `${prefix}=${JSON.stringify(over)}` : '';
  const parts = Object.entries(over).map(([k, v]) => describeOverride(v, prefix ? `${prefix}.${k}` : k));
  return parts.filter(Boolean).join(', ');
}

// ---------------------------------------------------------------- derived runs

export interface DerivedFrame extends FrameInfo {
  surface: string;
}

export interface DerivedRunOptions {
  /** The run the landscapes come from. */
  source: Manifest;
  sourceDir: string;
  name: string;
  /** What this folder shows, in one sentence (manifest "derived.note"). */
  note: string;
  kind: string;
  frames: DerivedFrame[];
  /** Checkpoint rows (default: those of the source the frames refer to). */
  checkpoints?: CheckpointInfo[];
  /** Config as shown (default the source's). */
  config?: unknown;
  extra?: Record<string, unknown>;
}

/**
 * A minimal run folder (format losscape-run/1) holding landscapes that a study
 * computed from another run: the viewer, report, snapshot and export read it
 * like any run. Its files must already be inside `dir`.
 */
export function writeDerivedRun(dir: string, o: DerivedRunOptions): Manifest {
  mkdirSync(dir, { recursive: true });
  const now = new Date().toISOString();
  const wanted = new Set(o.frames.map((f) => f.checkpoint));
  const m: Manifest & { derived: Record<string, unknown> } = {
    format: RUN_FORMAT,
    name: o.name,
    created: now,
    updated: now,
    status: 'complete',
    versions: o.source.versions,
    config: o.config ?? o.source.config,
    configHash: o.source.configHash,
    model: o.source.model,
    data: o.source.data,
    history: o.source.history,
    checkpoints: o.checkpoints ?? o.source.checkpoints.filter((c) => wanted.has(c.index)),
    frames: o.frames,
    timings: {},
    derived: { kind: o.kind, from: o.sourceDir, note: o.note, ...o.extra },
  };
  writeAtomic(join(dir, 'manifest.json'), `${JSON.stringify(m, null, 1)}\n`);
  return m;
}

export function writeJson(path: string, v: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeAtomic(path, `${JSON.stringify(v, null, 1)}\n`);
}

export function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function pad4(i: number): string {
  return String(i).padStart(4, '0');
}
