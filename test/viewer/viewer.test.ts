/**
 * The viewer in real headless Chromium (SwiftShader WebGL): one browser for
 * the whole file, one page reused across servers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser, waitForViewer } from '../../src/viewer/server/browser.js';
import { writeReport } from '../../src/viewer/server/report.js';
import { startServer, type ViewerServer } from '../../src/viewer/server/server.js';
import { makeRun } from './fixture.js';
import { canvasPixels, ensureBuilt, pixelDiff, settled } from './helpers.js';

let dir: string;
let browser: Browser;
const servers: ViewerServer[] = [];

async function open(runs: string[]): Promise<string | null> {
  const srv = await startServer({ runs, port: 0 });
  servers.push(srv);
  await browser.page.goto(srv.url);
  const err = await waitForViewer(browser.page);
  if (!err) await settled(browser.page);
  return err;
}

const BLANK = 8; // gray-level standard deviation of a rendered surface is far above this

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'losscape-viewer-'));
  await makeRun(join(dir, 'a'), { name: 'run-a' });
  await makeRun(join(dir, 'b'), { name: 'run-b' });
  mkdirSync(join(dir, 'corrupt'));
  writeFileSync(join(dir, 'corrupt', 'manifest.json'), '{"format": "losscape-run/1", "frames": [ {');
  browser = await launchBrowser({ width: 1100, height: 720 });
});

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('viewer', () => {
  it('draws the surface; scrubbing, the log toggle and the PCA plane change the picture', async () => {
    const page = browser.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    expect(await open([join(dir, 'a')])).toBeNull();
    expect(await page.locator('canvas.ls-gl').count()).toBe(1);
    const [opened] = await canvasPixels(page, 'canvas.ls-gl');
    expect(opened!.std).toBeGreaterThan(BLANK);
    const [heat] = await canvasPixels(page, 'canvas.ls-heat');
    expect(heat!.std).toBeGreaterThan(BLANK);

    // it opens on the last checkpoint; scrub back to the first with the timeline slider
    expect(await page.evaluate('window.losscape.app.state().t')).toBe(2);
    await page.locator('[data-ctl="t"]').fill('0');
    await settled(page);
    expect(await page.evaluate('window.losscape.app.state().t')).toBe(0);
    expect(await page.locator('.ls-frame-label').textContent()).toContain('checkpoint 0');
    const [scrubbed] = await canvasPixels(page, 'canvas.ls-gl');
    expect(scrubbed!.std).toBeGreaterThan(BLANK);
    expect(pixelDiff(opened!, scrubbed!)).toBeGreaterThan(3);

    // fitting the range to the frame rescales the picture
    await page.locator('[data-ctl="scale"]').selectOption('frame');
    await settled(page);
    const [fitted] = await canvasPixels(page, 'canvas.ls-gl');
    expect(pixelDiff(scrubbed!, fitted!)).toBeGreaterThan(3);
    await page.locator('[data-ctl="scale"]').selectOption('global');
    await settled(page);

    // log scale is on by default; turning it off changes heights and colours
    expect(await page.locator('[data-ctl="log"]').isChecked()).toBe(true);
    await page.locator('[data-ctl="log"]').uncheck();
    await settled(page);
    expect(await page.evaluate('window.losscape.app.state().log')).toBe(false);
    const [linear] = await canvasPixels(page, 'canvas.ls-gl');
    expect(pixelDiff(scrubbed!, linear!)).toBeGreaterThan(3);

    // Hessian overlay colours the surface by |λmin/λmax|; its panel is drawn
    await page.locator('[data-ctl="layer"]').selectOption('hessian');
    await settled(page);
    const [hess] = await canvasPixels(page, 'canvas.ls-gl');
    expect(pixelDiff(linear!, hess!)).toBeGreaterThan(3);
    const heats = await canvasPixels(page, '.ls-hessian canvas');
    expect(heats[0]!.std).toBeGreaterThan(BLANK);

    // the PCA plane with the trajectory
    await page.locator('[data-ctl="plane"]').selectOption('pca');
    await settled(page);
    const [pca] = await canvasPixels(page, 'canvas.ls-gl');
    expect(pca!.std).toBeGreaterThan(BLANK);
    expect(pixelDiff(hess!, pca!)).toBeGreaterThan(3);
    expect(await page.locator('.ls-view-label').textContent()).toContain('72% + 18%');
    expect(errors).toEqual([]);
  });

  it('compare mode shows two surfaces with cameras in sync', async () => {
    const page = browser.page;
    expect(await open([join(dir, 'a'), join(dir, 'b')])).toBeNull();
    const shots = await canvasPixels(page, 'canvas.ls-gl');
    expect(shots.length).toBe(2);
    for (const s of shots) expect(s.std).toBeGreaterThan(BLANK);
    expect(await page.locator('.ls-title h1').textContent()).toBe('run-a  vs  run-b');
    // drag in the first view: the second camera follows
    const box = (await page.locator('canvas.ls-gl').first().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 30, { steps: 6 });
    await page.mouse.up();
    await page.waitForTimeout(300);
    await settled(page);
    const after = await canvasPixels(page, 'canvas.ls-gl');
    expect(pixelDiff(shots[0]!, after[0]!)).toBeGreaterThan(3);
    expect(pixelDiff(after[0]!, after[1]!)).toBeLessThan(0.5); // same data, same camera
  });

  it('says what is wrong with a corrupt or missing run', async () => {
    const page = browser.page;
    const err = await open([join(dir, 'corrupt')]);
    expect(err).toMatch(/manifest\.json is not valid JSON/);
    expect(await page.locator('.ls-error h2').textContent()).toContain("Can't show");
    expect(await page.locator('.ls-error-msg').textContent()).toMatch(/manifest\.json is not valid JSON/);

    const missing = await open([join(dir, 'nowhere')]);
    expect(missing).toMatch(/Run not found/);
    expect(await page.locator('.ls-error-msg').textContent()).toContain(join(dir, 'nowhere'));

    // compare with one broken run: the good one is drawn, the broken one explained
    expect(await open([join(dir, 'a'), join(dir, 'nowhere')])).toBeNull();
    expect(await page.locator('.ls-view .ls-error-msg').textContent()).toMatch(/Run not found/);
    const [good] = await canvasPixels(page, 'canvas.ls-gl');
    expect(good!.std).toBeGreaterThan(BLANK);
  });

  it('the self-contained report renders from file:// with no server', async () => {
    const page = browser.page;
    const out = join(dir, 'report.html');
    await writeReport([join(dir, 'a')], out);
    await page.goto(`file://${out}`);
    expect(await waitForViewer(page)).toBeNull();
    await settled(page);
    const [shot] = await canvasPixels(page, 'canvas.ls-gl');
    expect(shot!.std).toBeGreaterThan(BLANK);
  });
});
