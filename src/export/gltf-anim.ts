/**
 * One animated glTF 2.0 binary for artists: a single mesh (the first frame) with one morph
 * target per frame (POSITION and NORMAL displacements from the first frame; target 0 is zero),
 * and an animation of the mesh weights that blends linearly from frame to frame (weights
 * e_k at time k·frameSeconds). Plays in Blender (shape keys) and three.js (morphTargetInfluences).
 * Every frame must be on the same grid; triangles are the cells valid in every frame. Colours
 * are the first frame's (glTF morph targets do not blend vertex colours everywhere).
 */
import type { ColormapName } from '../core/colormap.js';
import { heightsOf, quadsToTriangles, type SurfaceFrame, validQuads } from './frames.js';
import { ARRAY_BUFFER, BinBuilder, ELEMENT_ARRAY_BUFFER, emptyGltf, type GlbOptions, glbContainer, surfaceVertices } from './glb.js';

/** The animated glTF (see the module comment). */
export function surfacesToMorphGlb(frames: SurfaceFrame[], opts: GlbOptions = {}): Uint8Array {
  if (frames.length === 0) throw new Error('no frames to export');
  checkSameGrid(frames);
  if (frames[0]!.ys.length < 2) throw new Error('the animated glTF needs 2-D surfaces');
  const zs = opts.zScale ?? 1;
  const cmap: ColormapName = opts.colormap ?? 'viridis';
  const hs = frames.map((f) => heightsOf(f, opts));
  const lo = Math.min(...hs.map((h) => h.min));
  const hi = Math.max(...hs.map((h) => h.max));
  const verts = frames.map((f, k) => surfaceVertices(f, hs[k]!.h, { zScale: zs, colormap: cmap, lo, hi }));
  const validAll = Uint8Array.from(hs[0]!.valid, (_, i) => (hs.every((h) => h.valid[i]) ? 1 : 0));
  const json = emptyGltf([0]);
  const bin = new BinBuilder(json);
  const base = verts[0]!;
  const attributes = {
    POSITION: bin.accessor(base.pos, 'VEC3', ARRAY_BUFFER),
    NORMAL: bin.accessor(base.nrm, 'VEC3', ARRAY_BUFFER),
    COLOR_0: bin.accessor(base.col, 'VEC3', ARRAY_BUFFER),
  };
  const targets = verts.map((v) => ({
    POSITION: bin.accessor(difference(v.pos, base.pos), 'VEC3', ARRAY_BUFFER),
    NORMAL: bin.accessor(difference(v.nrm, base.nrm), 'VEC3', ARRAY_BUFFER, false),
  }));
  const indices = bin.accessor(quadsToTriangles(validQuads(frames[0]!, validAll)), 'SCALAR', ELEMENT_ARRAY_BUFFER);
  const K = frames.length;
  json.meshes.push({
    name: 'landscape',
    primitives: [{ attributes, targets, indices, mode: 4, material: 0 }],
    weights: new Array<number>(K).fill(0),
    extras: { targetNames: frames.map((f) => f.label) },
  });
  json.nodes.push({
    name: 'landscape',
    mesh: 0,
    extras: {
      channel: hs[0]!.channel,
      log: Boolean(opts.log),
      zScale: zs,
      checkpoints: frames.map((f) => f.checkpoint ?? null),
      steps: frames.map((f) => f.step ?? null),
      axes: 'x → X, loss height → Y (up), y → −Z',
    },
  });
  if (K > 1) json.animations = [weightsAnimation(bin, K, opts.frameSeconds ?? 0.5)];
  const data = bin.bytes();
  json.buffers.push({ byteLength: data.length });
  return glbContainer(json, data);
}

/** Keyframe k at k·dt has weight 1 on target k and 0 elsewhere, blended linearly. */
function weightsAnimation(bin: BinBuilder, K: number, dt: number): Record<string, unknown> {
  const times = bin.accessor(
    Float32Array.from({ length: K }, (_, k) => k * dt),
    'SCALAR',
    null,
  );
  const w = new Float32Array(K * K);
  for (let k = 0; k < K; k++) w[k * K + k] = 1;
  const output = bin.accessor(w, 'SCALAR', null, false);
  return {
    name: 'checkpoints',
    samplers: [{ input: times, output, interpolation: 'LINEAR' }],
    channels: [{ sampler: 0, target: { node: 0, path: 'weights' } }],
  };
}

function difference(a: Float32Array, b: Float32Array): Float32Array {
  return Float32Array.from(a, (x, i) => x - b[i]!);
}

function checkSameGrid(frames: SurfaceFrame[]): void {
  const g = frames[0]!;
  for (const f of frames) {
    const same = f.xs.length === g.xs.length && f.ys.length === g.ys.length && f.xs.every((x, i) => x === g.xs[i]) && f.ys.every((y, i) => y === g.ys[i]);
    if (!same) throw new Error(`${f.label}: the animated glTF needs every frame on the same grid as ${g.label}`);
  }
}
