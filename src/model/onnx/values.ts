/**
 * Values flowing through the ONNX interpreter: jax-js Arrays (data-dependent,
 * traced under grad/jvp/jit) or `Static` tensors known while tracing (shapes,
 * integer constants, small float constants), computed in plain JS so that shape
 * arithmetic (Shape → Gather → Concat → Reshape, as torch exports `x.view(x.size(0), -1)`)
 * never touches a tracer.
 */
import { numpy as np } from '@jax-js/jax';

type Arr = np.Array;

export type StaticKind = 'float' | 'int' | 'bool';

export class Static {
  constructor(
    readonly data: Float64Array,
    readonly shape: number[],
    readonly kind: StaticKind,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`internal: static tensor of shape [${shape}] with ${data.length} values`);
  }
  static ints(values: ArrayLike<number>, shape: number[] = [values.length]): Static {
    return new Static(Float64Array.from(values), shape, 'int');
  }
  static scalar(v: number, kind: StaticKind): Static {
    return new Static(new Float64Array([v]), [], kind);
  }
  get size(): number {
    return this.data.length;
  }
}

export type Val = Static | Arr;

export function isStatic(v: Val | undefined): v is Static {
  return v instanceof Static;
}

export function shapeOf(v: Val): number[] {
  return isStatic(v) ? v.shape : (v.shape as number[]);
}

/** A float dtype for floats of the computation (float32 unless the data is float64). */
export type FloatDType = 'float32' | 'float64';

/** An owned jax-js Array from a borrowed value (statics are materialized; floats in `dtype`). */
export function own(v: Val, dtype: FloatDType = 'float32'): Arr {
  if (!isStatic(v)) return v.ref;
  if (v.kind === 'float') {
    const hi = Float32Array.from(v.data);
    if (dtype === 'float32') return np.array(hi, { shape: v.shape });
    // float64 without a Float64Array (jax-js's array() needs Float16Array for those on Node 20):
    // hi + lo in float32 parts carries ~48 bits, exact for values that came from float32.
    const lo = Float32Array.from(v.data, (x, i) => x - hi[i]!);
    const a = np.array(hi, { shape: v.shape }).astype(np.float64);
    return lo.every((x) => x === 0) ? a : a.add(np.array(lo, { shape: v.shape }).astype(np.float64));
  }
  if (v.kind === 'bool') return np.array(Int32Array.from(v.data), { shape: v.shape }).astype(np.bool);
  return np.array(Int32Array.from(v.data), { shape: v.shape, dtype: np.int32 });
}

export function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], what: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`${what}: shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Index map from an output position of `out` to the broadcast source `src`. */
function broadcastIndex(src: readonly number[], out: readonly number[]): (k: number) => number {
  const r = out.length;
  const padded = [...new Array<number>(r - src.length).fill(1), ...src];
  const ss = stridesOf(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
  const os = stridesOf(out);
  return (k) => {
    let idx = 0;
    for (let d = 0; d < r; d++) {
      const c = Math.floor(k / os[d]!) % out[d]!;
      idx += c * ss[d]!;
    }
    return idx;
  };
}

/** Elementwise op over statics with broadcasting. */
export function staticMap(inputs: Static[], f: (...xs: number[]) => number, kind: StaticKind, what: string): Static {
  const shape = inputs.map((s) => s.shape).reduce((a, b) => broadcastShapes(a, b, what));
  const n = prod(shape);
  const maps = inputs.map((s) => broadcastIndex(s.shape, shape));
  const out = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < inputs.length; j++) args[j] = inputs[j]!.data[maps[j]!(k)]!;
    out[k] = f(...args);
  }
  return new Static(out, shape, kind);
}

/** Gather along an axis of a static tensor. */
export function staticTake(data: Static, indices: Static, axis: number): Static {
  const r = data.shape.length;
  const ax = normAxis(axis, r, 'Gather');
  const outer = prod(data.shape.slice(0, ax));
  const inner = prod(data.shape.slice(ax + 1));
  const dim = data.shape[ax]!;
  const out = new Float64Array(outer * indices.size * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (let t = 0; t < indices.size; t++) {
      let i = indices.data[t]!;
      if (i < 0) i += dim;
      if (i < 0 || i >= dim) throw new Error(`Gather: index ${indices.data[t]} out of range for a dimension of size ${dim}`);
      for (let b = 0; b < inner; b++) out[o++] = data.data[(a * dim + i) * inner + b]!;
    }
  }
  return new Static(out, [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)], data.kind);
}

export function staticConcat(parts: Static[], axis: number): Static {
  const r = parts[0]!.shape.length;
  const ax = normAxis(axis, r, 'Concat');
  const outer = prod(parts[0]!.shape.slice(0, ax));
  const shape = [...parts[0]!.shape];
  shape[ax] = parts.reduce((s, p) => s + p.shape[ax]!, 0);
  const out = new Float64Array(prod(shape));
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const p of parts) {
      const chunk = prod(p.shape.slice(ax));
      out.set(p.data.subarray(a * chunk, (a + 1) * chunk), o);
      o += chunk;
    }
  }
  const kind = parts.some((p) => p.kind === 'float') ? 'float' : parts[0]!.kind;
  return new Static(out, shape, kind);
}

export function staticTranspose(s: Static, perm: number[]): Static {
  const shape = perm.map((p) => s.shape[p]!);
  const inStrides = stridesOf(s.shape);
  const outStrides = stridesOf(shape);
  const out = new Float64Array(s.size);
  for (let k = 0; k < out.length; k++) {
    let idx = 0;
    for (let d = 0; d < shape.length; d++) idx += (Math.floor(k / outStrides[d]!) % shape[d]!) * inStrides[perm[d]!]!;
    out[k] = s.data[idx]!;
  }
  return new Static(out, shape, s.kind);
}

/** Slice with per-axis [start, end, step] already normalized (step may be negative). */
export function staticSlice(s: Static, ranges: { start: number; end: number; step: number }[]): Static {
  const idx = ranges.map(({ start, end, step }) => {
    const out: number[] = [];
    if (step > 0) for (let i = start; i < end; i += step) out.push(i);
    else for (let i = start; i > end; i += step) out.push(i);
    return out;
  });
  const shape = idx.map((a) => a.length);
  const inStrides = stridesOf(s.shape);
  const outStrides = stridesOf(shape);
  const out = new Float64Array(prod(shape));
  for (let k = 0; k < out.length; k++) {
    let j = 0;
    for (let d = 0; d < shape.length; d++) j += idx[d]![Math.floor(k / outStrides[d]!) % shape[d]!]! * inStrides[d]!;
    out[k] = s.data[j]!;
  }
  return new Static(out, shape, s.kind);
}
