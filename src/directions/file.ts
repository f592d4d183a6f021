/**
 * Direction files in the reference code's layout: groups `xdirection/` and
 * `ydirection/`, datasets "0"…"k-1" (one per parameter tensor, layout order,
 * float32, the tensor's own shape).
 */

import { LosscapeError } from '../core/errors.js';
import type { ParamLayout } from '../core/layout.js';
import { asFloat32, type H5Tree, readH5, writeH5 } from '../io/h5.js';

export interface DirectionFile {
  dx: Float32Array;
  /** Absent in files of 1-D directions. */
  dy?: Float32Array;
  attrs: Record<string, unknown>;
}

export async function writeDirectionFile(
  path: string,
  layout: ParamLayout,
  dx: Float32Array,
  dy: Float32Array | undefined,
  attrs: Record<string, string | number> = {},
  extra: H5Tree = {},
): Promise<void> {
  const tree: H5Tree = { ...extra };
  const add = (group: string, d: Float32Array) =>
    layout.entries.forEach((e, k) => {
      tree[`${group}/${k}`] = { data: d.slice(e.offset, e.offset + e.size), shape: e.shape, attrs: { name: e.name } };
    });
  add('xdirection', dx);
  if (dy) add('ydirection', dy);
  await writeH5(path, tree, attrs);
}

/**
 * Read a direction file against a layout; the number of tensors and every
 * tensor's size must match (one clear line otherwise).
 */
export async function readDirectionFile(path: string, layout: ParamLayout): Promise<DirectionFile> {
  const h = await readH5(path);
  const read = (group: string): Float32Array | undefined => {
    const names = h.children(group);
    if (names.length === 0) return undefined;
    if (names.length !== layout.entries.length) {
      throw new LosscapeError('input', `${path}: ${group} has ${names.length} tensors but the model has ${layout.entries.length} parameter tensors`);
    }
    const out = new Float32Array(layout.size);
    layout.entries.forEach((e, k) => {
      const d = h.get(`${group}/${k}`);
      if (!d) throw new LosscapeError('input', `${path}: ${group}/${k} is missing`);
      const v = asFloat32(d.value, `${path}: ${group}/${k}`);
      if (v.length !== e.size) {
        throw new LosscapeError('input', `${path}: ${group}/${k} has ${v.length} values but parameter "${e.name}" [${e.shape}] has ${e.size}`);
      }
      out.set(v, e.offset);
    });
    return out;
  };
  const dx = read('xdirection');
  if (!dx) throw new LosscapeError('input', `${path}: no xdirection group; not a direction file`);
  return { dx, dy: read('ydirection'), attrs: h.attrs };
}
