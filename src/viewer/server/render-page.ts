/**
 * The headless render page: a run opened in the viewer's render mode inside
 * headless Chromium, where `video` and `snapshot` drive the page's movie
 * renderer through `window.losscape`. The page is served by the viewer
 * server on 127.0.0.1 (a secure context, which WebCodecs needs).
 */

import { LosscapeError } from '../../core/errors.js';
import { type Browser, launchBrowser, waitForViewer } from './browser.js';
import { loadRun } from './scene.js';
import { startServer, type ViewerServer } from './server.js';

export interface RenderPage {
  browser: Browser;
  server: ViewerServer;
  /** Number of timeline frames (checkpoints with a surface). */
  frames: number;
  close(): Promise<void>;
}

/** `validate` sees the number of frames before any browser is started (to reject bad options early). */
export async function openRenderPage(run: string, size: { width: number; height: number }, validate?: (frames: number) => void): Promise<RenderPage> {
  const probe = await loadRun(run);
  if (probe.error) throw new LosscapeError('input', probe.error);
  validate?.(probe.frames.length);
  const server = await startServer({ runs: [run], mode: 'render', port: 0 });
  let browser: Browser | null = null;
  try {
    browser = await launchBrowser(size);
    const page = browser.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url, { waitUntil: 'load' });
    const err = await waitForViewer(page).catch((e: Error) => `the viewer did not start (${errors[0] ?? e.message.split('\n')[0]})`);
    if (err) throw new Error(err);
    const frames = (await page.evaluate('window.losscape.frameCount')) as number;
    const b = browser;
    return {
      browser: b,
      server,
      frames,
      close: async () => {
        await b.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}
