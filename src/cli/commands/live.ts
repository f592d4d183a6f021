import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { parseSession, saveSessionRun } from '../../live/save.js';
import { type LiveServer, startLiveServer } from '../../live/server.js';
import { openInBrowser } from '../../viewer/server/server.js';
import { contextOf } from '../context.js';
import { numberFlag } from '../flags.js';

export const DEFAULT_LIVE_PORT = 7071;

export function register(program: Command): void {
  program
    .command('live')
    .summary('train a small network in the browser and watch its landscape move')
    .description(
      'Serve the live playground on http://127.0.0.1: pick a data set, network, optimizer and learning rate, press play, and watch the loss landscape around the current weights, the |λmin/λmax| map, the decision boundary and λmax against 2/η change while it trains (jax-js in the page: WebGPU where available, else wasm). "Save run" writes the session as a run folder under --runs. The same page works without a server: `npm run build:live` and open dist/live/app/index.html; it downloads sessions, which --save turns into runs.\n' +
        'Examples:\n' +
        '  losscape live\n' +
        '  losscape live --runs runs --port 8080 --no-open\n' +
        '  losscape live --save live-session.json --out runs/live',
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', String(DEFAULT_LIVE_PORT))
    .option('--runs <dir>', 'folder for saved sessions', 'runs')
    .option('--no-open', 'do not open a browser')
    .option('--save <file>', 'turn a downloaded session file into a run folder (with --out) and exit')
    .option('--out <dir>', 'run folder for --save')
    .action(async (o: { host: string; port: string; runs: string; open: boolean; save?: string; out?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (o.save) {
        if (!o.out) throw new LosscapeError('usage', '--save needs --out <run folder>');
        let raw: unknown;
        try {
          raw = JSON.parse(readFileSync(o.save, 'utf8'));
        } catch (e) {
          throw new LosscapeError('input', `${o.save}: not a readable session file (${(e as Error).message.split('\n')[0]})`);
        }
        const n = await saveSessionRun(parseSession(raw, o.save), o.out, ctx.progress);
        ctx.out(`run: ${o.out} (${n} checkpoints)`);
        return;
      }
      const port = numberFlag(o.port, '--port', { integer: true, min: 0 })!;
      if (port > 65535) throw new LosscapeError('usage', `--port must be at most 65535, got ${port}`);
      let server: LiveServer;
      try {
        server = await startLiveServer({ host: o.host, port, runsDir: o.runs, progress: ctx.progress });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && cmd.getOptionValueSource('port') !== 'cli')
          server = await startLiveServer({ host: o.host, port: 0, runsDir: o.runs, progress: ctx.progress });
        else if (code === 'EADDRINUSE') throw new LosscapeError('usage', `port ${port} is in use: pick another with --port (0 for any free port)`);
        else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new LosscapeError('usage', `--host ${o.host}: not an address of this machine`);
        else throw e;
      }
      ctx.out(`live: ${server.url}`);
      if (o.open && !openInBrowser(server.url)) ctx.progress.log('open the address above in a browser');
      ctx.progress.log('Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
