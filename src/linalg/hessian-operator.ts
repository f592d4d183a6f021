/**
 * The Hessian at θ of a loss given by its HVP function, as a SymOperator restricted to a
 * selection of parameter tensors.
 *
 * The operator acts on the REDUCED vector of the selected coordinates: a
 * reduced v is scattered into a full-length vector (zeros at the excluded
 * coordinates), multiplied by H(θ) through the HVP function, and the selected
 * coordinates of the product are gathered back. That is exactly the principal
 * submatrix H_SS (the excluded tensors held fixed at θ), so excluded
 * coordinates add no zero eigenvalues to the spectrum.
 *
 * Selections:
 *   'all'    every learnable tensor (weights, biases, BN scale/shift; BN running
 *            statistics are state, not parameters, as in torch's net.parameters()),
 *   'ndim>1' only learnable tensors with more than one dimension (the reference
 *            code's choice: biases and BN parameters held fixed).
 *
 * The loss is whatever the HVP function differentiates (an engine: the MEAN over its data).
 */
import { isLearnable, type ParamEntry, type ParamLayout, type Vec } from '../core/layout.js';
import type { SymOperator } from './operator.js';

export type ParamSelection = 'all' | 'ndim>1';
export const PARAM_SELECTIONS: readonly ParamSelection[] = ['all', 'ndim>1'];

/** Selected coordinates as contiguous segments of the flat vector (one per tensor). */
export interface Selection {
  params: ParamSelection;
  /** Names of the selected tensors, in layout order. */
  tensors: string[];
  /** [offset, size] of each selected tensor in the flat vector. */
  segments: [number, number][];
  /** Number of selected coordinates (the operator's dimension). */
  dim: number;
  /** Length of the full vector. */
  full: number;
  /**
   * When coordinates known to have identically zero Hessian rows were left out: the selected
   * coordinates (ascending; segments then list the tensors only) …
   */
  index?: Int32Array;
  /** … and how many were left out: each is an exact zero eigenvalue of the selected block. */
  nullDropped: number;
}

export function selects(e: ParamEntry, params: ParamSelection): boolean {
  if (!isLearnable(e.role)) return false;
  return params === 'all' ? true : e.shape.length > 1;
}

/**
 * The coordinates of `params`; without those of `nullCoordinates` (coordinates whose Hessian
 * rows are identically zero, e.g. the weights of input features that are zero in every
 * sample) when given: the operator then acts on the rest, and the left-out coordinates are
 * exact zero eigenvalues (`nullDropped`).
 */
export function selectParams(layout: ParamLayout, params: ParamSelection = 'all', nullCoordinates?: Int32Array): Selection {
  if (!PARAM_SELECTIONS.includes(params)) throw new Error(`params must be one of ${PARAM_SELECTIONS.join(', ')}; got "${params}"`);
  const picked = layout.entries.filter((e) => selects(e, params) && e.size > 0);
  if (picked.length === 0) throw new Error(`no parameter tensor matches params "${params}"`);
  const sel: Selection = {
    params,
    tensors: picked.map((e) => e.name),
    segments: picked.map((e) => [e.offset, e.size]),
    dim: picked.reduce((a, e) => a + e.size, 0),
    full: layout.size,
    nullDropped: 0,
  };
  if (!nullCoordinates || nullCoordinates.length === 0) return sel;
  const memo = selections.get(nullCoordinates)?.get(`${params}:${layout.size}`);
  if (memo) return memo;
  // leave out the selected coordinates whose Hessian rows are known to be zero
  const isNull = new Uint8Array(layout.size);
  for (const c of nullCoordinates) isNull[c] = 1;
  const index: number[] = [];
  for (const [o, n] of sel.segments) for (let i = o; i < o + n; i++) if (!isNull[i]) index.push(i);
  if (index.length === sel.dim) return sel;
  if (index.length === 0) throw new Error(`every coordinate of params "${params}" has a zero Hessian row for this data`);
  const out = { ...sel, index: Int32Array.from(index), nullDropped: sel.dim - index.length, dim: index.length };
  if (!selections.has(nullCoordinates)) selections.set(nullCoordinates, new Map());
  selections.get(nullCoordinates)!.set(`${params}:${layout.size}`, out);
  return out;
}

/** Selections with null coordinates, by the (engine-owned, unchanging) null coordinate array. */
const selections = new WeakMap<Int32Array, Map<string, Selection>>();

/** Reduced → full vector (zeros outside the selection). */
export function scatter(sel: Selection, reduced: Float64Array | Float32Array, out = new Float64Array(sel.full)): Float64Array {
  if (sel.index) {
    const ix = sel.index;
    for (let i = 0; i < ix.length; i++) out[ix[i]!] = reduced[i]!;
    return out;
  }
  let k = 0;
  for (const [o, n] of sel.segments) {
    out.set(reduced.subarray(k, k + n), o);
    k += n;
  }
  return out;
}

/** Full → reduced vector (the selected coordinates). */
export function gather(sel: Selection, full: ArrayLike<number> & { subarray?: unknown }, out = new Float64Array(sel.dim)): Float64Array {
  if (sel.index) {
    const ix = sel.index;
    for (let i = 0; i < ix.length; i++) out[i] = full[ix[i]!]!;
    return out;
  }
  let k = 0;
  for (const [o, n] of sel.segments) {
    for (let i = 0; i < n; i++) out[k + i] = full[o + i]!;
    k += n;
  }
  return out;
}

export interface HessianOperator extends SymOperator {
  selection: Selection;
  /** HVPs so far. */
  readonly hvps: number;
  /** Milliseconds spent inside the HVPs so far. */
  readonly hvpMs: number;
}

/**
 * H(θ) restricted to `params`, from an HVP function of the full vectors and the layout. θ is
 * used as given (a Float64Array keeps float64 weights for float64 HVPs). Coordinates in
 * `nullCoordinates` have identically zero Hessian rows and are left out (selectParams).
 */
export function hessianOperatorOf(
  hvp: (theta: Vec, v: Float64Array) => Promise<Float64Array>,
  layout: ParamLayout,
  theta: Vec,
  params: ParamSelection = 'all',
  nullCoordinates?: Int32Array,
  /** H(θ)·v with v and the product on `coordinates` only: used when they are the selection's. */
  direct?: { coordinates: Int32Array | null; hvp(v: Float64Array, out?: Float64Array): Promise<Float64Array> },
): HessianOperator {
  if (theta.length !== layout.size) {
    throw new Error(`θ has ${theta.length} values but the model has ${layout.size} parameters`);
  }
  const selection = selectParams(layout, params, nullCoordinates);
  const identity = selection.dim === selection.full;
  const full = new Float64Array(selection.full);
  // where the selected coordinates sit among direct's: all of them in order (fast: vectors pass
  // as they are), or some (e.g. ndim>1 within the live coordinates: through a buffer whose other
  // entries stay zero)
  const size = direct ? (direct.coordinates?.length ?? selection.full) : 0;
  const fast = direct && (direct.coordinates === null ? identity : sameCoordinates(direct.coordinates, selection.index)) ? direct : null;
  const within = direct && !fast ? positionsWithin(selection, direct.coordinates) : null;
  const inner = within ? new Float64Array(size) : null;
  let hvps = 0;
  let hvpMs = 0;
  return {
    dim: selection.dim,
    selection,
    // hvp, direct.hvp and gather all return new arrays; HVP functions take float32 vectors
    fresh: true,
    acceptsFloat32: true,
    get hvps() {
      return hvps;
    },
    get hvpMs() {
      return hvpMs;
    },
    async matvec(v: Float64Array, out?: Float64Array): Promise<Float64Array> {
      if (v.length !== selection.dim) throw new Error(`vector has length ${v.length}, expected ${selection.dim}`);
      const t0 = performance.now();
      if (fast) {
        const y = await fast.hvp(v, out);
        hvpMs += performance.now() - t0;
        hvps++;
        return y;
      }
      if (within && inner) {
        for (let i = 0; i < within.length; i++) inner[within[i]!] = v[i]!;
        const y = await direct!.hvp(inner);
        const r = out && out.length === within.length ? out : new Float64Array(within.length);
        for (let i = 0; i < within.length; i++) r[i] = y[within[i]!]!;
        hvpMs += performance.now() - t0;
        hvps++;
        return r;
      }
      const hv = await hvp(theta, identity ? v : scatter(selection, v, full));
      hvpMs += performance.now() - t0;
      hvps++;
      return identity ? hv : gather(selection, hv);
    },
  };
}

function sameCoordinates(a: Int32Array, b: Int32Array | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** positionsWithin per (selection, coordinates): selections are memoized per engine, so per map. */
const positions = new WeakMap<Selection, { coordinates: Int32Array | null; pos: Int32Array | null }>();

/** Where each selected coordinate sits in `coordinates` (null: all, in order); null if one is missing. */
function positionsWithin(sel: Selection, coordinates: Int32Array | null): Int32Array | null {
  const hit = positions.get(sel);
  if (hit && hit.coordinates === coordinates) return hit.pos;
  const pos = computePositions(sel, coordinates);
  positions.set(sel, { coordinates, pos });
  return pos;
}

function computePositions(sel: Selection, coordinates: Int32Array | null): Int32Array | null {
  let selected = sel.index;
  if (!selected) {
    selected = new Int32Array(sel.dim);
    let k = 0;
    for (const [o, n] of sel.segments) for (let i = 0; i < n; i++) selected[k++] = o + i;
  }
  if (!coordinates) return selected;
  const at = new Int32Array(sel.full).fill(-1);
  coordinates.forEach((c, i) => (at[c] = i));
  const pos = new Int32Array(selected.length);
  for (let i = 0; i < selected.length; i++) {
    pos[i] = at[selected[i]!]!;
    if (pos[i]! < 0) return null;
  }
  return pos;
}
