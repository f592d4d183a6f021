/**
 * `losscape video`: the landscape moving through training, rendered by the
 * viewer's own renderer in headless Chromium and encoded in the page with
 * WebCodecs + mediabunny (H.264 in MP4, or VP9 in WebM). If the browser
 * cannot encode, frames are taken as PNGs and piped through ffmpeg instead.
 *
 * Timing: the movie has round(fps × duration) frames; video frame i shows
 * timeline position (checkpoints − 1) · i / (frames − 1), so it starts on the
 * first checkpoint and ends on the last, interpolating smoothly in between.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { openRenderPage } from './render-page.js';
import { checkSize } from './snapshot.js';

export interface VideoOptions {
  run: string;
  out: string;
  width: number;
  height: number;
  fps: number;
  /** Total length in seconds; default: secondsPerFrame × (checkpoints − 1). */
  duration?: number;
  secondsPerFrame?: number;
  camera: 'orbit' | 'fixed';
  log: boolean;
  format: 'mp4' | 'webm';
  colormap?: string;
  layer?: 'loss' | 'accuracy' | 'hessian';
  /** Height and colour ranges: the whole run, each frame, or each checkpoint's (default 'track'). */
  scale?: 'global' | 'frame' | 'track';
  /** α, β and loss axes on the 3-D view (default true). */
  axes?: boolean;
  /** Target bitrate in bits per second (default defaultBitrate()). */
  bitrate?: number;
  /** auto: WebCodecs, ffmpeg if that fails. */
  encoder?: 'auto' | 'webcodecs' | 'ffmpeg';
  onStart?: (frames: number) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface VideoResult {
  path: string;
  frames: number;
  duration: number;
  encoder: 'webcodecs' | 'ffmpeg';
  codec: string;
  bytes: number;
}

export const DEFAULT_SECONDS_PER_FRAME = 1.5;

/**
 * 0.2 bits per pixel and frame for H.264, counting at least 30 frames per second (5.5 Mbit/s at
 * 1280×720), 0.6 of that for VP9: thin contour lines, text and the surface's edges against the
 * dark background keep less ringing and fewer colour speckles than at the encoder's own default
 * (measured in docs/viewer.md).
 */
export function defaultBitrate(width: number, height: number, fps: number, format: 'mp4' | 'webm'): number {
  return Math.round(0.2 * width * height * Math.max(fps, 30) * (format === 'webm' ? 0.6 : 1));
}

export function videoFrames(o: Pick<VideoOptions, 'fps' | 'duration' | 'secondsPerFrame'>, checkpoints: number): { frames: number; duration: number } {
  if (!(o.fps > 0 && o.fps <= 120)) throw new LosscapeError('input', `--fps must be between 1 and 120, got ${o.fps}`);
  if (o.duration !== undefined && o.secondsPerFrame !== undefined) throw new LosscapeError('input', 'give either --duration or --seconds-per-frame, not both');
  if (o.duration !== undefined && !(o.duration > 0 && o.duration <= 3600))
    throw new LosscapeError('input', `--duration must be between 0 and 3600 seconds, got ${o.duration}`);
  if (o.secondsPerFrame !== undefined && !(o.secondsPerFrame > 0 && o.secondsPerFrame <= 600)) {
    throw new LosscapeError('input', `--seconds-per-frame must be positive, got ${o.secondsPerFrame}`);
  }
  const duration = o.duration ?? (o.secondsPerFrame ?? DEFAULT_SECONDS_PER_FRAME) * Math.max(1, checkpoints - 1);
  const frames = Math.max(1, Math.round(o.fps * duration));
  return { frames, duration: frames / o.fps };
}

export async function renderVideo(o: VideoOptions): Promise<VideoResult> {
  checkSize(o.width, o.height, true);
  const renderPage = await openRenderPage(o.run, o, (checkpoints) => videoFrames(o, checkpoints));
  try {
    const { frames, duration } = videoFrames(o, renderPage.frames);
    const page = renderPage.browser.page;
    const movie = {
      width: o.width,
      height: o.height,
      fps: o.fps,
      frames,
      camera: o.camera,
      format: o.format,
      log: o.log,
      ...(o.colormap ? { colormap: o.colormap } : {}),
      ...(o.layer ? { layer: o.layer } : {}),
      bitrate: o.bitrate ?? defaultBitrate(o.width, o.height, o.fps, o.format),
      scale: o.scale ?? 'track',
      axes: o.axes ?? true,
    };
    o.onStart?.(frames);
    mkdirSync(dirname(o.out) || '.', { recursive: true });
    const tmp = join(dirname(o.out), `.${basename(o.out)}.${process.pid}.tmp`);
    let why = '';
    if (o.encoder !== 'ffmpeg') {
      const chunks: Buffer[] = [];
      await page.exposeFunction('losscapeProgress', (d: number, n: number) => o.onProgress?.(d, n));
      await page.exposeFunction('losscapeWrite', (b64: string) => void chunks.push(Buffer.from(b64, 'base64')));
      const r = (await page.evaluate(`window.losscape.movie(${JSON.stringify(movie)})`)) as
        | { ok: true; bytes: number; codec: string }
        | { ok: false; reason: string };
      if (r.ok) {
        const data = Buffer.concat(chunks);
        if (data.length !== r.bytes) throw new Error(`video transfer from the browser was incomplete (${data.length} of ${r.bytes} bytes)`);
        writeFileSync(tmp, data);
        renameSync(tmp, o.out);
        return { path: o.out, frames, duration, encoder: 'webcodecs', codec: r.codec === 'avc' ? 'h264' : r.codec, bytes: data.length };
      }
      why = r.reason;
      if (o.encoder === 'webcodecs') throw new Error(`WebCodecs encoding failed: ${why}`);
    }
    // Fallback: PNG frames through ffmpeg.
    const codec = o.format === 'webm' ? 'vp9' : 'h264';
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'image2pipe', '-c:v', 'png', '-framerate', String(o.fps), '-i', '-'];
    // RGB → BT.709 4:2:0 with accurate rounding and full-chroma interpolation (fewer colour fringes at edges), tagged as BT.709
    args.push('-sws_flags', 'spline+accurate_rnd+full_chroma_int', '-vf', 'scale=out_color_matrix=bt709:out_range=tv', '-pix_fmt', 'yuv420p');
    args.push('-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709');
    const rate = o.bitrate ?? defaultBitrate(o.width, o.height, o.fps, o.format);
    if (o.format === 'webm') args.push('-c:v', 'libvpx-vp9', '-b:v', String(rate), '-f', 'webm');
    else args.push('-c:v', 'libx264', '-preset', 'medium', '-b:v', String(rate), '-maxrate', String(2 * rate), '-bufsize', String(4 * rate));
    if (o.format === 'mp4') args.push('-movflags', '+faststart', '-f', 'mp4');
    args.push(tmp);
    const ff = spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    ff.stdin.on('error', () => {}); // a dying ffmpeg is reported by 'close'
    ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<void>((res, rej) => {
      ff.on('error', (e) => rej(new Error(`${why ? `WebCodecs failed (${why}) and ` : ''}ffmpeg could not be started: ${e.message}`)));
      ff.on('close', (code) => (code === 0 ? res() : rej(new Error(`ffmpeg failed: ${stderr.trim().split('\n').pop() ?? `exit ${code}`}`))));
    });
    done.catch(() => {}); // awaited below; avoid an unhandled rejection while frames are written
    try {
      for (let i = 0; i < frames; i++) {
        const url = (await page.evaluate(`window.losscape.framePng(${JSON.stringify(movie)}, ${i})`)) as string;
        const png = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
        if (!ff.stdin.write(png)) await new Promise((r) => ff.stdin.once('drain', r));
        o.onProgress?.(i + 1, frames);
      }
      ff.stdin.end();
      await done;
    } catch (e) {
      ff.kill();
      rmSync(tmp, { force: true });
      throw e;
    }
    renameSync(tmp, o.out);
    return { path: o.out, frames, duration, encoder: 'ffmpeg', codec, bytes: statSync(o.out).size };
  } finally {
    await renderPage.close();
  }
}
