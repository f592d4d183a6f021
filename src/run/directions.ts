/** The plane a config's `directions` section describes, at given weights (y uses seed + 1). */

import type { ParamLayout } from '../core/layout.js';
import { type Normalization, type Plane, randomPlane } from '../directions/directions.js';
import type { DirectionSpec } from './config.js';

export function specPlane(theta: Float32Array, layout: ParamLayout, d: DirectionSpec, seed = d.seed): Plane {
  return randomPlane(theta, layout, { seed, norm: d.norm as Normalization, ignore: d.ignore, include: d.include, orthogonal: d.orthogonal });
}

/** Attributes stored with a direction file made from a spec. */
export function specAttrs(d: DirectionSpec, seed = d.seed): Record<string, string | number> {
  return { norm: d.norm, ignore: d.ignore, include: d.include, seed, orthogonal: d.orthogonal ? 1 : 0 };
}

/** The seed of checkpoint `index`'s plane: the same for every checkpoint, or fresh ones. */
export function checkpointSeed(d: DirectionSpec, index: number): number {
  return d.perCheckpoint === 'fresh' ? d.seed + 2 * index : d.seed;
}
