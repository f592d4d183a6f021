/**
 * `losscape frames RUN --out DIR`: the movie as a PNG sequence (up to 4K, optionally transparent,
 * camera keyframes from a YAML/JSON file), for compositing and 3-D tools.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LosscapeError } from '../../core/errors.js';
import { renderFrameSequence } from '../../viewer/server/frame-sequence.js';
import type { CameraKey } from '../../viewer/shared/camera-path.js';
import { contextOf } from '../context.js';
import { numberFlag } from '../flags.js';

const CameraPath = z
  .object({
    camera: z
      .array(
        z
          .object({
            t: z.number().min(0),
            azimuth: z.number().default(0),
            elevation: z.number().min(-89).max(89).default(30),
            distance: z.number().positive().default(4),
            target: z.tuple([z.number(), z.number(), z.number()]).optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

/** Keyframes from a camera-path file (`camera: [{ t, azimuth, elevation, distance, target? }, …]`). */
export function loadCameraPath(path: string): CameraKey[] {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new LosscapeError('config', `${path}: cannot read the camera path (${(e as Error).message.split('\n')[0]})`);
  }
  const r = CameraPath.safeParse(raw);
  if (!r.success) throw new LosscapeError('config', r.error.issues.map((i) => `${path}: ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n'));
  return r.data.camera;
}

interface FramesFlags {
  out: string;
  width: string;
  height: string;
  fps: string;
  duration?: string;
  secondsPerFrame?: string;
  transparent?: boolean;
  camera?: string;
  log: boolean;
  colormap: string;
}

export function register(program: Command): void {
  program
    .command('frames')
    .summary('the landscape movie as a PNG sequence (4K, transparent background, camera keyframes)')
    .description(
      'Render the movie of `losscape video` as frame-00000.png, frame-00001.png, … in a folder. --transparent draws only the surface on a transparent background (for compositing). --camera FILE moves the camera along keyframes (YAML or JSON: camera: [{ t, azimuth, elevation, distance, target }], t in checkpoints, angles in degrees, linear in between); without it the camera orbits slowly.\n' +
        'Example: losscape frames runs/demo --out frames --width 3840 --height 2160 --transparent --camera cam.yaml',
    )
    .argument('<run>', 'run folder')
    .requiredOption('--out <dir>', 'output folder')
    .option('--width <px>', 'frame width (up to 4096)', '1280')
    .option('--height <px>', 'frame height (up to 4096)', '720')
    .option('--fps <n>', 'frames per second', '30')
    .option('--duration <s>', 'total length in seconds')
    .option('--seconds-per-frame <s>', 'seconds from one checkpoint to the next (default 1.5)')
    .option('--transparent', 'only the surface, on a transparent background')
    .option('--camera <file>', 'camera keyframes (YAML or JSON)')
    .option('--log', 'log-scale loss heights', true)
    .option('--no-log', 'linear loss heights')
    .option('--colormap <name>', 'viridis, magma, inferno, plasma, cividis or gray', 'viridis')
    .action(async (run: string, f: FramesFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      let task: ReturnType<typeof ctx.progress.task> | undefined;
      const files = await renderFrameSequence({
        run,
        outDir: f.out,
        width: numberFlag(f.width, '--width', { integer: true, min: 16 })!,
        height: numberFlag(f.height, '--height', { integer: true, min: 16 })!,
        fps: numberFlag(f.fps, '--fps')!,
        duration: numberFlag(f.duration, '--duration'),
        secondsPerFrame: numberFlag(f.secondsPerFrame, '--seconds-per-frame'),
        transparent: Boolean(f.transparent),
        camera: f.camera ? loadCameraPath(f.camera) : undefined,
        log: f.log,
        colormap: f.colormap,
        onStart: (n) => (task = ctx.progress.task('frames', n, 'frames')),
        onProgress: (d) => task?.update(d),
      });
      task?.end();
      ctx.out(`frames: ${files.length} PNG files in ${f.out}`);
    });
}
