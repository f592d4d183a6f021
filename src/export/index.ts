/**
 * Export surfaces (one surface file, or frames of a run folder) to VTK PolyData
 * (.vtp, + a .pvd time series for several frames), glTF binary (.glb, one file
 * with one mesh per frame, one mesh with a morph target per frame, or one file per frame), PLY,
 * OBJ or CSV.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { ColormapName } from '../core/colormap.js';
import { surfacesToCsv } from './csv.js';
import { type FrameSelection, type HeightOptions, readSurfaceFrames, type SurfaceFrame } from './frames.js';
import { surfacesToGlb } from './glb.js';
import { surfacesToMorphGlb } from './gltf-anim.js';
import { surfaceToObj } from './obj.js';
import { surfaceToPly } from './ply.js';
import { framesToPvd, surfaceToVtp } from './vtp.js';

export { COLORMAP_NAMES, type ColormapName } from '../core/colormap.js';
export { surfacesToCsv } from './csv.js';
export { heightsOf, readSurfaceFrames, type SurfaceFrame } from './frames.js';
export { glbContainer, parseGlb, surfacesToGlb } from './glb.js';
export { surfacesToMorphGlb } from './gltf-anim.js';
export { surfaceToObj } from './obj.js';
export { surfaceToPly } from './ply.js';
export { framesToPvd, surfaceToVtp } from './vtp.js';

export const EXPORT_FORMATS = ['vtp', 'glb', 'ply', 'obj', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions extends HeightOptions, FrameSelection {
  format: ExportFormat;
  /** Output file; with several frames of a per-frame format, "{k}" is replaced by the checkpoint index, else "-ckpt-NNNN" is added before the extension. */
  out: string;
  colormap?: ColormapName;
  zScale?: number;
  /** VTP: triangles instead of quads. PLY: quads instead of triangles. */
  triangles?: boolean;
  quads?: boolean;
  /** PLY: binary little-endian (default ASCII). */
  binary?: boolean;
  /** GLB with several frames: one file per frame instead of one animated file. */
  perFrame?: boolean;
  /** GLB with several frames: one mesh with a morph target per frame (gltf-anim.ts) instead of one mesh per frame. */
  morph?: boolean;
}

function frameOut(out: string, f: SurfaceFrame, many: boolean): string {
  if (!many) return out.replace(/\{k\}/g, String(f.checkpoint ?? 0));
  if (out.includes('{k}')) return out.replace(/\{k\}/g, String(f.checkpoint ?? 0));
  const ext = extname(out);
  return join(dirname(out), `${basename(out, ext)}-${f.label}${ext}`);
}

/** Run an export; returns the files written. */
export async function exportSurfaces(input: string, opts: ExportOptions): Promise<string[]> {
  const frames = await readSurfaceFrames(input, opts);
  mkdirSync(dirname(opts.out) || '.', { recursive: true });
  const many = frames.length > 1;
  const written: string[] = [];
  const write = (p: string, data: string | Uint8Array) => {
    writeFileSync(p, data);
    written.push(p);
  };
  switch (opts.format) {
    case 'csv':
      write(opts.out, surfacesToCsv(frames));
      break;
    case 'glb':
      if (many && opts.perFrame) for (const f of frames) write(frameOut(opts.out, f, true), surfacesToGlb([f], opts));
      else if (opts.morph) write(opts.out, surfacesToMorphGlb(frames, opts));
      else write(opts.out, surfacesToGlb(frames, opts));
      break;
    case 'obj':
      for (const f of frames) write(frameOut(opts.out, f, many), surfaceToObj(f, opts));
      break;
    case 'ply':
      for (const f of frames) write(frameOut(opts.out, f, many), surfaceToPly(f, { ...opts, quads: opts.quads }));
      break;
    case 'vtp': {
      const files: { file: string; timestep: number }[] = [];
      for (const f of frames) {
        const p = frameOut(opts.out, f, many);
        write(p, surfaceToVtp(f, opts));
        files.push({ file: basename(p), timestep: f.checkpoint ?? 0 });
      }
      if (many) {
        const ext = extname(opts.out);
        write(join(dirname(opts.out), `${basename(opts.out, ext).replace(/[-_]?\{k\}/g, '')}.pvd`), framesToPvd(files));
      }
      break;
    }
  }
  return written;
}
