/**
 * Direction files in the reference code's layout: groups `xdirection/` and
 * `ydirection/`, datasets "0"…"k-1" (one per parameter tensor, layout order,
 * float32, the tensor's own shape).
 */

import { LosscapeError } from '../core/errors.js';
import { isLearnable, type ParamEntry, type ParamLayout } from '../core/layout.js';
import { asFloat32, type H5Tree, readH5, writeH5 } from '../io/h5.js';

export interface DirectionFile {
  dx: Float32Array;
  /** Absent in files of 1-D directions. */
  dy?: Float32Array;
  attrs: Record<string, unknown>;
  /** The tensor names the file's datasets 0…k−1 were read as (the order it was recognised in). */
  names: string[];
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
 * The orders a direction file may list a model's tensors in: losscape's own (every layout
 * entry, layout order), the reference code's `dir_type=weights` (one tensor per
 * `net.parameters()` entry: the learnable tensors, layout order, which for torch exports is
 * state_dict order) and its `dir_type=states` (one per `state_dict()` entry: also the running
 * statistics and each batch norm's `num_batches_tracked`, a scalar no model file holds, read and
 * dropped). Running statistics get no direction in the `weights` order.
 */
export type DirectionOrder = 'layout' | 'parameters' | 'state_dict';

export interface DirectionSlot {
  name: string;
  shape: number[];
  /** The layout entry the tensor goes to; null for tensors the model does not have (num_batches_tracked). */
  entry: ParamEntry | null;
}

export function directionOrders(layout: ParamLayout): Record<DirectionOrder, DirectionSlot[]> {
  const slot = (e: ParamEntry): DirectionSlot => ({ name: e.name, shape: e.shape, entry: e });
  const states = layout.entries.flatMap((e) =>
    e.role === 'running_var' && e.name.endsWith('.running_var')
      ? [slot(e), { name: `${e.name.slice(0, -'running_var'.length)}num_batches_tracked`, shape: [], entry: null }]
      : [slot(e)],
  );
  return {
    layout: layout.entries.map(slot),
    parameters: layout.entries.filter((e) => isLearnable(e.role)).map(slot),
    state_dict: states,
  };
}

const listed = (slots: DirectionSlot[]) => slots.map((s) => `${s.name} [${s.shape}]`).join(', ');

/** The order of a file with `n` tensors (tensors named by a `name` attribute are placed by name). */
function orderOf(path: string, group: string, n: number, names: (string | null)[], layout: ParamLayout): DirectionSlot[] {
  const orders = directionOrders(layout);
  if (names.every((x) => x !== null)) {
    const byName = new Map(layout.entries.map((e) => [e.name, e]));
    if (names.every((x) => byName.has(x!))) return names.map((x) => ({ name: x!, shape: byName.get(x!)!.shape, entry: byName.get(x!)! }));
  }
  for (const o of ['layout', 'parameters', 'state_dict'] as const) if (orders[o].length === n) return orders[o];
  const p = orders.parameters;
  throw new LosscapeError(
    'input',
    `${path}: expected one tensor per parameter in net.parameters() order (${listed(p)}) or per state_dict() entry (${orders.state_dict.length} with the buffers); ${group} has ${n} tensors but the model has ${p.length} parameter tensors`,
  );
}

/**
 * Read a direction file against a layout: in losscape's order, or the reference code's
 * `net.parameters()` or `state_dict()` order (see DirectionOrder), told apart by the number of
 * tensors; tensors with a `name` attribute (losscape's files) go to the parameter of that name.
 * Every tensor's size must match (one clear line otherwise, naming the tensor).
 */
export async function readDirectionFile(path: string, layout: ParamLayout): Promise<DirectionFile> {
  const h = await readH5(path);
  const read = (group: string): { d: Float32Array; order: DirectionSlot[] } | undefined => {
    const n = h.children(group).length;
    if (n === 0) return undefined;
    const datasets = Array.from({ length: n }, (_, k) => {
      const d = h.get(`${group}/${k}`);
      if (!d) throw new LosscapeError('input', `${path}: ${group}/${k} is missing`);
      return d;
    });
    const order = orderOf(
      path,
      group,
      n,
      datasets.map((d) => (typeof d.attrs.name === 'string' ? d.attrs.name : null)),
      layout,
    );
    const out = new Float32Array(layout.size);
    order.forEach((s, k) => {
      const v = asFloat32(datasets[k]!.value, `${path}: ${group}/${k}`);
      const size = s.shape.reduce((a, b) => a * b, 1);
      if (v.length !== size) {
        throw new LosscapeError(
          'input',
          `${path}: ${group}/${k} has ${v.length} values but ${s.entry ? 'parameter' : 'tensor'} "${s.name}" [${s.shape}] has ${size}`,
        );
      }
      if (s.entry) out.set(v, s.entry.offset);
    });
    return { d: out, order };
  };
  const x = read('xdirection');
  if (!x) throw new LosscapeError('input', `${path}: no xdirection group; not a direction file`);
  const y = read('ydirection');
  return { dx: x.d, dy: y?.d, attrs: h.attrs, names: x.order.map((s) => s.name) };
}
