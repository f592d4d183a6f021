import { join } from 'node:path';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { writeReport } from '../../viewer/server/report.js';
import { missingRun } from '../../viewer/server/scene.js';
import { contextOf } from '../context.js';

export function register(program: Command): void {
  program
    .command('report')
    .summary('write one self-contained HTML viewer of one or more runs')
    .description(
      "Write the interactive viewer with the runs' landscapes inlined into one HTML file that opens from disk (no server, no network). Several runs are shown side by side. By default the file goes into the (first) run folder: report.html, or compare.html for several runs.\n" +
        'Examples:\n' +
        '  losscape report runs/demo\n' +
        '  losscape report runs/sgd runs/adam --out compare.html',
    )
    .argument('<run...>', 'run folder(s)')
    .option('--out <file.html>', 'output file (default <run>/report.html, or <first run>/compare.html)')
    .action(async (runs: string[], o: { out?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const absent = o.out ? null : missingRun(runs[0]!);
      if (absent) throw new LosscapeError('input', `${absent}; the report goes into the first run's folder unless --out names a file`);
      const out = o.out ?? join(runs[0]!, runs.length > 1 ? 'compare.html' : 'report.html');
      if (!/\.html?$/i.test(out)) throw new LosscapeError('usage', `--out ${out}: the report must end in .html`);
      const r = await writeReport(runs, out);
      for (const f of r.failed) ctx.progress.warn(f.error);
      ctx.out(`report: ${r.path} (${(r.bytes / 1024 / 1024).toFixed(1)} MB)`);
    });
}
