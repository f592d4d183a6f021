/** `losscape snapshot`: one frame of the movie renderer as a PNG. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { openRenderPage } from './render-page.js';

export interface SnapshotOptions {
  run: string;
  out: string;
  width: number;
  height: number;
  /** Frame index (0-based, fractional allowed); default: the last frame. */
  frame?: number;
  log?: boolean;
  colormap?: string;
  layer?: 'loss' | 'accuracy' | 'hessian';
  plane?: 'frames' | 'pca';
  azimuth?: number;
  /** Height and colour ranges: the whole run (default), this frame, or its checkpoints'. */
  scale?: 'global' | 'frame' | 'track';
  /** α, β and loss axes on the 3-D view (default true). */
  axes?: boolean;
}

export async function renderSnapshot(o: SnapshotOptions): Promise<{ path: string; frame: number; frames: number }> {
  checkSize(o.width, o.height, false);
  const checkFrame = (frames: number) => {
    const f = o.frame ?? frames - 1;
    if (!(f >= 0 && f <= frames - 1)) throw new LosscapeError('input', `--frame ${f} is out of range: the run has frames 0 to ${frames - 1}`);
  };
  const renderPage = await openRenderPage(o.run, o, checkFrame);
  try {
    checkFrame(renderPage.frames);
    const frame = o.frame ?? renderPage.frames - 1;
    const still = {
      width: o.width,
      height: o.height,
      t: frame,
      log: o.log ?? true,
      colormap: o.colormap,
      layer: o.layer,
      plane: o.plane,
      azimuth: o.azimuth,
      scale: o.scale,
      axes: o.axes,
    };
    const url = (await renderPage.browser.page.evaluate(`window.losscape.still(${JSON.stringify(still)})`)) as string;
    const png = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, png);
    return { path: o.out, frame, frames: renderPage.frames };
  } finally {
    await renderPage.close();
  }
}

export function checkSize(width: number, height: number, even: boolean): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 4096)
      throw new LosscapeError('input', `--${name} must be a whole number of pixels between 16 and 4096, got ${v}`);
    if (even && v % 2) throw new LosscapeError('input', `--${name} must be even for video encoding, got ${v}`);
  }
}
