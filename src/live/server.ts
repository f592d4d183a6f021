/**
 * `losscape live`'s server: the static playground (dist/live/app: index.html and live.js)
 * on 127.0.0.1, plus POST /api/save, which turns the posted session into a run folder under
 * the runs directory (save.ts). Nothing else is served.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProgressSink, silent } from '../core/progress.js';
import { parseSession, saveSessionRun } from './save.js';

/** The built playground folder (`npm run build:live`). */
export function liveAppDir(): string {
  const dir = fileURLToPath(new URL('../../dist/live/app/', import.meta.url));
  if (!existsSync(join(dir, 'live.js'))) throw new Error('the live page is not built (dist/live/app/live.js is missing): run `npm run build`');
  return dir;
}

export interface LiveServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Saved sessions become run folders here. */
  runsDir: string;
  progress?: ProgressSink;
}

export interface LiveServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Largest accepted session document (about 100 checkpoints of a 200k-parameter network). */
const MAX_BODY = 128 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('session too large'));
      else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** A free folder name under runsDir for a session name. */
function freshRunDir(runsDir: string, name: string): string {
  let dir = join(runsDir, name);
  for (let k = 2; existsSync(dir); k++) dir = join(runsDir, `${name}-${k}`);
  return dir;
}

export async function startLiveServer(o: LiveServerOptions): Promise<LiveServer> {
  const appDir = liveAppDir();
  const files: Record<string, [string, string]> = {
    '/': ['index.html', 'text/html; charset=utf-8'],
    '/index.html': ['index.html', 'text/html; charset=utf-8'],
    '/live.js': ['live.js', 'text/javascript; charset=utf-8'],
    '/digits.js': ['digits.js', 'text/javascript; charset=utf-8'],
  };
  const progress = o.progress ?? silent;
  let saving: Promise<unknown> = Promise.resolve();
  const send = (res: ServerResponse, status: number, body: string | Buffer, type: string) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, v: unknown) => send(res, status, JSON.stringify(v), 'application/json; charset=utf-8');

  async function save(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const doc = parseSession(JSON.parse(await readBody(req)));
      const dir = freshRunDir(o.runsDir, doc.name);
      const run = saving.then(() => saveSessionRun(doc, dir, progress));
      saving = run.catch(() => {});
      const n = await run;
      progress.log(`saved the live session as ${dir} (${n} checkpoints)`);
      json(res, 200, { dir, checkpoints: n });
    } catch (e) {
      json(res, 400, { error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
    }
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' && path === '/api/save') return void save(req, res);
    const f = files[path];
    if (req.method !== 'GET' || !f) return send(res, 404, 'not found', 'text/plain; charset=utf-8');
    send(res, 200, readFileSync(join(appDir, f[0])), f[1]);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
