/** What every command gets: progress output (or none with --quiet) and plain stdout lines. */
import type { Command } from 'commander';
import { type ProgressSink, silent } from '../core/progress.js';
import { terminalProgress } from './progress.js';

export interface CliContext {
  progress: ProgressSink;
  /** A result line on stdout (kept in --quiet mode: it is what scripts read). */
  out(line: string): void;
}

export function contextOf(cmd: Command): CliContext {
  const quiet = Boolean(cmd.optsWithGlobals().quiet);
  return {
    progress: quiet ? silent : terminalProgress(),
    out: (line) => process.stdout.write(`${line}\n`),
  };
}
