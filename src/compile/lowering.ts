/**
 * Shared state and helpers for lowering one jaxpr to an ONNX graph.
 *
 * Every jaxpr variable maps to a `Val`:
 * - `zero`: a symbolic zero (all-zero tangent consts, `x * 0`, …); nothing is emitted for it
 *   until something needs a real tensor, then it becomes a scalar 0 broadcast by ONNX.
 * - `tensor`: an ONNX tensor whose actual shape `ashape` is *broadcastable* to the variable's
 *   logical shape (right-aligned, numpy rules). jax-js `broadcast` only inserts size-1 dims
 *   and leaves the expansion to the consumer; elementwise ops broadcast natively in ONNX, so
 *   large broadcast tensors are only materialized (Expand) where an op really needs them.
 * The tensor's element type always equals the variable's dtype (literals: the literal's).
 */

import { type ElemType, GraphBuilder } from './graph-builder.js';

/** Structural views of jax-js's jaxpr classes (Var, Lit, JaxprEqn), which it does not export. */
export interface Aval {
  readonly shape: number[];
  readonly dtype: string;
  readonly weakType?: boolean;
}
export interface Var {
  readonly id: number;
  readonly aval: Aval;
}
export interface Lit {
  readonly value: number;
  readonly aval: Aval;
}
export type Atom = Var | Lit;
export interface Eqn {
  readonly primitive: string;
  readonly inputs: Atom[];
  readonly params: Record<string, any>;
  readonly outBinders: Var[];
}

export type Val = { kind: 'zero' } | { kind: 'tensor'; name: string; ashape: number[]; lit?: number };

/** A concrete ONNX tensor reference with its actual shape. */
export interface TensorRef {
  name: string;
  ashape: number[];
}

export const ZERO: Val = { kind: 'zero' };

/**
 * How one jax-js primitive becomes ONNX: the Vals of the equation's outputs, in order. Each rule
 * family (rules/*.ts) exports a table of them by primitive name; rules.ts merges the tables.
 */
export type LoweringRule = (L: Lowering, eqn: Eqn) => Val[];

export function tensorVal(name: string, ashape: number[]): Val {
  return { kind: 'tensor', name, ashape };
}

export function asVal(t: TensorRef): Val {
  return { kind: 'tensor', name: t.name, ashape: t.ashape };
}

/** The one-line error for an equation no rule can lower (`why`: the detail, if any). */
export function unsupported(eqn: Eqn, why = ''): Error {
  return new Error(`jaxprToOnnx: unsupported primitive ${eqn.primitive} ${paramsString(eqn.params)}${why ? ` (${why})` : ''}`);
}

/** One term sign·Πcoefs·t of a linear combination (plane weights: t = X·W, X·D1, …). */
export interface ComboPart {
  t: TensorRef;
  sign: number;
  coefs: TensorRef[];
  /** Identity of the coefficient product (see rules/dot.ts rootKey); null when unknown. */
  roots?: string | null;
}

/** A tensor computed as Σ_j parts_j by one stacked MatMul (rules/dot.ts stackedCombination). */
export interface Combo {
  parts: ComboPart[];
  outShape: number[];
  dtype: ElemType;
  /** Output dims along which the coefficients vary (the grid axis). */
  G: boolean[];
}

export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

export function arraysEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function isLit(a: Atom): a is Lit {
  return 'value' in a && !('id' in a);
}

export function dtypeOf(a: Atom): ElemType {
  return a.aval.dtype as ElemType;
}

export function shapeOf(a: Atom): number[] {
  return a.aval.shape;
}

/** numpy broadcast of shapes (right-aligned). */
export function broadcastShapes(...shapes: number[][]): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - r + i;
      const v = k >= 0 ? s[k] : 1;
      if (v !== 1) {
        if (d !== 1 && d !== v) throw new Error(`jaxprToOnnx: cannot broadcast shapes ${JSON.stringify(shapes)}`);
        d = v;
      }
    }
    out.push(d);
  }
  return out;
}

/** True if permuting `shape` by `perm` keeps all non-unit dims in order (so a Reshape suffices). */
function transposeIsReshape(shape: readonly number[], perm: readonly number[]): boolean {
  let last = -1;
  for (const p of perm) {
    if (shape[p] === 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

/** Stringify params for error messages on one line (nested jaxprs abbreviated). */
export function paramsString(params: Record<string, unknown>): string {
  try {
    return JSON.stringify(params, (_k, v) =>
      v && typeof v === 'object' && 'eqns' in v && 'inBinders' in v ? '<jaxpr>' : typeof v === 'bigint' ? String(v) : v,
    );
  } catch {
    return String(params);
  }
}

export interface LoweringOptions {
  /**
   * Distribute dots / vmapped convs over sums of unbatched terms (plane weights
   * w + a_k d1 + b_k d2) when the cost model says it is cheaper. Default true. Changes the
   * order of floating-point operations (results agree to rounding).
   */
  distribute: boolean;
  /** Names of the graph inputs that change per call (the rest is hoisted); empty: no hoisting. */
  vary?: string[];
  /** See `GraphBuilder.nchwcBlock` (0 or absent: plain ONNX). */
  nchwcBlock?: number;
  /** See `JaxprToOnnxOptions.weightGradGemm`. */
  weightGradGemm?: boolean | number;
}

export class Lowering {
  readonly b = new GraphBuilder();
  constructor(readonly options: LoweringOptions = { distribute: true }) {
    this.b.nchwcBlock = options.nchwcBlock ?? 0;
  }
  readonly vals = new Map<Var, Val>();
  readonly producers = new Map<Var, Eqn>();
  /** How many times each variable is used (eqn inputs and graph outputs). */
  readonly uses = new Map<Var, number>();
  /** Bias-free Conv nodes by output name (a following per-channel add becomes the Conv's bias). */
  readonly convNodes = new Map<string, { x: string; w: string; attrs: Record<string, number | number[]>; outShape: number[] }>();
  /**
   * Vmapped convs by result name ([V…, N, O, …]), with a way to rebuild them with a per-point
   * bias [V·O] inside the Conv(s) (a following per-point bias add becomes the Conv's bias).
   */
  readonly vmappedConvs = new Map<string, { vShape: number[]; O: number; withBias: (biasFlat: string) => TensorRef | null }>();
  /** Inputs of the Concat nodes emitted for `concatenate` (to flatten chains). */
  readonly concatSource = new Map<string, { inputs: string[]; axis: number }>();
  /** Results of stacked linear combinations, by output name (a following add can join them). */
  readonly combos = new Map<string, Combo>();
  /** Variables that depend on the varying inputs (only filled when hoisting). */
  readonly varying = new Set<Var>();
  get hoisting(): boolean {
    return (this.options.vary?.length ?? 0) > 0;
  }

  /** True when hoisting and `a` does not depend on the varying inputs (computed once per prefix run). */
  invariant(a: Atom): boolean {
    return this.hoisting && (isLit(a) || !this.varying.has(a as Var));
  }

  valOf(a: Atom): Val {
    if (isLit(a)) {
      const value = Number(a.value);
      if (value === 0) return ZERO;
      return { kind: 'tensor', name: this.b.scalar(dtypeOf(a), value), ashape: [], lit: value };
    }
    const v = this.vals.get(a as Var);
    if (!v) throw new Error(`jaxprToOnnx: internal error, variable used before definition`);
    return v;
  }

  /**
   * A (lazily broadcast) tensor for `val`, converted from element type `from` to `to`.
   * Zeros and literals become scalar constants of `to`.
   */
  tensor(val: Val, from: ElemType, to: ElemType = from): TensorRef {
    if (val.kind === 'zero') return { name: this.b.scalar(to, 0), ashape: [] };
    if (val.lit !== undefined) return { name: this.b.scalar(to, val.lit), ashape: [] };
    if (from === to) return { name: val.name, ashape: val.ashape };
    return { name: this.b.op('Cast', [val.name], val.ashape, to, { to: castCode(to) }), ashape: val.ashape };
  }

  tensorOfAtom(a: Atom, to: ElemType = dtypeOf(a)): TensorRef {
    return this.tensor(this.valOf(a), dtypeOf(a), to);
  }

  /** Reshape (collapsing chains of reshapes onto the first source). */
  reshape(name: string, shape: number[], dtype: ElemType): string {
    const src = this.#reshapeSource.get(name) ?? name;
    const cur = this.b.shapes.get(src);
    if (cur && arraysEqual(cur, shape)) return src;
    const out = this.b.op('Reshape', [src, this.b.int64s(shape)], shape, dtype);
    this.#reshapeSource.set(out, src);
    return out;
  }
  #reshapeSource = new Map<string, string>();

  /** Insert leading unit dims so the tensor has exactly `rank` dims. */
  aligned(t: TensorRef, rank: number, dtype: ElemType): TensorRef {
    if (t.ashape.length === rank) return t;
    if (t.ashape.length > rank) throw new Error(`jaxprToOnnx: internal error, rank ${t.ashape.length} > ${rank}`);
    const ashape = [...Array(rank - t.ashape.length).fill(1), ...t.ashape];
    return { name: this.reshape(t.name, ashape, dtype), ashape };
  }

  /**
   * Materialize `t` at exactly `shape`: Reshape when only unit dims differ, nearest-neighbour
   * Resize for interleaved broadcasts (pooling windows), else Expand.
   */
  full(t: TensorRef, shape: number[], dtype: ElemType): string {
    if (arraysEqual(t.ashape, shape)) return t.name;
    if (prod(t.ashape) === prod(shape)) return this.reshape(t.name, shape, dtype);
    return this.upsample(t, shape, dtype) ?? this.b.op('Expand', [t.name, this.b.int64s(shape)], shape, dtype);
  }

  /**
   * onnxruntime broadcasts with a per-span loop, which is slow when the innermost broadcast span
   * is a few elements (e.g. [N,C,H,1,W,1] against [N,C,H,2,W,2] in max-pool gradients). Such
   * operands are materialized with a 4-D nearest Resize (3-5x faster than Expand or a broadcasting
   * op). Returns null when the pattern does not fit (or is not worth it).
   */
  upsample(t: TensorRef, shape: number[], dtype: ElemType): string | null {
    if (prod(shape) < 16384 || dtype === 'bool') return null;
    const a = t.ashape.length === shape.length ? t.ashape : [...Array(shape.length - t.ashape.length).fill(1), ...t.ashape];
    // Merge dims into alternating groups of real (R) and broadcast (B) dims; size-1 dims drop out.
    const groups: { kind: 'R' | 'B'; size: number }[] = [];
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] === 1) continue;
      const kind = a[i] === shape[i] ? 'R' : a[i] === 1 ? 'B' : null;
      if (!kind) return null;
      const last = groups[groups.length - 1];
      if (last && last.kind === kind) last.size *= shape[i];
      else groups.push({ kind, size: shape[i] });
    }
    const pattern = groups.map((g) => g.kind).join('');
    let inShape: number[];
    let outShape: number[];
    if (pattern === 'RB' && groups[1].size <= 8) {
      inShape = [1, 1, groups[0].size, 1];
      outShape = [1, 1, groups[0].size, groups[1].size];
    } else if (pattern === 'RBRB' && groups[3].size <= 16) {
      inShape = [1, 1, groups[0].size, groups[2].size];
      outShape = [1, 1, groups[0].size * groups[1].size, groups[2].size * groups[3].size];
    } else {
      return null;
    }
    const x = this.reshape(t.name, inShape, dtype);
    const up = this.b.op('Resize', [x, '', '', this.b.int64s(outShape)], outShape, dtype, {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'floor',
    });
    return this.reshape(up, shape, dtype);
  }

  /**
   * Inputs of an elementwise op with output shape `out`: operands whose broadcast onnxruntime
   * would handle slowly are materialized first (see `upsample`).
   */
  elementwiseInputs(ts: TensorRef[], out: number[], dtype: ElemType[]): TensorRef[] {
    return ts.map((t, i) => {
      if (t.ashape.length === 0 || arraysEqual(t.ashape, out)) return t;
      const up = this.upsample(t, out, dtype[i]);
      return up ? { name: up, ashape: out } : t;
    });
  }

  /** Full tensor for an atom at its logical shape, in element type `to`. */
  fullOfAtom(a: Atom, to: ElemType = dtypeOf(a)): string {
    return this.full(this.tensorOfAtom(a, to), shapeOf(a), to);
  }

  /** Transpose (composing with a Transpose that produced `t`; a Reshape when only unit dims move). */
  transpose(t: TensorRef, perm: number[], dtype: ElemType): TensorRef {
    const ashape = perm.map((p) => t.ashape[p]);
    if (perm.every((p, i) => p === i)) return t;
    const prev = this.#transposeSource.get(t.name);
    if (prev && prev.perm.length === perm.length) {
      const composed = perm.map((p) => prev.perm[p]);
      return this.transpose(prev.src, composed, dtype);
    }
    if (transposeIsReshape(t.ashape, perm)) return { name: this.reshape(t.name, ashape, dtype), ashape };
    const name = this.b.op('Transpose', [t.name], ashape, dtype, { perm });
    this.#transposeSource.set(name, { src: t, perm });
    return { name, ashape };
  }
  #transposeSource = new Map<string, { src: TensorRef; perm: number[] }>();

  /** Slice along `axes` (all steps 1 unless given). */
  slice(t: TensorRef, axes: number[], starts: number[], ends: number[], dtype: ElemType, steps?: number[]): TensorRef {
    const ashape = [...t.ashape];
    const keep: number[] = [];
    axes.forEach((ax, i) => {
      const step = steps?.[i] ?? 1;
      const n = t.ashape[ax];
      if (step === 1 && starts[i] === 0 && ends[i] === n) return;
      keep.push(i);
      if (step > 0) ashape[ax] = Math.max(0, Math.ceil((Math.min(ends[i], n) - starts[i]) / step));
      else ashape[ax] = n; // only full reversals are used
    });
    if (keep.length === 0) return t;
    const inputs = [t.name, this.b.int64s(keep.map((i) => starts[i])), this.b.int64s(keep.map((i) => ends[i])), this.b.int64s(keep.map((i) => axes[i]))];
    if (steps) inputs.push(this.b.int64s(keep.map((i) => steps[i])));
    return { name: this.b.op('Slice', inputs, ashape, dtype), ashape };
  }

  /** Constant zero-padding with non-negative `lo`/`hi` per dim. */
  pad(t: TensorRef, lo: number[], hi: number[], dtype: ElemType): TensorRef {
    if (lo.every((x) => x === 0) && hi.every((x) => x === 0)) return t;
    const ashape = t.ashape.map((d, i) => d + lo[i] + hi[i]);
    const name = this.b.op('Pad', [t.name, this.b.int64s([...lo, ...hi])], ashape, dtype, { mode: 'constant' });
    return { name, ashape };
  }

  /** Zero insertion: dims with factor s > 1 become (n-1)*s+1 long with s-1 zeros between elements. */
  dilate(t: TensorRef, factors: number[], dtype: ElemType): TensorRef {
    if (factors.every((f) => f === 1)) return t;
    const inter: number[] = [];
    const padHi: number[] = [];
    const merged: number[] = [];
    t.ashape.forEach((d, i) => {
      inter.push(d, 1);
      padHi.push(0, factors[i] - 1);
      merged.push(d * factors[i]);
    });
    let r: TensorRef = { name: this.reshape(t.name, inter, dtype), ashape: inter };
    r = this.pad(
      r,
      inter.map(() => 0),
      padHi,
      dtype,
    );
    r = { name: this.reshape(r.name, merged, dtype), ashape: merged };
    const axes = t.ashape.map((_, i) => i).filter((i) => factors[i] > 1);
    return this.slice(
      r,
      axes,
      axes.map(() => 0),
      axes.map((i) => (t.ashape[i] - 1) * factors[i] + 1),
      dtype,
    );
  }
}

const CAST_CODES: Record<ElemType, number> = {
  float32: 1,
  uint32: 12,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export function castCode(t: ElemType): number {
  return CAST_CODES[t];
}
