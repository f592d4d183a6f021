import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { renderSnapshot } from '../../viewer/server/snapshot.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';
import { SCALE_MODES } from './video.js';

interface SnapshotFlags {
  frame?: string;
  out: string;
  width: string;
  height: string;
  log: boolean;
  scale: string;
  axes: boolean;
  colormap: string;
  layer: string;
  plane: string;
  azimuth: string;
}

export function register(program: Command): void {
  program
    .command('snapshot')
    .summary('render one frame of the landscape as a PNG')
    .description(
      'Render one checkpoint exactly as `losscape video` draws it (3-D surface with axes, colour bar, training curves) and save it as PNG. Fractional frames show the interpolation between two checkpoints.\n' +
        'Examples:\n' +
        '  losscape snapshot runs/demo --out docs/demo.png       (the last checkpoint)\n' +
        '  losscape snapshot runs/demo --frame 0 --width 1920 --height 1080\n' +
        '  losscape snapshot runs/demo --plane pca --out trajectory.png',
    )
    .argument('<run>', 'run folder')
    .option('--frame <k>', 'frame index, 0-based (default: the last)')
    .option('--out <file.png>', 'output file', 'frame.png')
    .option('--width <px>', 'image width', '1280')
    .option('--height <px>', 'image height', '720')
    .option('--log', 'log-scale loss heights', true)
    .option('--no-log', 'linear loss heights')
    .option('--scale <mode>', "height and colour range: global (the whole run's), frame (this frame's) or track (its checkpoints')", 'global')
    .option('--no-axes', 'no axes on the 3-D view')
    .option('--colormap <name>', 'viridis, magma, inferno, plasma, cividis or gray', 'viridis')
    .option('--layer <layer>', 'surface colour: loss, accuracy or hessian', 'loss')
    .option('--plane <plane>', "frames (the checkpoints' landscapes) or pca (trajectory plane)", 'frames')
    .option('--azimuth <deg>', 'turn the camera about the vertical axis', '0')
    .action(async (run: string, f: SnapshotFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (!/\.png$/i.test(f.out)) throw new LosscapeError('usage', `--out ${f.out}: the snapshot must end in .png`);
      choiceFlag(f.colormap, '--colormap', ['viridis', 'magma', 'inferno', 'plasma', 'cividis', 'gray'] as const);
      const r = await renderSnapshot({
        run,
        out: f.out,
        width: numberFlag(f.width, '--width', { integer: true, min: 16 })!,
        height: numberFlag(f.height, '--height', { integer: true, min: 16 })!,
        frame: numberFlag(f.frame, '--frame', { min: 0 }),
        log: f.log,
        scale: choiceFlag(f.scale, '--scale', SCALE_MODES)!,
        axes: f.axes,
        colormap: f.colormap,
        layer: choiceFlag(f.layer, '--layer', ['loss', 'accuracy', 'hessian'] as const)!,
        plane: choiceFlag(f.plane, '--plane', ['frames', 'pca'] as const)!,
        azimuth: numberFlag(f.azimuth, '--azimuth')!,
      });
      ctx.out(`snapshot: ${r.path} (frame ${r.frame} of 0…${r.frames - 1})`);
    });
}
