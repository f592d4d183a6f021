/** Shared test helpers: build outputs, pixel statistics read back from canvases. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** The viewer bundle (and, with cli, the compiled CLI) must exist; build what is missing. */
export function ensureBuilt(o: { cli?: boolean } = {}): void {
  const bundle = existsSync(`${ROOT}dist/viewer/app/viewer.js`);
  const cli = existsSync(`${ROOT}dist/cli/main.js`) && existsSync(`${ROOT}dist/viewer/server/video.js`);
  if (o.cli && !(bundle && cli)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  else if (!bundle) execFileSync('npx', ['vite', 'build', '--config', 'src/viewer/app/vite.config.ts'], { cwd: ROOT, stdio: 'inherit' });
}

export interface Pixels {
  /** Gray levels (0..255) of the canvas scaled down to w × h. */
  gray: number[];
  std: number;
}

/** Read every canvas matching `selector` back through a small 2-D canvas. */
export async function canvasPixels(page: Page, selector: string): Promise<Pixels[]> {
  const out = (await page.evaluate(`(() => {
    const w = 96, h = 64;
    return [...document.querySelectorAll(${JSON.stringify(selector)})].map((cv) => {
      const t = document.createElement('canvas');
      t.width = w; t.height = h;
      const x = t.getContext('2d');
      x.fillStyle = '#000'; x.fillRect(0, 0, w, h);
      x.drawImage(cv, 0, 0, w, h);
      const d = x.getImageData(0, 0, w, h).data;
      const gray = [];
      for (let i = 0; i < d.length; i += 4) gray.push(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
      return gray;
    });
  })()`)) as number[][];
  return out.map((gray) => {
    const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
    const std = Math.sqrt(gray.reduce((a, b) => a + (b - mean) ** 2, 0) / gray.length);
    return { gray, std };
  });
}

/** Mean absolute difference of two readbacks. */
export function pixelDiff(a: Pixels, b: Pixels): number {
  let s = 0;
  for (let i = 0; i < a.gray.length; i++) s += Math.abs(a.gray[i]! - b.gray[i]!);
  return s / a.gray.length;
}

/** Wait until the app has drawn the latest state. */
export async function settled(page: Page): Promise<void> {
  await page.evaluate('window.losscape.app ? window.losscape.app.settled() : null');
  await page.evaluate('window.losscape.app ? window.losscape.app.settled() : null');
}
