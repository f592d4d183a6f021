/**
 * glTF 2.0 binary (.glb) written directly (JSON chunk + BIN chunk): one mesh per
 * frame with POSITION (x, height, −y: glTF is y-up), NORMAL, COLOR_0 (a
 * colormap of the height, linear RGB, one colour range over all frames) and the
 * raw channels as custom attributes (_TRAIN_LOSS, _TRAIN_ACC, …, _VALID).
 * Several frames: one node each, played in turn by a STEP animation of the nodes'
 * scale (frame 0 visible in viewers that do not animate).
 */
import { type ColormapName, colorAt, srgbToLinear } from '../core/colormap.js';
import { type HeightOptions, heightsOf, quadsToTriangles, type SurfaceFrame, validQuads } from './frames.js';

export interface GlbOptions extends HeightOptions {
  colormap?: ColormapName;
  /** Multiply heights by this (default 1). */
  zScale?: number;
  /** Seconds per frame of the animation (default 0.5). */
  frameSeconds?: number;
}

export const FLOAT = 5126;
const UINT = 5125;
export const ARRAY_BUFFER = 34962;
export const ELEMENT_ARRAY_BUFFER = 34963;

export interface GltfJson {
  asset: { version: string; generator: string };
  scene: number;
  scenes: { name: string; nodes: number[] }[];
  nodes: Record<string, unknown>[];
  meshes: Record<string, unknown>[];
  materials: Record<string, unknown>[];
  accessors: Record<string, unknown>[];
  bufferViews: Record<string, unknown>[];
  buffers: { byteLength: number }[];
  animations?: Record<string, unknown>[];
}

/** Pack the GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded). */
export function glbContainer(json: unknown, bin: Uint8Array): Uint8Array {
  const raw = new TextEncoder().encode(JSON.stringify(json));
  const jlen = Math.ceil(raw.length / 4) * 4;
  const blen = Math.ceil(bin.length / 4) * 4;
  const total = 12 + 8 + jlen + (bin.length ? 8 + blen : 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true); // "glTF"
  dv.setUint32(4, 2, true);
  dv.setUint32(8, total, true);
  dv.setUint32(12, jlen, true);
  dv.setUint32(16, 0x4e4f534a, true); // "JSON"
  out.fill(0x20, 20, 20 + jlen);
  out.set(raw, 20);
  if (bin.length) {
    const o = 20 + jlen;
    dv.setUint32(o, blen, true);
    dv.setUint32(o + 4, 0x004e4942, true); // "BIN\0"
    out.set(bin, o + 8);
  }
  return out;
}

/** Typed arrays appended to the BIN chunk, each as a bufferView + accessor of `json`. */
export class BinBuilder {
  parts: Uint8Array[] = [];
  length = 0;
  constructor(private readonly json: GltfJson) {}
  /** Add a typed array as a bufferView + accessor; returns the accessor index. */
  accessor(data: Float32Array | Uint32Array, type: 'SCALAR' | 'VEC3', target: number | null, minmax = true): number {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const view: Record<string, unknown> = { buffer: 0, byteOffset: this.length, byteLength: bytes.length };
    if (target) view.target = target;
    this.parts.push(bytes);
    this.length += bytes.length; // 4-byte elements keep alignment
    this.json.bufferViews.push(view);
    const comps = type === 'VEC3' ? 3 : 1;
    const acc: Record<string, unknown> = {
      bufferView: this.json.bufferViews.length - 1,
      componentType: data instanceof Float32Array ? FLOAT : UINT,
      count: data.length / comps,
      type,
    };
    if (minmax && data.length) {
      const min = new Array<number>(comps).fill(Infinity);
      const max = new Array<number>(comps).fill(-Infinity);
      for (let i = 0; i < data.length; i++) {
        const c = i % comps;
        min[c] = Math.min(min[c]!, data[i]!);
        max[c] = Math.max(max[c]!, data[i]!);
      }
      acc.min = min;
      acc.max = max;
    }
    this.json.accessors.push(acc);
    return this.json.accessors.length - 1;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** A glTF document with one scene (its root nodes given), the surface material and nothing else yet. */
export function emptyGltf(sceneNodes: number[]): GltfJson {
  return {
    asset: { version: '2.0', generator: 'losscape' },
    scene: 0,
    scenes: [{ name: 'loss landscape', nodes: sceneNodes }],
    nodes: [],
    meshes: [],
    materials: [{ name: 'surface', pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 1], metallicFactor: 0, roughnessFactor: 0.85 }, doubleSided: true }],
    accessors: [],
    bufferViews: [],
    buffers: [],
  };
}

/** Vertices of a surface grid: positions (x, height, −y), unit normals and linear-RGB colours of the height. */
export function surfaceVertices(
  f: SurfaceFrame,
  h: Float64Array | Float32Array,
  o: { zScale: number; colormap: ColormapName; lo: number; hi: number },
): { pos: Float32Array; nrm: Float32Array; col: Float32Array } {
  const { zScale: zs, colormap: cmap, lo, hi } = o;
  const nx = f.xs.length;
  const ny = f.ys.length;
  const n = nx * ny;
  const pos = new Float32Array(3 * n);
  const nrm = new Float32Array(3 * n);
  const col = new Float32Array(3 * n);
  const at = (i: number, j: number) => h[i * nx + j]! * zs;
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const k = i * nx + j;
      pos[3 * k] = f.xs[j]!;
      pos[3 * k + 1] = at(i, j);
      pos[3 * k + 2] = -f.ys[i]!;
      // normal of (x, h, −y): (−∂h/∂x, 1, ∂h/∂y), central differences inside, one-sided at the edges
      const j0 = Math.max(0, j - 1);
      const j1 = Math.min(nx - 1, j + 1);
      const i0 = Math.max(0, i - 1);
      const i1 = Math.min(ny - 1, i + 1);
      const hx = j1 > j0 ? (at(i, j1) - at(i, j0)) / (f.xs[j1]! - f.xs[j0]!) : 0;
      const hy = i1 > i0 ? (at(i1, j) - at(i0, j)) / (f.ys[i1]! - f.ys[i0]!) : 0;
      const len = Math.hypot(hx, 1, hy);
      nrm[3 * k] = -hx / len;
      nrm[3 * k + 1] = 1 / len;
      nrm[3 * k + 2] = hy / len;
      const rgb = colorAt(cmap, hi > lo ? (h[k]! - lo) / (hi - lo) : 0.5);
      for (let c = 0; c < 3; c++) col[3 * k + c] = srgbToLinear(rgb[c]!);
    }
  }
  return { pos, nrm, col };
}

export function surfacesToGlb(frames: SurfaceFrame[], opts: GlbOptions = {}): Uint8Array {
  if (frames.length === 0) throw new Error('no frames to export');
  const zs = opts.zScale ?? 1;
  const cmap = opts.colormap ?? 'viridis';
  const hs = frames.map((f) => heightsOf(f, opts));
  const lo = Math.min(...hs.map((h) => h.min));
  const hi = Math.max(...hs.map((h) => h.max));
  const json = emptyGltf([]);
  const bin = new BinBuilder(json);
  frames.forEach((f, fi) => {
    const { h, valid, channel } = hs[fi]!;
    const nx = f.xs.length;
    const ny = f.ys.length;
    const n = nx * ny;
    const { pos, nrm, col } = surfaceVertices(f, h, { zScale: zs, colormap: cmap, lo, hi });
    const attributes: Record<string, number> = {
      POSITION: bin.accessor(pos, 'VEC3', ARRAY_BUFFER),
      NORMAL: bin.accessor(nrm, 'VEC3', ARRAY_BUFFER),
      COLOR_0: bin.accessor(col, 'VEC3', ARRAY_BUFFER),
    };
    for (const [name, v] of Object.entries(f.values)) {
      attributes[`_${name.toUpperCase()}`] = bin.accessor(
        Float32Array.from(v, (x, k) => (f.done[k] && Number.isFinite(x) ? x : 0)),
        'SCALAR',
        ARRAY_BUFFER,
      );
    }
    attributes._VALID = bin.accessor(Float32Array.from(valid), 'SCALAR', ARRAY_BUFFER);
    let indices: Uint32Array;
    let mode: number;
    if (ny === 1) {
      const ids: number[] = [];
      for (let k = 0; k + 1 < n; k++) if (valid[k] && valid[k + 1]) ids.push(k, k + 1);
      indices = Uint32Array.from(ids);
      mode = 1; // LINES
    } else {
      indices = quadsToTriangles(validQuads(f, valid));
      mode = 4; // TRIANGLES
    }
    json.meshes.push({
      name: f.label,
      primitives: [{ attributes, indices: bin.accessor(indices, 'SCALAR', ELEMENT_ARRAY_BUFFER), mode, material: 0 }],
    });
    const node: Record<string, unknown> = {
      name: f.label,
      mesh: fi,
      extras: {
        channel,
        log: Boolean(opts.log),
        clip: opts.clip ?? null,
        zScale: zs,
        checkpoint: f.checkpoint ?? null,
        step: f.step ?? null,
        epoch: f.epoch ?? null,
        axes: 'x → X, loss height → Y (up), y → −Z',
      },
    };
    if (frames.length > 1 && fi > 0) node.scale = [0, 0, 0];
    json.nodes.push(node);
    json.scenes[0]!.nodes.push(fi);
  });
  if (frames.length > 1) {
    const dt = opts.frameSeconds ?? 0.5;
    const K = frames.length;
    const times = bin.accessor(
      Float32Array.from({ length: K }, (_, k) => k * dt),
      'SCALAR',
      null,
    );
    const samplers: Record<string, unknown>[] = [];
    const channels: Record<string, unknown>[] = [];
    for (let fi = 0; fi < K; fi++) {
      const s = new Float32Array(3 * K);
      s.fill(1, 3 * fi, 3 * fi + 3);
      samplers.push({ input: times, output: bin.accessor(s, 'VEC3', null, false), interpolation: 'STEP' });
      channels.push({ sampler: fi, target: { node: fi, path: 'scale' } });
    }
    json.animations = [{ name: 'checkpoints', samplers, channels }];
  }
  const data = bin.bytes();
  json.buffers.push({ byteLength: data.length });
  return glbContainer(json, data);
}

/** Parse a GLB container back into its JSON and BIN chunks (validates the header and chunk layout). */
export function parseGlb(bytes: Uint8Array): { json: Record<string, unknown>; bin: Uint8Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 20 || dv.getUint32(0, true) !== 0x46546c67) throw new Error('not a GLB file (bad magic)');
  if (dv.getUint32(4, true) !== 2) throw new Error(`GLB version ${dv.getUint32(4, true)}, expected 2`);
  if (dv.getUint32(8, true) !== bytes.length) throw new Error(`GLB length field ${dv.getUint32(8, true)} != file size ${bytes.length}`);
  const jlen = dv.getUint32(12, true);
  if (dv.getUint32(16, true) !== 0x4e4f534a || jlen % 4 !== 0) throw new Error('first GLB chunk is not a 4-byte aligned JSON chunk');
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jlen))) as Record<string, unknown>;
  let bin: Uint8Array = new Uint8Array(0);
  const o = 20 + jlen;
  if (o < bytes.length) {
    const blen = dv.getUint32(o, true);
    if (dv.getUint32(o + 4, true) !== 0x004e4942 || blen % 4 !== 0) throw new Error('second GLB chunk is not a 4-byte aligned BIN chunk');
    if (o + 8 + blen !== bytes.length) throw new Error('BIN chunk does not end at the end of the file');
    bin = bytes.subarray(o + 8, o + 8 + blen);
  }
  return { json, bin };
}
