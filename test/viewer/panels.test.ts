/**
 * The panels of the viewer page (src/viewer/app/panels/registry.ts) in headless
 * Chromium: each one sits in its slot in registry order, draws, and draws again
 * when the view state or the selection changes. A new panel adds its id and
 * slot to PANELS below (and a case of its own where it reacts to something).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser, waitForViewer } from '../../src/viewer/server/browser.js';
import { startServer, type ViewerServer } from '../../src/viewer/server/server.js';
import { makeRun } from './fixture.js';
import { canvasPixels, ensureBuilt, type Pixels, pixelDiff, settled } from './helpers.js';

/** Registry order, and the element of the page each panel sits in. */
const PANELS: [id: string, slot: string][] = [
  ['surfaces', '.ls-main'],
  ['heatmap', '.ls-side'],
  ['slices', '.ls-side'],
  ['hessian', '.ls-side'],
  ['curves', '.ls-timeline'],
];
const BLANK = 8;

let dir: string;
let browser: Browser;
const servers: ViewerServer[] = [];
const errors: string[] = [];

async function open(run: string): Promise<void> {
  const srv = await startServer({ runs: [run], port: 0 });
  servers.push(srv);
  await browser.page.goto(srv.url);
  expect(await waitForViewer(browser.page)).toBeNull();
  await settled(browser.page);
}

/** Every canvas of a panel (its root may be the canvas itself). */
const canvasesOf = (id: string) => canvasPixels(browser.page, `[data-panel="${id}"] canvas, canvas[data-panel="${id}"]`);

async function allPanels(): Promise<Map<string, Pixels[]>> {
  const out = new Map<string, Pixels[]>();
  for (const [id] of PANELS) out.set(id, await canvasesOf(id));
  return out;
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'losscape-viewer-panels-'));
  await makeRun(join(dir, 'run'));
  await makeRun(join(dir, 'spread'), { spread: true });
  // the same run without Hessian maps
  await makeRun(join(dir, 'flat'));
  const manifest = JSON.parse(readFileSync(join(dir, 'flat', 'manifest.json'), 'utf8'));
  for (const f of manifest.frames) delete f.hessian;
  writeFileSync(join(dir, 'flat', 'manifest.json'), JSON.stringify(manifest));
  browser = await launchBrowser({ width: 1100, height: 900 });
  browser.page.on('pageerror', (e) => errors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('viewer panels', () => {
  it('every registered panel is on the page, in its slot, in registry order', async () => {
    await open(join(dir, 'run'));
    const ids = await browser.page.evaluate(`[...document.querySelectorAll('[data-panel]')].map((e) => e.dataset.panel)`);
    expect(ids).toEqual(PANELS.map(([id]) => id));
    for (const [id, slot] of PANELS) expect(await browser.page.locator(`${slot} > [data-panel="${id}"]`).count(), id).toBe(1);
    // the surfaces panel's control (reset camera) is in the header row
    expect(await browser.page.locator('.ls-controls button[title^="Reset camera"]').count()).toBe(1);
  });

  it('every panel draws, and draws again when the view state changes', async () => {
    await open(join(dir, 'run'));
    const before = await allPanels();
    for (const [id, shots] of before) {
      expect(shots.length, id).toBeGreaterThan(0);
      for (const s of shots) expect(s.std, id).toBeGreaterThan(BLANK);
    }
    // every panel follows one of these: the Hessian map the checkpoint, the training curves the log scale
    await browser.page.evaluate('window.losscape.app.set({ t: 0, log: false })');
    await settled(browser.page);
    const after = await allPanels();
    for (const [id, shots] of after) {
      const moved = Math.max(...shots.map((s, i) => pixelDiff(before.get(id)![i]!, s)));
      expect(moved, id).toBeGreaterThan(0.1);
    }
  });

  it('a click on the heatmap moves the crosshair: the slices follow, the 3-D views do not change', async () => {
    await open(join(dir, 'run'));
    const page = browser.page;
    const slices = await canvasesOf('slices');
    const surfaces = await canvasesOf('surfaces');
    const box = (await page.locator('[data-panel="heatmap"] canvas').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.6);
    await settled(page);
    const probe = (await page.evaluate('window.losscape.app.state().probe')) as [number, number];
    expect(probe[0]).toBeLessThan(0);
    expect(probe[1]).toBeLessThan(0);
    const moved = await canvasesOf('slices');
    expect(Math.max(...moved.map((s, i) => pixelDiff(slices[i]!, s)))).toBeGreaterThan(0.1);
    expect(pixelDiff(surfaces[0]!, (await canvasesOf('surfaces'))[0]!)).toBe(0);
    // hovering reads the values under the pointer
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.4);
    expect(await page.locator('[data-panel="heatmap"] .ls-readout').textContent()).toMatch(/^α \S+ +· +β \S+ +· +loss \S+ +· +acc \S+% +· +\|λmin\/λmax\| \d/);
  });

  it('the Hessian panel marks the points whose extremes were not certified', async () => {
    await open(join(dir, 'run'));
    const page = browser.page;
    const note = page.locator('[data-panel="hessian"] .ls-muted');
    await page.evaluate('window.losscape.app.set({ t: 0 })');
    await settled(page);
    expect(await note.textContent()).toMatch(/^0 to \S+: range of the whole run$/);
    const clean = await canvasesOf('hessian');
    await page.evaluate('window.losscape.app.set({ t: 1 })');
    await settled(page);
    expect(await note.textContent()).toMatch(/^0 to \S+: range of the whole run · × 2 points not certified$/);
    expect(Math.max(...(await canvasesOf('hessian')).map((s, i) => pixelDiff(clean[i]!, s)))).toBeGreaterThan(0.1);
  });

  it('the slices through the centre row and column show the subset error band', async () => {
    await open(join(dir, 'run'));
    const plain = await canvasesOf('slices');
    await open(join(dir, 'spread'));
    // no click yet: the crosshair is at the grid point nearest (0, 0), on both stored lines
    expect(await browser.page.evaluate('window.losscape.app.state().probe')).toBeNull();
    const banded = await canvasesOf('slices');
    for (let i = 0; i < 2; i++) expect(pixelDiff(plain[i]!, banded[i]!), `slice ${i}`).toBeGreaterThan(0.1);
    // off the centre lines there is no band: the same pixels as the run without error bars
    await browser.page.evaluate('window.losscape.app.set({ probe: [0.5, 0.5] })');
    await settled(browser.page);
    const off = await canvasesOf('slices');
    await open(join(dir, 'run'));
    await browser.page.evaluate('window.losscape.app.set({ probe: [0.5, 0.5] })');
    await settled(browser.page);
    const plainOff = await canvasesOf('slices');
    for (let i = 0; i < 2; i++) expect(pixelDiff(plainOff[i]!, off[i]!), `slice ${i} off the centre`).toBe(0);
  });

  it('a scene without Hessian maps has no Hessian panel and no Hessian layer', async () => {
    await open(join(dir, 'flat'));
    expect(await browser.page.locator('[data-panel="hessian"]').count()).toBe(0);
    expect(await browser.page.locator('[data-ctl="layer"] option[value="hessian"]').count()).toBe(0);
    for (const [id] of PANELS.filter(([id]) => id !== 'hessian')) {
      for (const s of await canvasesOf(id)) expect(s.std, id).toBeGreaterThan(BLANK);
    }
    expect(errors).toEqual([]);
  });
});
