import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/viewer/server/report.js';
import { startServer, type ViewerServer } from '../../src/viewer/server/server.js';
import { makeRun } from './fixture.js';
import { ensureBuilt } from './helpers.js';

let dir: string;
let srv: ViewerServer;

/** GET with the request target sent exactly as written (no URL normalisation). */
function get(path: string): Promise<{ status: number; body: Buffer; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'losscape-viewer-server-'));
  await makeRun(join(dir, 'run'));
  writeFileSync(join(dir, 'secret.txt'), 'outside the run');
  symlinkSync(join(dir, 'secret.txt'), join(dir, 'run', 'link.txt'));
  srv = await startServer({ runs: [join(dir, 'run')], port: 0 });
});
afterAll(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('viewer server', () => {
  it('listens on 127.0.0.1 and serves the page, the bundle and the scene', async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect(page.body.toString()).toContain('<script type="module" src="viewer.js">');
    const js = await get('/viewer.js');
    expect(js.status).toBe(200);
    expect(js.body.length).toBeGreaterThan(100_000);
    const scene = JSON.parse((await get('/scene.json')).body.toString());
    expect(scene.runs[0].frames.length).toBe(3);
  });

  it("serves the run's own files", async () => {
    const m = await get('/runs/0/manifest.json');
    expect(m.status).toBe(200);
    expect(JSON.parse(m.body.toString()).name).toBe('bowl');
    const h5 = await get('/runs/0/surfaces/ckpt-0001.h5');
    expect(h5.status).toBe(200);
    expect(h5.body.equals(readFileSync(join(dir, 'run', 'surfaces', 'ckpt-0001.h5')))).toBe(true);
    expect((await get('/runs/0/surfaces/ckpt-0009.h5')).status).toBe(404);
    expect((await get('/runs/1/manifest.json')).status).toBe(404);
    expect((await get('/etc/passwd')).status).toBe(404);
  });

  it('refuses every way out of the run folder', async () => {
    const attempts = [
      '/runs/0/../secret.txt',
      '/runs/0/surfaces/../../secret.txt',
      '/../../etc/passwd',
      '/runs/0/%2e%2e%2fsecret.txt',
      '/runs/0/%2E%2E/secret.txt',
      '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/runs/0/surfaces%2Fckpt-0000.h5',
      '/runs/0/%2Fetc%2Fpasswd',
      '/runs/0//etc/passwd',
      '//etc/passwd',
      '/runs/0/..%5csecret.txt',
      '/runs/0/surfaces\\..\\..\\secret.txt',
      '/runs/0/%252e%252e/secret.txt',
      '/runs/0/C:/Windows/win.ini',
      '/runs/0/link.txt', // a symlink pointing outside
    ];
    for (const a of attempts) {
      const r = await get(a);
      expect([403, 404], a).toContain(r.status);
      expect(r.body.toString(), a).not.toContain('outside the run');
      expect(r.body.toString(), a).not.toContain('root:');
    }
    // the obviously hostile ones are 403, not just "not found"
    for (const a of [
      '/runs/0/../secret.txt',
      '/runs/0/%2e%2e%2fsecret.txt',
      '/runs/0/%2Fetc%2Fpasswd',
      '/runs/0//etc/passwd',
      '/runs/0/surfaces\\..\\..\\secret.txt',
      '/runs/0/link.txt',
    ]) {
      expect((await get(a)).status, a).toBe(403);
    }
  });

  it('writes a self-contained report (script and data inlined)', async () => {
    const out = join(dir, 'out', 'report.html');
    const r = await writeReport([join(dir, 'run')], out);
    const html = readFileSync(out, 'utf8');
    expect(r.bytes).toBe(Buffer.byteLength(html));
    expect(/<script[^>]+src=/.test(html)).toBe(false);
    expect(/(src|href)="(https?:)?\/\//.test(html)).toBe(false); // nothing loaded from elsewhere
    expect(html).toContain('id="losscape-scene"');
    expect(html.match(/<\/script>/g)!.length).toBe(3); // config, scene, viewer: the bundle holds no stray </script>
    await expect(writeReport([join(dir, 'missing')], join(dir, 'x.html'))).rejects.toThrow(/Run not found/);
  });
});
