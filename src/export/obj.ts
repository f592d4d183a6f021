/**
 * Wavefront OBJ of one surface (for sequences: one file per frame): vertices (x, height, −y) as
 * in the glTF export, vertex normals, and the triangles of the valid cells (1-based indices).
 */
import { heightsOf, quadsToTriangles, type SurfaceFrame, validQuads } from './frames.js';
import { surfaceVertices } from './glb.js';

export function surfaceToObj(f: SurfaceFrame, opts: { zScale?: number; log?: boolean; clip?: number; channel?: string } = {}): string {
  if (f.ys.length < 2) throw new Error(`${f.label}: OBJ export needs a 2-D surface`);
  const hs = heightsOf(f, opts);
  const { pos, nrm } = surfaceVertices(f, hs.h, { zScale: opts.zScale ?? 1, colormap: 'viridis', lo: hs.min, hi: hs.max });
  const lines = [`# losscape ${f.label}: x → X, ${hs.channel}${opts.log ? ' (ln(z + 0.1))' : ''} → Y (up), y → −Z`, `o ${f.label}`];
  for (let k = 0; k < pos.length; k += 3) lines.push(`v ${pos[k]} ${pos[k + 1]} ${pos[k + 2]}`);
  for (let k = 0; k < nrm.length; k += 3) lines.push(`vn ${nrm[k]} ${nrm[k + 1]} ${nrm[k + 2]}`);
  const t = quadsToTriangles(validQuads(f, hs.valid));
  for (let k = 0; k < t.length; k += 3) {
    const [a, b, c] = [t[k]! + 1, t[k + 1]! + 1, t[k + 2]! + 1];
    lines.push(`f ${a}//${a} ${b}//${b} ${c}//${c}`);
  }
  return `${lines.join('\n')}\n`;
}
