import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { COLORMAP_NAMES, type ColormapName, EXPORT_FORMATS, exportSurfaces } from '../../export/index.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface ExportFlags {
  format?: string;
  out?: string;
  log?: boolean;
  clip?: string;
  frame?: string;
  all?: boolean;
  channel?: string;
  colormap?: string;
  zScale?: string;
  triangles?: boolean;
  quads?: boolean;
  binary?: boolean;
  perFrame?: boolean;
  morph?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .summary('export a surface (or every frame of a run) to ParaView .vtp, glTF .glb, PLY, OBJ or CSV')
    .description(
      'Write a loss surface for other tools: VTK PolyData .vtp for ParaView (as the reference code\'s h5_to_vtp; several frames also get a .pvd time series), glTF binary .glb with vertex colours (several frames: one mesh each, played by an animation), PLY with vertex colours, or CSV (x, y, loss, acc, …). --log plots ln(z + 0.1) and --clip Z caps heights at Z first, like the reference. A run folder exports its last frame, --frame K the frame of checkpoint K, --all every frame (per-frame formats write one file each: "{k}" in --out is replaced by the checkpoint, else -ckpt-NNNN is appended).\n' +
        'Examples:\n' +
        '  losscape export runs/demo --format glb --all --log --out demo.glb\n' +
        '  losscape export runs/demo --format glb --all --morph --log --out demo-morph.glb   (one morph target per frame)\n' +
        '  losscape export runs/demo --format obj --all --log --out frames/demo-{k}.obj   (an OBJ sequence)\n' +
        '  losscape export surface.h5 --format vtp --log --clip 10 --out surface.vtp',
    )
    .argument('<input>', 'a run folder or a surface file (.h5)')
    .requiredOption('--format <fmt>', `one of ${EXPORT_FORMATS.join(', ')}`)
    .requiredOption('--out <path>', 'output file')
    .option('--log', 'heights ln(z + 0.1)')
    .option('--clip <z>', 'cap heights at z (before --log)')
    .option('--frame <k>', 'the frame of checkpoint k (run folders; default the last)')
    .option('--all', 'every frame of a run')
    .option('--channel <name>', 'the surface channel giving the height', 'train_loss')
    .option('--colormap <name>', `vertex colours (glb, ply): ${COLORMAP_NAMES.join(', ')}`, 'viridis')
    .option('--z-scale <s>', 'multiply heights by s (glb, ply)', '1')
    .option('--triangles', 'vtp: triangles instead of quads')
    .option('--quads', 'ply: quads instead of triangles')
    .option('--binary', 'ply: binary little-endian instead of ASCII')
    .option('--per-frame', 'glb with --all: one file per frame instead of one animated file')
    .option('--morph', 'glb with --all: one mesh with a morph target per frame, blended by the animation (Blender shape keys)')
    .action(async (input: string, f: ExportFlags, c: Command) => {
      const ctx = contextOf(c);
      const format = choiceFlag(f.format, '--format', EXPORT_FORMATS)!;
      if (!existsSync(input)) throw new LosscapeError('usage', `${input}: no such run folder or surface file`);
      if (f.all && f.frame !== undefined) throw new LosscapeError('usage', 'give --frame K or --all, not both');
      const clip = numberFlag(f.clip, '--clip');
      if (clip !== undefined && !(clip > 0)) throw new LosscapeError('usage', `--clip must be positive, got ${f.clip}`);
      const zScale = numberFlag(f.zScale, '--z-scale');
      if (zScale !== undefined && !(zScale > 0)) throw new LosscapeError('usage', `--z-scale must be positive, got ${f.zScale}`);
      const files = await exportSurfaces(input, {
        format,
        out: f.out!,
        log: Boolean(f.log),
        clip,
        frame: numberFlag(f.frame, '--frame', { integer: true, min: 0 }),
        all: Boolean(f.all),
        channel: f.channel,
        colormap: choiceFlag(f.colormap, '--colormap', COLORMAP_NAMES) as ColormapName,
        zScale,
        triangles: Boolean(f.triangles),
        quads: Boolean(f.quads),
        binary: Boolean(f.binary),
        perFrame: Boolean(f.perFrame),
        morph: Boolean(f.morph),
      });
      for (const p of files) ctx.out(`${format}: ${p}`);
    });
}
