/**
 * A study's result records: tables written twice, as CSV with full precision
 * and as Markdown for reading (title, intro, the table, notes), and JSON
 * summaries.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAtomic } from '../store/run-store.js';

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

export interface TableFiles {
  csv: string;
  md: string;
}

/** Write `<base>.csv` and `<base>.md` (title, the table, notes). */
export function writeTables<R>(base: string, cols: Column<R>[], rows: R[], md: { title: string; intro?: string[]; notes?: string[] }): TableFiles {
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

export function writeJson(path: string, v: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeAtomic(path, `${JSON.stringify(v, null, 1)}\n`);
}
