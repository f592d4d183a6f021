/**
 * Headless Chromium for rendering (video, snapshot, tests): playwright-core
 * driving a system Chromium with WebGL through SwiftShader, so it works on
 * machines without a GPU. A fresh temporary profile per launch.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export function chromiumPath(): string {
  const env = process.env.LOSSCAPE_CHROMIUM;
  if (env) {
    if (!existsSync(env)) throw new Error(`LOSSCAPE_CHROMIUM=${env}: no such file`);
    return env;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error('no Chromium found (looked in /usr/bin): install chromium or set LOSSCAPE_CHROMIUM to its path');
  return found;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(o: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'losscape-chromium-'));
  const args = [
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--ignore-gpu-blocklist',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args,
      viewport: { width: o.width ?? 1280, height: o.height ?? 800 },
      deviceScaleFactor: 1,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`could not start headless Chromium: ${(e as Error).message.split('\n')[0]}`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Wait until the viewer page says it is ready (or shows an error); returns the error text if any. */
export async function waitForViewer(page: Page, timeoutMs = 60_000): Promise<string | null> {
  await page.waitForFunction('window.losscape && window.losscape.ready', undefined, { timeout: timeoutMs });
  return (await page.evaluate('window.losscape.error')) as string | null;
}
