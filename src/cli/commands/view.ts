import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { loadScene, missingRun } from '../../viewer/server/scene.js';
import { openInBrowser, startServer, type ViewerServer } from '../../viewer/server/server.js';
import { contextOf } from '../context.js';
import { numberFlag } from '../flags.js';

export const DEFAULT_PORT = 7070;

export function register(program: Command): void {
  program
    .command('view')
    .summary('open the interactive 3-D viewer for one or more runs')
    .description(
      "Serve the viewer on http://127.0.0.1 and open it in the browser: the lit 3-D landscape with axes, heatmap with contours, 1-D slices, Hessian maps, the timeline over checkpoints with training curves. Several runs are shown side by side, camera and timeline in sync. Only the viewer and the runs' own files are served. Stop with Ctrl-C; the server also stops when the process that started it exits.\n" +
        'Examples:\n' +
        '  losscape view runs/demo\n' +
        '  losscape view runs/sgd runs/adam --port 8080 --no-open',
    )
    .argument('<run...>', 'run folder(s)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', `port (0: any free port)`, String(DEFAULT_PORT))
    .option('--no-open', 'do not open a browser')
    .action(async (runs: string[], o: { host: string; port: string; open: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const port = numberFlag(o.port, '--port', { integer: true, min: 0 })!;
      if (port > 65535) throw new LosscapeError('usage', `--port must be at most 65535, got ${port}`);
      for (const r of runs) {
        const absent = missingRun(r);
        if (absent) throw new LosscapeError('input', absent);
      }
      const scene = await loadScene(runs);
      for (const r of scene.runs) {
        if (r.error) ctx.progress.warn(r.error);
        else if (r.warnings.length) ctx.progress.warn(`${r.name}: ${r.warnings.length} item(s) skipped (listed in the page)`);
      }
      let server: ViewerServer;
      try {
        server = await startServer({ runs, host: o.host, port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && cmd.getOptionValueSource('port') !== 'cli') server = await startServer({ runs, host: o.host, port: 0 });
        else if (code === 'EADDRINUSE') throw new LosscapeError('usage', `port ${port} is in use: pick another with --port (0 for any free port)`);
        else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new LosscapeError('usage', `--host ${o.host}: not an address of this machine`);
        else throw e;
      }
      ctx.out(`viewer: ${server.url}`);
      if (!['127.0.0.1', 'localhost', '::1'].includes(o.host)) ctx.progress.warn(`listening on ${o.host}: other machines on the network can read these runs`);
      if (o.open && !openInBrowser(server.url)) ctx.progress.log('open the address above in a browser');
      ctx.progress.log('Ctrl-C to stop');
      await untilStopped();
      await server.close();
    });
}

/**
 * Resolves on SIGINT or SIGTERM, or when the parent process exits (the
 * process is then re-parented, so its ppid changes): a viewer started by
 * `npx` or a script does not outlive it.
 */
function untilStopped(pollMs = 500): Promise<void> {
  const parent = process.ppid;
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearInterval(timer);
      resolve();
    };
    const timer = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, pollMs);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
