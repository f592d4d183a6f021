/** The text forms of study options (command-line flags, config values): number lists and subset sizes. */
import { LosscapeError } from '../core/errors.js';

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

/** "1%,2%,500" → sizes. */
export function parseSizes(text: string): SizeSpec[] {
  return text.split(',').map((t) => parseSize(t));
}

export function sizeLabel(s: SizeSpec): string {
  if (s === 'all') return '100%';
  if (s < 1) return `${Number((s * 100).toPrecision(6))}%`;
  return String(s);
}

/** "0,50,80" → [0, 50, 80]; `what` names the value in the error. */
export function parseList(text: string, what: string): number[] {
  const out = text.split(',').map((p) => Number(p.trim()));
  if (!out.length || out.some((v, i) => !Number.isFinite(v) || text.split(',')[i]!.trim() === '')) {
    throw new LosscapeError('input', `${what} "${text}" must be a comma-separated list of numbers`);
  }
  return out;
}
