/**
 * Axes of the 3-D view: α, β and loss ticks with titles, as DOM labels over
 * the interactive view (they follow the camera and the log toggle) and
 * painted into the movie renderer's frames.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser, waitForViewer } from '../../src/viewer/server/browser.js';
import { startServer, type ViewerServer } from '../../src/viewer/server/server.js';
import { bowl, makeRun } from './fixture.js';
import { ensureBuilt, settled } from './helpers.js';

interface Label {
  text: string;
  kind: string;
  x: number;
  y: number;
  inside: boolean;
}

let dir: string;
let browser: Browser;
const servers: ViewerServer[] = [];

async function open(query = ''): Promise<void> {
  const srv = await startServer({ runs: [join(dir, 'run')], port: 0 });
  servers.push(srv);
  await browser.page.goto(srv.url + query);
  expect(await waitForViewer(browser.page)).toBeNull();
  await settled(browser.page);
}

/** The axis labels of the 3-D view: text, kind, centre, and whether they lie inside the view. */
function labels(): Promise<Label[]> {
  return browser.page.evaluate(`(() => {
    const view = document.querySelector('[data-panel="surfaces"] .ls-view').getBoundingClientRect();
    return [...document.querySelectorAll('[data-panel="surfaces"] .ls-axis-label')].map((e) => {
      const r = e.getBoundingClientRect();
      const kind = [...e.classList].find((c) => c.startsWith('ls-axis-') && c !== 'ls-axis-label').slice(8);
      return { text: e.textContent, kind, x: r.x + r.width / 2, y: r.y + r.height / 2,
        inside: r.width > 0 && r.left >= view.left && r.right <= view.right && r.top >= view.top && r.bottom <= view.bottom };
    });
  })()`);
}

const num = (s: string) => Number(s.replace('−', '-'));

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'losscape-viewer-axes-'));
  await makeRun(join(dir, 'run'));
  browser = await launchBrowser({ width: 1100, height: 800 });
});

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('3-D axes', () => {
  it('the view has α, β and loss axes with round ticks, loss ticks in loss units at their heights', async () => {
    await open();
    const ls = await labels();
    const of = (kind: string) => ls.filter((l) => l.kind === kind);
    expect(of('title').map((l) => l.text)).toEqual(['α', 'β', 'train loss (log scale)']);
    for (const l of ls) expect(l.inside, l.text).toBe(true);
    // the fixture's α axis is −1…1 and β −0.8…0.8
    const xs = of('x').map((l) => num(l.text));
    expect(xs.length).toBeGreaterThanOrEqual(3);
    for (const v of xs) expect(v).toBeGreaterThanOrEqual(-1), expect(v).toBeLessThanOrEqual(1);
    expect(xs).toContain(0);
    const ys = of('y').map((l) => num(l.text));
    expect(ys.length).toBeGreaterThanOrEqual(3);
    for (const v of ys) expect(Math.abs(v)).toBeLessThanOrEqual(0.8);
    // loss ticks: values inside the run's loss range (every frame: one scale for the run), higher values higher up
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < 3; k++) {
      for (let x = -1; x <= 1; x += 0.1) for (let y = -0.8; y <= 0.8; y += 0.1) (lo = Math.min(lo, bowl(k)(x, y))), (hi = Math.max(hi, bowl(k)(x, y)));
    }
    const zs = of('z').sort((a, b) => num(a.text) - num(b.text));
    expect(zs.length).toBeGreaterThanOrEqual(2);
    for (const z of zs) expect(num(z.text)).toBeGreaterThanOrEqual(lo * 0.99), expect(num(z.text)).toBeLessThanOrEqual(hi * 1.01);
    for (let k = 1; k < zs.length; k++) expect(zs[k]!.y).toBeLessThan(zs[k - 1]!.y);
    // log scale: decades (or 1-2-5) are evenly spaced on screen
    const vals = zs.map((z) => num(z.text));
    expect(vals.every((v, k) => k === 0 || v / vals[k - 1]! >= 2 - 1e-9)).toBe(true);
  });

  it('the labels follow the camera and the linear/log switch', async () => {
    await open();
    const page = browser.page;
    const before = await labels();
    const box = (await page.locator('canvas.ls-gl').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 150, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await new Promise((r) => setTimeout(r, 400));
    await settled(page);
    const turned = await labels();
    const alpha = (ls: Label[]) => ls.find((l) => l.text === 'α')!;
    expect(Math.hypot(alpha(turned).x - alpha(before).x, alpha(turned).y - alpha(before).y)).toBeGreaterThan(20);
    await page.evaluate('window.losscape.app.set({ log: false })');
    await settled(page);
    const linear = await labels();
    expect(linear.filter((l) => l.kind === 'title').map((l) => l.text)).toContain('train loss');
    const zs = linear.filter((l) => l.kind === 'z').map((l) => num(l.text));
    // linear: evenly stepped round values
    const steps = zs
      .sort((a, b) => a - b)
      .slice(1)
      .map((v, k) => v - zs[k]!);
    for (const s of steps) expect(s).toBeCloseTo(steps[0]!, 9);
  });

  it('movie frames carry the axes: only the 3-D area changes when they are turned off', async () => {
    await open('?mode=render');
    const diff = (await browser.page.evaluate(`(() => {
      const grab = (axes) => {
        window.losscape.still({ width: 640, height: 360, axes });
        const c = document.querySelector('canvas');
        return c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      };
      const a = grab(true);
      const b = grab(false);
      const rows = new Array(360).fill(0);
      for (let i = 0; i < a.length; i += 4) if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]) > 30) rows[Math.floor(i / 4 / 640)]++;
      return rows;
    })()`)) as number[];
    const changed = diff.reduce((s, v) => s + v, 0);
    expect(changed).toBeGreaterThan(400); // tick labels, titles and tick marks
    // the headings (top 18 px at 360 px high) and the training curves (bottom 75 px) are untouched
    expect(diff.slice(0, 18).every((v) => v === 0)).toBe(true);
    expect(diff.slice(360 - 75).every((v) => v === 0)).toBe(true);
  });

  it('the two train losses are labelled: the checkpoint metrics on the full train set, the surface centre on the subset', async () => {
    await open();
    const label = await browser.page.locator('.ls-frame-label').textContent();
    // checkpoint 2 of the fixture: metrics row train_loss 2/3, acc 90; the surface at (0, 0), on 200 samples
    expect(label).toContain('full train set: loss 0.667 · acc 90%');
    expect(label).toContain(`surface centre: loss ${bowl(2)(0, 0).toPrecision(3)} (200-sample subset)`);
  });
});
