/**
 * The live playground in headless Chromium (playwright-core, Debian's chromium): the static
 * build from file:// trains when play is pressed (the loss falls, the drawn landscape
 * changes); served by `losscape live`, a paused state's landscape equals `losscape surface`
 * at the same weights and directions (1e-5), and "Save run" writes a run folder that
 * `losscape report` renders.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readH5 } from '../../src/io/h5.js';
import { RunStore } from '../../src/store/run-store.js';
import { type Browser, launchBrowser, waitForViewer } from '../../src/viewer/server/browser.js';
import { BIN, cli } from '../helpers/cli.js';
import { canvasPixels, ensureBuilt, pixelDiff, ROOT } from '../viewer/helpers.js';
import { QUERY, ready } from './helpers.js';

interface PageState {
  step: number;
  trainLoss: number;
  grid: { x: { min: number; max: number; n: number }; y: { min: number; max: number; n: number } };
  loss: number[];
  backend: string;
}

const state = (page: Page) =>
  page.evaluate(`(() => {
    const l = window.live;
    const s = l.lastSurface;
    return { step: l.session.step, trainLoss: l.session.history.at(-1).train_loss, grid: s.grid, loss: [...s.values.loss], backend: l.backend };
  })()`) as Promise<PageState>;

/** Press play, wait until `steps` steps are done, press pause and wait for the queued work. */
async function playFor(page: Page, steps: number): Promise<void> {
  await page.click('#play');
  await page.waitForFunction(`window.live.session.step >= ${steps}`, undefined, { timeout: 90_000 });
  await page.click('#play');
  await page.evaluate('window.live.idle()');
}

/** The digit CNN on the bundled MNIST subset: 24-image evaluation subset, 5×5 landscapes, one Hessian point. */
const DIGITS_QUERY = 'data=mnist&model=cnn&subset=0.02&opt=adam&lr=0.01&grid=5&hgrid=1';

let browser: Browser;

beforeAll(async () => {
  ensureBuilt({ cli: true });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

afterAll(async () => {
  await browser?.close();
});

describe('live playground', () => {
  it('from file:// (the static build): play trains, the loss falls and the landscape moves', async () => {
    const page = browser.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${ROOT}dist/live/app/index.html?${QUERY}`);
    await ready(page);
    const before = await state(page);
    expect(before.step).toBe(0);
    expect(before.backend).toBe('wasm'); // no WebGPU adapter in headless Chromium here
    expect(await page.textContent('#backend')).toMatch(/^wasm/);
    const shot0 = (await canvasPixels(page, '#landscape'))[0]!;
    expect(shot0.std).toBeGreaterThan(5);
    await playFor(page, 100);
    const after = await state(page);
    expect(after.step).toBeGreaterThanOrEqual(100);
    expect(after.trainLoss).toBeLessThan(before.trainLoss - 0.1);
    const shot1 = (await canvasPixels(page, '#landscape'))[0]!;
    expect(pixelDiff(shot0, shot1)).toBeGreaterThan(1);
    expect(after.loss).not.toEqual(before.loss);
    // the settings are in the URL, and a step button advances one step
    await page.selectOption('select[name=optimizer]', 'sgd');
    await page.evaluate('window.live.idle()');
    expect(page.url()).toContain('opt=sgd');
    await page.click('#step');
    await page.evaluate('window.live.idle()');
    expect((await state(page)).step).toBe(after.step + 1);
    expect(errors).toEqual([]);
  });
});

describe('live playground: image data', () => {
  it('offers the bundled MNIST and Fashion-MNIST subsets; the digit CNN trains and its loss falls', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${ROOT}dist/live/app/index.html?${DIGITS_QUERY}`);
    await ready(page);
    const options = await page.$$eval('select[name=data] option', (os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(options).toEqual(expect.arrayContaining(['mnist', 'fashion-mnist']));
    const before = (await page.evaluate(
      '({ model: window.live.session.model.name, train: window.live.session.data.train.y.length, loss: window.live.session.history.at(-1).train_loss })',
    )) as { model: string; train: number; loss: number };
    expect(before.model).toMatch(/^cnn conv5\[4,8\]/);
    expect(before.train).toBe(1000);
    await playFor(page, 15);
    const after = await state(page);
    expect(after.step).toBeGreaterThanOrEqual(15);
    expect(after.trainLoss).toBeLessThan(before.loss - 0.2);
    expect(after.loss).toHaveLength(25);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('losscape live', () => {
  let server: ChildProcess;
  let url: string;
  let serverErr = '';
  let serverExit = 'running';
  const runs = mkdtempSync(join(tmpdir(), 'losscape-live-runs-'));

  beforeAll(async () => {
    server = spawn(process.execPath, [BIN, 'live', '--port', '0', '--no-open', '--runs', runs], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (d: Buffer) => {
      serverErr += d.toString();
    });
    server.on('exit', (code, signal) => {
      serverExit = `exited with ${code ?? signal}`;
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = out.match(/^live: (http:\/\/127\.0\.0\.1:\d+\/)$/m);
        if (m) resolve(m[1]!);
      });
      server.on('exit', (code) => reject(new Error(`losscape live exited with ${code}`)));
    });
  });

  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('serves the page (?autoplay starts training); the paused landscape equals `losscape surface`; a saved session is a run the report renders', async () => {
    const page = await browser.context.newPage();
    // a failed load says what became of the server (once, under load, the page was refused)
    await page.goto(`${url}?${QUERY}&autoplay`).catch((e: Error) => {
      throw new Error(`${e.message.split('\n')[0]}; losscape live ${serverExit}; its stderr: ${serverErr.slice(-2000) || '(empty)'}`);
    });
    await ready(page);
    await page.waitForFunction('window.live.session.step >= 30', undefined, { timeout: 90_000 });
    await page.click('#play');
    await page.evaluate('window.live.idle()');
    const paused = await state(page);
    const where = (await page.evaluate('window.live.save()')) as string;
    const dir = where.match(/^saved as run folder (.+)$/)![1]!;
    expect(dir.startsWith(runs)).toBe(true);

    // the saved run's last checkpoint is the paused state
    const last = new RunStore(dir).readManifest().checkpoints.at(-1)!;
    expect(last.step).toBe(paused.step);
    const r = cli(['surface', dir, '--checkpoint', String(last.index), '--x', '-1:1:11', '--y', '-1:1:11', '--out', join(dir, 'check.h5'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const h = await readH5(join(dir, 'check.h5'));
    const cliLoss = h.get('train_loss')!.value as Float32Array;
    expect(cliLoss.length).toBe(paused.loss.length);
    for (let k = 0; k < cliLoss.length; k++) expect(Math.abs(cliLoss[k]! - paused.loss[k]!)).toBeLessThan(1e-5 * paused.loss[k]!);

    const report = cli(['report', dir, '--out', join(dir, 'report.html'), '--quiet']);
    expect(report.code, report.stderr).toBe(0);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    const view = await browser.context.newPage();
    await view.goto(`file://${join(dir, 'report.html')}`);
    expect(await waitForViewer(view)).toBeNull();
    const [surface] = await canvasPixels(view, 'canvas');
    expect(surface!.std).toBeGreaterThan(5);
    await view.close();
    await page.close();
  });
});
