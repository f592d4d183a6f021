/**
 * `losscape planes RUN` on a finished run (random planes): a curvature report per frame in the
 * manifest and trajectory.json; the viewer's planes panel shows the next checkpoint's marker,
 * its distance off the plane as a number and a bar, and the hidden-saddle flag where a frame has
 * one.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrajectoryDoc } from '../../src/run/planes.js';
import type { Manifest } from '../../src/store/run-store.js';
import { type Browser, launchBrowser, waitForViewer } from '../../src/viewer/server/browser.js';
import { startServer, type ViewerServer } from '../../src/viewer/server/server.js';
import { cli, tinyConfig } from '../helpers/cli.js';
import { canvasPixels, ensureBuilt, settled } from '../viewer/helpers.js';

let root: string;
let run: string;
let browser: Browser | undefined;
let server: ViewerServer | undefined;

beforeAll(() => {
  ensureBuilt({ cli: true });
  root = mkdtempSync(join(tmpdir(), 'losscape-planes-cli-'));
  run = join(root, 'run');
  writeFileSync(join(root, 'tiny.json'), JSON.stringify(tinyConfig()));
  const r = cli(['run', join(root, 'tiny.json'), '--out', run, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('losscape planes', () => {
  it('writes a curvature report per frame and trajectory.json, and prints them', () => {
    const r = cli(['planes', run, '--epsilon', '0.02', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const m: Manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    for (const f of m.frames) {
      const c = f.curvature!;
      expect(c.epsilon).toBe(0.02);
      for (const l of c.planeEigenvalues) {
        expect(l).toBeGreaterThanOrEqual(c.lambdaMin - 1e-4 * Math.abs(c.lambdaMax));
        expect(l).toBeLessThanOrEqual(c.lambdaMax * (1 + 1e-4));
      }
    }
    expect(r.stdout.split('\n').filter((l) => l.startsWith('checkpoint ')).length).toBe(m.frames.length);
    const doc: TrajectoryDoc = JSON.parse(readFileSync(join(run, 'trajectory.json'), 'utf8'));
    expect(doc.frames.length).toBe(m.frames.length);
    // a random plane in a 80-parameter space shows only part of a training step
    const next = doc.frames[0]!.next!;
    expect(next.captured).toBeGreaterThan(0);
    expect(next.captured).toBeLessThan(1);
    expect(next.offPlane ** 2 + next.distance ** 2 * next.captured ** 2).toBeCloseTo(next.distance ** 2, 8);
  });

  it('the viewer shows the marker, the off-plane distance and bar, and the hidden-saddle flag', async () => {
    const m: Manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    // both cases on screen: frame 1 flagged the opposite way from frame 0 (on this run, the random
    // plane at initialization hides a saddle: λmin ≈ −0.1 while the plane shows ≈ −6e−4)
    const flag0 = m.frames[0]!.curvature!.hiddenSaddle;
    m.frames[1]!.curvature!.hiddenSaddle = !flag0;
    writeFileSync(join(run, 'manifest.json'), JSON.stringify(m));
    const doc: TrajectoryDoc = JSON.parse(readFileSync(join(run, 'trajectory.json'), 'utf8'));
    server = await startServer({ runs: [run], port: 0 });
    browser = await launchBrowser({ width: 1100, height: 1000 });
    const errors: string[] = [];
    browser.page.on('pageerror', (e) => errors.push(e.message));
    await browser.page.goto(server.url);
    expect(await waitForViewer(browser.page)).toBeNull();
    await settled(browser.page);
    await browser.page.evaluate('window.losscape.app.set({ t: 0, playing: false })');
    await settled(browser.page);
    const panel = browser.page.locator('[data-panel="planes"]');
    expect(await panel.count()).toBe(1);
    const text = await panel.locator('[data-role="off-plane"]').textContent();
    expect(text).toContain(`${(100 * doc.frames[0]!.next!.captured).toFixed(1)}% of the step in the plane`);
    const width = await panel.locator('.ls-plane-bar-fill').evaluate((e) => (e as { style: { width: string } }).style.width);
    expect(width).toBe(`${(100 * doc.frames[0]!.next!.captured).toFixed(1)}%`);
    const report = await panel.locator('[data-role="curvature"]').textContent();
    expect(report).toContain(`full λmin`);
    expect(report!.includes('HIDDEN SADDLE')).toBe(flag0);
    const [pixels] = await canvasPixels(browser.page, '[data-panel="planes"] canvas');
    expect(pixels!.std).toBeGreaterThan(8);
    await browser.page.evaluate('window.losscape.app.set({ t: 1 })');
    await settled(browser.page);
    expect((await panel.locator('[data-role="curvature"]').textContent())!.includes('HIDDEN SADDLE')).toBe(!flag0);
    expect(await panel.locator('.ls-warn').count()).toBe(flag0 ? 0 : 1);
    expect(errors).toEqual([]);
  });

  it("the movie's frames carry the inset: the plane map with the next checkpoint, and the off-plane bar", async () => {
    // the same frame rendered with trajectory.json and without it
    const shot = (name: string) => {
      const r = cli(['snapshot', run, '--frame', '0', '--out', join(root, name), '--width', '1280', '--height', '720', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(root, name)).toString('base64');
    };
    const withPlanes = shot('with.png');
    renameSync(join(run, 'trajectory.json'), join(root, 'trajectory.json'));
    const m: Manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    for (const f of m.frames) delete f.curvature;
    writeFileSync(join(run, 'manifest.json'), JSON.stringify(m));
    const without = shot('without.png');
    // standard deviation of the gray levels in the inset's rectangle
    const insetStd = (b64: string) =>
      browser!.page.evaluate(`(async () => {
        const img = new Image();
        img.src = 'data:image/png;base64,${b64}';
        await img.decode();
        const c = document.createElement('canvas');
        c.width = 1280; c.height = 720;
        const x = c.getContext('2d');
        x.drawImage(img, 0, 0);
        const d = x.getImageData(30, 110, 200, 240).data;
        let s = 0, s2 = 0, n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) { const g = (d[i] + d[i + 1] + d[i + 2]) / 3; s += g; s2 += g * g; }
        return Math.sqrt(s2 / n - (s / n) ** 2);
      })()`) as Promise<number>;
    const [a, b] = [await insetStd(withPlanes), await insetStd(without)];
    expect(a).toBeGreaterThan(20);
    expect(b).toBeLessThan(8);
  });
});
