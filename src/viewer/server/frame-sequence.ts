/**
 * A movie as a PNG sequence for artists (`losscape frames`): frame-00000.png, … at any size up
 * to 4096 px (4K: 3840×2160), optionally only the surface on a transparent background, with the
 * camera following keyframes (../shared/camera-path.ts) or orbiting like `losscape video`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CameraKey, cameraAt } from '../shared/camera-path.js';
import { openRenderPage } from './render-page.js';
import { checkSize } from './snapshot.js';
import { videoFrames } from './video.js';

export interface FrameSequenceOptions {
  run: string;
  outDir: string;
  width: number;
  height: number;
  fps: number;
  duration?: number;
  secondsPerFrame?: number;
  log: boolean;
  colormap?: string;
  transparent: boolean;
  /** Camera keyframes (t in checkpoints); absent: a slow orbit as in `losscape video`. */
  camera?: CameraKey[];
  onStart?: (frames: number) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Render the sequence; returns the files written. */
export async function renderFrameSequence(o: FrameSequenceOptions): Promise<string[]> {
  checkSize(o.width, o.height, false);
  const page = await openRenderPage(o.run, o, (n) => videoFrames(o, n));
  try {
    const { frames } = videoFrames(o, page.frames);
    const last = page.frames - 1;
    const keys = o.camera ? [...o.camera].sort((a, b) => a.t - b.t) : undefined;
    mkdirSync(o.outDir, { recursive: true });
    o.onStart?.(frames);
    const files: string[] = [];
    for (let i = 0; i < frames; i++) {
      const t = frames > 1 ? (last * i) / (frames - 1) : last;
      const still = {
        width: o.width,
        height: o.height,
        t,
        log: o.log,
        transparent: o.transparent,
        ...(o.colormap ? { colormap: o.colormap } : {}),
        ...(keys ? { pose: cameraAt(keys, t) } : { azimuth: (20 * i) / o.fps }),
      };
      const url = (await page.browser.page.evaluate(`window.losscape.still(${JSON.stringify(still)})`)) as string;
      const file = join(o.outDir, `frame-${String(i).padStart(5, '0')}.png`);
      writeFileSync(file, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
      files.push(file);
      o.onProgress?.(i + 1, frames);
    }
    return files;
  } finally {
    await page.close();
  }
}
