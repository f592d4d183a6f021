/**
 * The `losscape` command line: a thin shell over the library. Every failure a
 * user can cause is one line on stderr and a non-zero exit; stack traces only
 * with LOSSCAPE_DEBUG=1.
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf } from '../core/errors.js';
import { ownVersion } from '../run/versions.js';
import { register as registerCurve } from './commands/curve.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerExport } from './commands/export.js';
import { register as registerFrames } from './commands/frames.js';
import { register as registerHessian } from './commands/hessian.js';
import { register as registerImport } from './commands/import.js';
import { register as registerInterpolate } from './commands/interpolate.js';
import { register as registerLive } from './commands/live.js';
import { register as registerMerge } from './commands/merge.js';
import { register as registerPlanes } from './commands/planes.js';
import { register as registerReport } from './commands/report.js';
import { register as registerRun } from './commands/run.js';
import { register as registerSnapshot } from './commands/snapshot.js';
import { register as registerStudies } from './commands/studies.js';
import { register as registerSurface } from './commands/surface.js';
import { register as registerVideo } from './commands/video.js';
import { register as registerView } from './commands/view.js';
import { closeAllProgress } from './progress.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('losscape')
    .description('Loss-landscape movies, Hessian maps and studies for neural networks.')
    .version(ownVersion())
    .option('-q, --quiet', 'no progress output (results only)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`${s.split('\n')[0]}\n`) })
    .configureHelp({ boxWrap: wrapHelp });
  registerDemo(program);
  registerRun(program);
  registerSurface(program);
  registerInterpolate(program);
  registerCurve(program);
  registerView(program);
  registerLive(program);
  registerReport(program);
  registerVideo(program);
  registerSnapshot(program);
  registerImport(program);
  registerExport(program);
  registerStudies(program);
  registerMerge(program);
  registerHessian(program);
  registerPlanes(program);
  registerFrames(program);
  for (const c of program.commands) c.exitOverride().configureOutput({ outputError: (s, write) => write(`${s.split('\n')[0]}\n`) });
  return program;
}

/**
 * Help texts are written one paragraph per line; wrap them to the terminal, continuing an
 * indented line (an example, a list item) two spaces further in.
 */
export function wrapHelp(text: string, width: number): string {
  if (width < 40) return text;
  return text
    .split('\n')
    .map((line) => {
      const indent = /^\s*/.exec(line)![0];
      const words = line.trim().split(/\s+/).filter(Boolean);
      const rows: string[] = [];
      let row = indent;
      const continued = indent ? `${indent}  ` : '';
      for (const w of words) {
        if (row.trim() && row.length + 1 + w.length > width) {
          rows.push(row);
          row = continued + w;
        } else row = row.trim() ? `${row} ${w}` : indent + w;
      }
      rows.push(row);
      return rows.join('\n');
    })
    .join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    closeAllProgress();
    if (e instanceof CommanderError) {
      // help and version exit 0; commander already printed its one-line error
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    const err = e as Error;
    const msg = (err?.message ?? String(e)).trim() || String(e);
    if (process.env.LOSSCAPE_DEBUG) process.stderr.write(`${err?.stack ?? msg}\n`);
    else process.stderr.write(`losscape: ${msg}\n`);
    return exitCodeOf(e);
  }
}
