/**
 * Parameter layout: how a flat parameter vector θ splits into named tensors.
 *
 * Every piece of core math (directions, surfaces, Lanczos, PCA, pruning) works on
 * flat Float32Array/Float64Array vectors plus this layout and never needs to know
 * which engine or model produced the loss.
 */

/** What a tensor is for. Running statistics are state, not learnable parameters. */
export type ParamRole = 'weight' | 'bias' | 'bn_scale' | 'bn_shift' | 'running_mean' | 'running_var';

export interface ParamSpec {
  name: string;
  shape: number[];
  role: ParamRole;
}

export interface ParamEntry extends ParamSpec {
  /** Offset of the tensor's first element in the flat vector. */
  offset: number;
  /** Number of elements (product of shape). */
  size: number;
}

export interface ParamLayout {
  entries: ParamEntry[];
  /** Total number of elements. */
  size: number;
}

export type Vec = Float32Array | Float64Array;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function makeLayout(specs: readonly ParamSpec[]): ParamLayout {
  const seen = new Set<string>();
  let offset = 0;
  const entries = specs.map((s) => {
    if (seen.has(s.name)) throw new Error(`duplicate parameter name "${s.name}"`);
    seen.add(s.name);
    const size = numel(s.shape);
    const e: ParamEntry = { name: s.name, shape: [...s.shape], role: s.role, offset, size };
    offset += size;
    return e;
  });
  return { entries, size: offset };
}

/** Learnable parameters (everything but running statistics). */
export function isLearnable(role: ParamRole): boolean {
  return role !== 'running_mean' && role !== 'running_var';
}

/** Running statistics of batch norm (perturbed only with `directions.include = "states"`). */
export function isState(role: ParamRole): boolean {
  return !isLearnable(role);
}

/** A view of one tensor inside a flat vector (no copy). */
export function view<T extends Vec>(theta: T, e: ParamEntry): T {
  return theta.subarray(e.offset, e.offset + e.size) as T;
}

/** Split a flat vector into per-tensor views. */
export function split<T extends Vec>(theta: T, layout: ParamLayout): T[] {
  return layout.entries.map((e) => view(theta, e));
}

/** Concatenate per-tensor arrays into one flat Float32Array. */
export function concat(parts: readonly ArrayLike<number>[], layout: ParamLayout): Float32Array {
  const out = new Float32Array(layout.size);
  layout.entries.forEach((e, i) => {
    const p = parts[i]!;
    if (p.length !== e.size) {
      throw new Error(`tensor "${e.name}": expected ${e.size} values, got ${p.length}`);
    }
    out.set(p, e.offset);
  });
  return out;
}

/** Two layouts describe the same tensors (names, shapes, roles, order). */
export function sameLayout(a: ParamLayout, b: ParamLayout): boolean {
  if (a.size !== b.size || a.entries.length !== b.entries.length) return false;
  return a.entries.every((e, i) => {
    const f = b.entries[i]!;
    return e.name === f.name && e.role === f.role && e.shape.join(',') === f.shape.join(',');
  });
}

export function layoutToJSON(layout: ParamLayout): ParamSpec[] {
  return layout.entries.map(({ name, shape, role }) => ({ name, shape, role }));
}
