import { join } from 'node:path';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { renderVideo } from '../../viewer/server/video.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface VideoFlags {
  out?: string;
  width: string;
  height: string;
  fps: string;
  duration?: string;
  secondsPerFrame?: string;
  camera: string;
  log: boolean;
  scale: string;
  axes: boolean;
  format?: string;
  colormap: string;
  layer: string;
  encoder: string;
  bitrate?: string;
}

export const SCALE_MODES = ['global', 'frame', 'track'] as const;

export function register(program: Command): void {
  program
    .command('video')
    .summary('render the landscape moving through training as an MP4 (or WebM)')
    .description(
      "Render the run's checkpoints as a movie with the viewer's own renderer in headless Chromium, interpolating smoothly between checkpoints, and encode it in the browser (WebCodecs: H.264 MP4 or VP9 WebM; ffmpeg if WebCodecs fails). The movie has round(fps × duration) frames, from the first checkpoint to the last, and is written into the run folder unless --out says otherwise. Needs Chromium (set LOSSCAPE_CHROMIUM if it is not in /usr/bin).\n" +
        'Examples:\n' +
        '  losscape video runs/demo\n' +
        '  losscape video runs/demo --out demo.webm --width 1920 --height 1080 --seconds-per-frame 2 --camera fixed',
    )
    .argument('<run>', 'run folder')
    .option('--out <file>', 'output file (default <run>/movie.mp4, or <run>/movie.webm with --format webm)')
    .option('--width <px>', 'frame width (even)', '1280')
    .option('--height <px>', 'frame height (even)', '720')
    .option('--fps <n>', 'frames per second', '30')
    .option('--duration <s>', 'total length in seconds')
    .option('--seconds-per-frame <s>', 'seconds from one checkpoint to the next (default 1.5)')
    .option('--camera <mode>', 'orbit (slow turn) or fixed', 'orbit')
    .option('--log', 'log-scale loss heights', true)
    .option('--no-log', 'linear loss heights')
    .option('--format <fmt>', 'mp4 (H.264) or webm (VP9); default from --out, else mp4')
    .option(
      '--scale <mode>',
      "height and colour range: track (each checkpoint's own range, moving smoothly in between), frame (each video frame's) or global (one for the whole run, which shows the landscape sinking but leaves early frames nearly flat)",
      'track',
    )
    .option('--no-axes', 'no axes on the 3-D view')
    .option('--colormap <name>', 'viridis, magma, inferno, plasma, cividis or gray', 'viridis')
    .option('--layer <layer>', 'surface colour: loss, accuracy or hessian', 'loss')
    .option('--encoder <name>', 'auto, webcodecs or ffmpeg', 'auto')
    .option('--bitrate <Mbit/s>', 'target bitrate (default 0.2 bits per pixel and frame at 30 fps or more: 5.5 at 1280×720; 0.6 of that for WebM)')
    .action(async (run: string, f: VideoFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const fromOut = f.out && /\.webm$/i.test(f.out) ? 'webm' : f.out && /\.mp4$/i.test(f.out) ? 'mp4' : undefined;
      const format = choiceFlag(f.format, '--format', ['mp4', 'webm'] as const) ?? fromOut ?? 'mp4';
      if (f.out && fromOut && fromOut !== format) throw new LosscapeError('usage', `--out ${f.out} does not match --format ${format}`);
      const out = f.out ?? join(run, `movie.${format}`);
      const camera = choiceFlag(f.camera, '--camera', ['orbit', 'fixed'] as const)!;
      const layer = choiceFlag(f.layer, '--layer', ['loss', 'accuracy', 'hessian'] as const)!;
      const encoder = choiceFlag(f.encoder, '--encoder', ['auto', 'webcodecs', 'ffmpeg'] as const)!;
      choiceFlag(f.colormap, '--colormap', ['viridis', 'magma', 'inferno', 'plasma', 'cividis', 'gray'] as const);
      let task: ReturnType<typeof ctx.progress.task> | null = null;
      try {
        const r = await renderVideo({
          run,
          out,
          width: numberFlag(f.width, '--width', { integer: true, min: 16 })!,
          height: numberFlag(f.height, '--height', { integer: true, min: 16 })!,
          fps: numberFlag(f.fps, '--fps', { min: 1 })!,
          duration: numberFlag(f.duration, '--duration'),
          secondsPerFrame: numberFlag(f.secondsPerFrame, '--seconds-per-frame'),
          camera,
          log: f.log,
          scale: choiceFlag(f.scale, '--scale', SCALE_MODES)!,
          axes: f.axes,
          format,
          colormap: f.colormap,
          layer,
          encoder,
          bitrate: f.bitrate === undefined ? undefined : numberFlag(f.bitrate, '--bitrate', { min: 0.05 })! * 1e6,
          onStart: (n) => (task = ctx.progress.task('video', n, 'frames')),
          onProgress: (d) => task?.update(d),
        });
        ctx.progress.log(`${r.frames} frames, ${r.duration.toFixed(2)} s, ${r.codec} via ${r.encoder}`);
        ctx.out(`video: ${r.path}`);
      } finally {
        (task as { end(): void } | null)?.end();
      }
    });
}
