import type { Command } from 'commander';
import { ConfigError } from '../../run/config.js';
import { StudyError } from '../../studies/common.js';
import { contextOf } from '../context.js';
import { UsageError } from '../errors.js';

/** Input problems of a study (bad run folder, bad sizes, bad config) become one-line usage errors. */
export async function studyErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StudyError || e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  void program;
  void contextOf;
}
