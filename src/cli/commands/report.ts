import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { writeReport } from '../../viewer/server/report.js';
import { contextOf } from '../context.js';

export function register(program: Command): void {
  program
    .command('report')
    .summary('write one self-contained HTML viewer of one or more runs')
    .description(
      "Write the interactive viewer with the runs' landscapes inlined into one HTML\n" +
        'file that opens from disk (no server, no network). Several runs are shown\n' +
        'side by side.\n' +
        'Examples:\n' +
        '  losscape report runs/demo\n' +
        '  losscape report runs/sgd runs/adam --out compare.html',
    )
    .argument('<run...>', 'run folder(s)')
    .option('--out <file.html>', 'output file', 'report.html')
    .action(async (runs: string[], o: { out: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (!/\.html?$/i.test(o.out)) throw new LosscapeError('usage', `--out ${o.out}: the report must end in .html`);
      const r = await writeReport(runs, o.out);
      for (const f of r.failed) ctx.progress.warn(f.error);
      ctx.out(`report: ${r.path} (${(r.bytes / 1024 / 1024).toFixed(1)} MB)`);
    });
}
