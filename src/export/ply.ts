/**
 * PLY (ASCII or binary little-endian): vertices (x, y, z = height, z up) with
 * vertex colours from a colormap and the raw channels as extra float properties,
 * faces as triangles (or quads); 1-D surfaces as vertices and edges.
 */
import { type ColormapName, colorAt } from '../core/colormap.js';
import { type HeightOptions, heightsOf, quadsToTriangles, type SurfaceFrame, validQuads } from './frames.js';

export interface PlyOptions extends HeightOptions {
  binary?: boolean;
  colormap?: ColormapName;
  quads?: boolean;
  /** Multiply heights by this (default 1). */
  zScale?: number;
}

export function surfaceToPly(f: SurfaceFrame, opts: PlyOptions = {}): Uint8Array {
  const { h, valid, min, max, channel } = heightsOf(f, opts);
  const nx = f.xs.length;
  const ny = f.ys.length;
  const n = nx * ny;
  const zs = opts.zScale ?? 1;
  const channels = Object.keys(f.values);
  const oneD = ny === 1;
  let faces: Uint32Array;
  let per: number;
  if (oneD) {
    const ids: number[] = [];
    for (let k = 0; k + 1 < n; k++) if (valid[k] && valid[k + 1]) ids.push(k, k + 1);
    faces = Uint32Array.from(ids);
    per = 2;
  } else {
    const q = validQuads(f, valid);
    faces = opts.quads ? q : quadsToTriangles(q);
    per = opts.quads ? 4 : 3;
  }
  const nf = faces.length / per;
  const props = ['x', 'y', 'z'];
  const header =
    `ply\nformat ${opts.binary ? 'binary_little_endian' : 'ascii'} 1.0\n` +
    `comment losscape surface ${f.label}: z = ${channel}${opts.clip !== undefined ? ` clipped at ${opts.clip}` : ''}${opts.log ? ', ln(z + 0.1)' : ''}${zs !== 1 ? ` x ${zs}` : ''}\n` +
    `element vertex ${n}\n` +
    props.map((p) => `property float ${p}\n`).join('') +
    `property uchar red\nproperty uchar green\nproperty uchar blue\n` +
    channels.map((c) => `property float ${c}\n`).join('') +
    `property uchar valid\n` +
    (oneD ? `element edge ${nf}\nproperty int vertex1\nproperty int vertex2\n` : `element face ${nf}\nproperty list uchar int vertex_indices\n`) +
    `end_header\n`;
  const colors = new Uint8Array(3 * n);
  for (let k = 0; k < n; k++) colors.set(colorAt(opts.colormap ?? 'viridis', max > min ? (h[k]! - min) / (max - min) : 0.5), 3 * k);
  const vx = (k: number) => f.xs[k % nx]!;
  const vy = (k: number) => f.ys[Math.floor(k / nx)]!;
  if (!opts.binary) {
    const lines: string[] = [];
    for (let k = 0; k < n; k++) {
      const ch = channels.map((c) => (f.done[k] ? Math.fround(f.values[c]![k]!) : Number.NaN));
      lines.push(
        [Math.fround(vx(k)), Math.fround(vy(k)), Math.fround(h[k]! * zs), colors[3 * k], colors[3 * k + 1], colors[3 * k + 2], ...ch, valid[k]].join(' '),
      );
    }
    for (let c = 0; c < nf; c++) {
      const idx = Array.from(faces.subarray(c * per, (c + 1) * per));
      lines.push(oneD ? idx.join(' ') : `${per} ${idx.join(' ')}`);
    }
    return new TextEncoder().encode(`${header + lines.join('\n')}\n`);
  }
  const vbytes = 12 + 3 + 4 * channels.length + 1;
  const fbytes = oneD ? 8 : 1 + 4 * per;
  const hb = new TextEncoder().encode(header);
  const out = new Uint8Array(hb.length + n * vbytes + nf * fbytes);
  out.set(hb);
  const dv = new DataView(out.buffer);
  let o = hb.length;
  for (let k = 0; k < n; k++) {
    dv.setFloat32(o, vx(k), true);
    dv.setFloat32(o + 4, vy(k), true);
    dv.setFloat32(o + 8, h[k]! * zs, true);
    out.set(colors.subarray(3 * k, 3 * k + 3), o + 12);
    o += 15;
    for (const c of channels) {
      dv.setFloat32(o, f.done[k] ? f.values[c]![k]! : Number.NaN, true);
      o += 4;
    }
    out[o++] = valid[k]!;
  }
  for (let c = 0; c < nf; c++) {
    if (!oneD) out[o++] = per;
    for (let k = 0; k < per; k++) {
      dv.setInt32(o, faces[c * per + k]!, true);
      o += 4;
    }
  }
  return out;
}
