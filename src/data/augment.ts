/**
 * Training-time augmentation of image batches [nb, C, H, W] in place, seeded per step: random
 * crop with zero padding (pad by `crop` pixels, take an H×W window at a random offset — the
 * usual CIFAR recipe with crop 4) and horizontal flip with probability ½, each sample drawing
 * its offsets and flip from (seed, 'augment', step).
 */
import { z } from 'zod';
import { Rng } from '../core/rng.js';

export const AugmentSpec = z
  .object({
    /** Zero padding before the random H×W crop (0 = no crop). */
    crop: z.number().int().min(0).default(0),
    /** Mirror left–right with probability ½. */
    flip: z.boolean().default(false),
  })
  .strict();
export type AugmentSpec = z.infer<typeof AugmentSpec>;

/** Shift one [H, W] plane by (dy, dx) with zero fill, optionally mirrored, from `src` into `dst`. */
function shiftPlane(src: Float32Array, dst: Float32Array, h: number, w: number, dy: number, dx: number, flip: boolean): void {
  for (let r = 0; r < h; r++) {
    const sr = r + dy;
    for (let q = 0; q < w; q++) {
      const sq = (flip ? w - 1 - q : q) + dx;
      dst[r * w + q] = sr >= 0 && sr < h && sq >= 0 && sq < w ? src[sr * w + sq]! : 0;
    }
  }
}

/** Augment `nb` samples of shape [C, H, W] stored in `x` for optimizer step `step`. */
export function augmentBatch(x: Float32Array, nb: number, shape: readonly number[], spec: AugmentSpec, seed: number, step: number): void {
  if (spec.crop === 0 && !spec.flip) return;
  if (shape.length !== 3) throw new Error(`augmentation needs image samples [C, H, W]; got [${shape}]`);
  const [c, h, w] = shape as [number, number, number];
  const rng = new Rng(seed, 'augment', step);
  const plane = new Float32Array(h * w);
  for (let i = 0; i < nb; i++) {
    const dy = spec.crop ? Math.floor(rng.uniform() * (2 * spec.crop + 1)) - spec.crop : 0;
    const dx = spec.crop ? Math.floor(rng.uniform() * (2 * spec.crop + 1)) - spec.crop : 0;
    const flip = spec.flip && rng.uniform() < 0.5;
    for (let k = 0; k < c; k++) {
      const o = (i * c + k) * h * w;
      const view = x.subarray(o, o + h * w);
      plane.set(view);
      shiftPlane(plane, view, h, w, dy, dx, flip);
    }
  }
}
