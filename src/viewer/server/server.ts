/**
 * `losscape view`: a small node:http server for the viewer. It serves the
 * page, the bundled script, the scene (rebuilt when a manifest changes, so a
 * running job's new frames show up on reload) and the runs' own files under
 * /runs/<i>/…, nothing else. Requests that try to leave a run folder (`..`,
 * encoded dots or slashes, backslashes, absolute paths, NUL) get 403.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Scene } from '../shared/scene.js';
import { pageHtml, sceneTitle, viewerBundle } from './page-html.js';
import { loadScene } from './scene.js';

export interface ServerOptions {
  runs: string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Page mode: the interactive app, or the fixed-size stage used by video/snapshot. */
  mode?: 'app' | 'render';
}

export interface ViewerServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.h5': 'application/x-hdf5',
  '.png': 'image/png',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.yml': 'text/plain; charset=utf-8',
};

export type Resolved = { status: 200; path: string } | { status: 403 | 404; reason: string };

/**
 * Map the part of a request path after /runs/<i>/ to a file inside `root`.
 * `raw` is the undecoded request path; everything suspicious is refused
 * before decoding, and the decoded result is checked again after resolving
 * symlinks.
 */
export function resolveInside(root: string, raw: string): Resolved {
  const lower = raw.toLowerCase();
  if (raw.includes('\\') || lower.includes('%5c')) return { status: 403, reason: 'backslash' };
  if (lower.includes('%2e') || lower.includes('%2f') || lower.includes('%00') || lower.includes('%25'))
    return { status: 403, reason: 'encoded path characters' };
  if (raw.includes('..')) return { status: 403, reason: 'parent reference' };
  if (raw.startsWith('/') || raw.includes('//') || /^[a-z]:/i.test(raw)) return { status: 403, reason: 'absolute path' };
  let rel: string;
  try {
    rel = decodeURIComponent(raw);
  } catch {
    return { status: 403, reason: 'bad encoding' };
  }
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0') || p.includes('\\'))) return { status: 403, reason: 'bad path segment' };
  let base: string;
  try {
    base = realpathSync(root);
  } catch {
    return { status: 404, reason: 'run folder missing' };
  }
  const target = join(base, ...parts);
  if (!existsSync(target)) return { status: 404, reason: 'not found' };
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    return { status: 404, reason: 'not found' };
  }
  if (real !== base && !real.startsWith(base + sep)) return { status: 403, reason: 'outside the run' };
  if (!statSync(real).isFile()) return { status: 404, reason: 'not a file' };
  return { status: 200, path: real };
}

export async function startServer(o: ServerOptions): Promise<ViewerServer> {
  const runs = o.runs.map((r) => resolve(r));
  const bundle = viewerBundle();
  let cached: { key: string; json: string; scene: Scene } | null = null;

  const sceneKey = () =>
    runs
      .map((r) => {
        try {
          const s = statSync(join(r, 'manifest.json'));
          return `${s.mtimeMs}:${s.size}`;
        } catch {
          return 'none';
        }
      })
      .join('|');

  async function scene(): Promise<{ json: string; scene: Scene }> {
    const key = sceneKey();
    if (cached?.key !== key) {
      const sc = await loadScene(o.runs);
      cached = { key, json: JSON.stringify(sc), scene: sc };
    }
    return cached;
  }

  const send = (res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    const target = req.url ?? '/';
    if (!target.startsWith('/')) return send(res, 403, 'forbidden\n');
    const rawPath = target.split(/[?#]/, 1)[0]!;
    if (rawPath === '/' || rawPath === '/index.html') {
      const sc = await scene();
      const html = pageHtml({ title: sceneTitle(sc.scene), mode: o.mode ?? 'app', script: { src: 'viewer.js' }, sceneUrl: 'scene.json' });
      return send(res, 200, html, TYPES['.html']);
    }
    if (rawPath === '/viewer.js') return send(res, 200, bundle, TYPES['.js']);
    if (rawPath === '/scene.json') return send(res, 200, (await scene()).json, TYPES['.json']);
    const m = /^\/runs\/(\d+)\/(.*)$/s.exec(rawPath);
    if (m) {
      const run = runs[Number(m[1])];
      if (!run) return send(res, 404, 'no such run\n');
      const r = resolveInside(run, m[2]!);
      if (r.status !== 200) return send(res, r.status, r.status === 403 ? 'forbidden\n' : 'not found\n');
      const size = statSync(r.path).size;
      res.writeHead(200, {
        'Content-Type': TYPES[extname(r.path).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(r.path).pipe(res);
      return;
    }
    const lower = rawPath.toLowerCase();
    if (rawPath.includes('..') || rawPath.includes('\\') || rawPath.includes('//') || /%2e|%2f|%5c|%00/.test(lower)) {
      return send(res, 403, 'forbidden\n');
    }
    return send(res, 404, 'not found\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${(e as Error).message}\n`);
      else res.destroy();
    });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', rej);
      res();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

/** Open a URL in the desktop browser if there is one; never throws. */
export function openInBrowser(url: string): boolean {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
