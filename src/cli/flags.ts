import { LosscapeError } from '../core/errors.js';
/** Errors the CLI reports as one line (no stack trace). */

/** Parse a number flag or throw a UsageError naming the flag. */
export function numberFlag(value: string | undefined, flag: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new LosscapeError('usage', `${flag} expects a number, got "${value}"`);
  if (opts.integer && !Number.isInteger(n)) throw new LosscapeError('usage', `${flag} expects an integer, got "${value}"`);
  if (opts.min !== undefined && n < opts.min) throw new LosscapeError('usage', `${flag} must be at least ${opts.min}, got ${value}`);
  return n;
}

export function choiceFlag<T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new LosscapeError('usage', `${flag} must be one of ${choices.join(', ')}; got "${value}"`);
  }
  return value as T;
}
