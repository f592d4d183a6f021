/**
 * Our ONNX op table: the ops of MLPs, CNNs and ResNets (with batch norm, dropout,
 * pooling) written directly in jax-js, plus the shape arithmetic torch exports
 * produce, computed on `Static` values. Every op here is differentiable and
 * jit-traceable; pooling avoids `lax.reduceWindow` (its gradient is wrong under
 * `jit` for overlapping windows in jax-js 0.1.25) and uses strided slices instead.
 *
 * Ownership: handlers receive *borrowed* inputs and return *owned* outputs; an
 * input array is used through `c.A(i)` (a fresh reference) and never disposed.
 */
import { lax, nn, numpy as np } from '@jax-js/jax';
import type { NodeProto } from 'onnx-buf';
import { type AttrValue, DT, decodeTensor, shortestFloat32 } from '../../io/onnx-proto.js';
import { convIm2col, stridedAxis, windowSlices, zeroPadSpatial } from '../conv.js';
import { type ConvImpl, unbiasedVariance } from '../layers.js';
import { einsum } from './einsum.js';
import { resizeNearest } from './resize.js';
import {
  type FloatDType,
  isStatic,
  normAxis,
  own,
  prod,
  Static,
  type StaticKind,
  shapeOf,
  staticConcat,
  staticMap,
  staticSlice,
  staticTake,
  staticTranspose,
  type Val,
} from './values.js';

type Arr = np.Array;

export interface OpContext {
  node: NodeProto;
  opType: string;
  opset: number;
  /** Borrowed inputs (undefined for omitted optional inputs). */
  inputs: (Val | undefined)[];
  attrs: Record<string, AttrValue>;
  /** Float dtype of the computation. */
  dtype: FloatDType;
  train: boolean;
  conv: ConvImpl;
  /** Whether output k of this node is consumed by a later node or is a graph output. */
  outputUsed(k: number): boolean;
  /** Train mode: record the batch mean and unbiased variance of a batch-norm node. */
  batchStats(mean: Arr, variance: Arr): void;
  /** Train mode: the 0/1 keep mask of this dropout node ([N, ...per-sample shape]). */
  dropoutMask(shape: number[]): Arr | null;
  /** Owned array of input i (float statics in the computation dtype). */
  A(i: number): Arr;
  /** Input i as a static tensor (throws if it depends on the data). */
  S(i: number, what?: string): Static;
  /** Input i present? */
  has(i: number): boolean;
  /** Delegate this node to @jax-js/onnx. */
  delegate(): Val[];
}

export type OpFn = (c: OpContext) => Val[];

// ---------------------------------------------------------------- attributes

function attrInt(c: OpContext, name: string, dflt: number): number {
  const v = c.attrs[name];
  return typeof v === 'number' ? v : dflt;
}
function attrFloat(c: OpContext, name: string, dflt: number): number {
  return attrInt(c, name, dflt);
}
function attrInts(c: OpContext, name: string): number[] | undefined {
  const v = c.attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}
function attrString(c: OpContext, name: string, dflt: string): string {
  const v = c.attrs[name];
  return typeof v === 'string' ? v : dflt;
}

/** Axes from the attribute (older opsets) or the optional second input. */
function axesOf(c: OpContext, inputIndex: number): number[] | undefined {
  if (c.has(inputIndex)) return [...c.S(inputIndex, 'axes').data];
  return attrInts(c, 'axes');
}

// ---------------------------------------------------------------- elementwise

function kindOfResult(a: Static, b: Static): StaticKind {
  return a.kind === 'float' || b.kind === 'float' ? 'float' : a.kind;
}

/** A binary operand: statics of one element become JS numbers (weakly typed), others arrays. */
function operand(c: OpContext, i: number, otherRank: number, otherDtype: FloatDType | 'int'): Arr | number {
  const v = c.inputs[i]!;
  if (isStatic(v)) {
    if (v.size === 1 && v.shape.length <= otherRank) return v.data[0]!;
    if (v.kind === 'float' || otherDtype !== 'int') return own(v, otherDtype === 'int' ? c.dtype : otherDtype);
    return own(v);
  }
  return v.ref;
}

function dtypeTag(v: Val): FloatDType | 'int' {
  if (isStatic(v)) return v.kind === 'float' ? 'float32' : 'int';
  return v.dtype === np.float64 ? 'float64' : v.dtype === np.float32 || v.dtype === np.float16 ? 'float32' : 'int';
}

/** Binary elementwise op: static × static in JS, otherwise np.* with numbers or arrays on either side. */
function binaryNp(staticF: (a: number, b: number) => number, npF: (a: Arr | number, b: Arr | number) => Arr, intDiv = false): OpFn {
  return (c) => {
    const [a, b] = c.inputs as [Val, Val];
    if (isStatic(a) && isStatic(b)) {
      const kind = kindOfResult(a, b);
      const f = intDiv && kind !== 'float' ? (x: number, y: number) => Math.trunc(x / y) : staticF;
      return [staticMap([a, b], f, kind, c.opType)];
    }
    const ra = shapeOf(a).length;
    const rb = shapeOf(b).length;
    const t = dtypeTag(isStatic(a) ? b : a);
    return [npF(operand(c, 0, rb, t), operand(c, 1, ra, t))];
  };
}

function unary(f: (x: Arr, c: OpContext) => Arr, staticF?: (x: number) => number): OpFn {
  return (c) => {
    const v = c.inputs[0]!;
    if (staticF && isStatic(v)) return [staticMap([v], staticF, v.kind, c.opType)];
    return [f(c.A(0), c)];
  };
}

// ---------------------------------------------------------------- shapes

/** Normalized [start, end, step] ranges of an ONNX Slice over `shape`. */
function sliceRanges(shape: number[], starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined) {
  const r = shape.length;
  const ranges = shape.map((d) => ({ start: 0, end: d, step: 1 }));
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((a0, i) => {
    const a = normAxis(a0, r, 'Slice');
    const d = shape[a]!;
    const step = steps?.[i] ?? 1;
    if (step === 0) throw new Error('Slice: step 0');
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    ranges[a] = { start: s, end: e, step };
  });
  return ranges;
}

function resolveReshape(inShape: number[], target: number[], allowzero: boolean): number[] {
  const shape = target.map((d, i) => (d === 0 && !allowzero ? inShape[i]! : d));
  const known = prod(shape.filter((d) => d !== -1));
  const total = prod(inShape);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`Reshape: more than one -1 in [${target}]`);
  if (unknown === 1) {
    if (known === 0 || total % known !== 0) throw new Error(`Reshape: cannot reshape [${inShape}] to [${target}]`);
    return shape.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total) throw new Error(`Reshape: cannot reshape [${inShape}] (${total} values) to [${shape}]`);
  return shape;
}

// ---------------------------------------------------------------- conv & pooling

function spatialPads(c: OpContext, inSp: number[], kernel: number[], strides: number[], dilations: number[]): [number[], number[]] {
  const n = inSp.length;
  const autoPad = attrString(c, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return [new Array(n).fill(0), new Array(n).fill(0)];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inSp[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inSp[i]!);
      const small = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      end.push(autoPad === 'SAME_UPPER' ? total - small : small);
    }
    return [begin, end];
  }
  const pads = attrInts(c, 'pads') ?? new Array(2 * n).fill(0);
  return [pads.slice(0, n), pads.slice(n, 2 * n)];
}

/** Pad the spatial axes (2..) of x with `value` (0 or -inf). */
function padSpatial(x: Arr, begin: number[], end: number[], value: number): Arr {
  if (value === 0 || (begin.every((p) => p === 0) && end.every((p) => p === 0))) return zeroPadSpatial(x, begin, end);
  let y = x;
  for (let i = 0; i < begin.length; i++) {
    const axis = i + 2;
    for (const [count, before] of [
      [begin[i]!, true],
      [end[i]!, false],
    ] as const) {
      if (count <= 0) continue;
      const s = [...y.shape];
      s[axis] = count;
      const fill = np.full(s, value, { dtype: y.dtype });
      y = before ? np.concatenate([fill, y], axis) : np.concatenate([y, fill], axis);
    }
  }
  return y;
}

function poolGeometry(c: OpContext, x: Val) {
  const shape = shapeOf(x);
  const sp = shape.slice(2);
  const kernel = attrInts(c, 'kernel_shape');
  if (!kernel || kernel.length !== sp.length) throw new Error(`kernel_shape [${kernel ?? ''}] does not fit an input of shape [${shape}]`);
  const strides = attrInts(c, 'strides') ?? kernel.map(() => 1);
  const dil = attrInts(c, 'dilations') ?? kernel.map(() => 1);
  const [begin, end] = spatialPads(c, sp, kernel, strides, dil);
  const ceil = attrInt(c, 'ceil_mode', 0) === 1;
  const out = sp.map((d, i) => {
    const span = d + begin[i]! + end[i]! - dil[i]! * (kernel[i]! - 1) - 1;
    let o = (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
    // the last window must start inside the input or its left padding (PyTorch / ONNX rule)
    if (ceil && (o - 1) * strides[i]! >= d + begin[i]!) o--;
    return o;
  });
  if (out.some((d) => d <= 0)) throw new Error(`kernel [${kernel}] does not fit the input [${shape}]`);
  // padding so that every window lies inside the padded array
  const endFull = sp.map((d, i) => Math.max(end[i]!, (out[i]! - 1) * strides[i]! + dil[i]! * (kernel[i]! - 1) + 1 - d - begin[i]!));
  return { shape, sp, kernel, strides, dil, begin, end, endFull, out };
}

function isPlainTiling(g: ReturnType<typeof poolGeometry>): boolean {
  return g.kernel.every((k, i) => k === g.strides[i] && g.dil[i] === 1) && g.begin.every((p) => p === 0) && g.endFull.every((p) => p <= 0);
}

/** Non-overlapping pooling by reshape (the zoo's pool2d), cropping the remainder. */
function tilePool(x: Arr, g: ReturnType<typeof poolGeometry>, kind: 'max' | 'mean'): Arr {
  const [n, ch] = g.shape as [number, number];
  const crop = g.out.map((o, i) => o * g.kernel[i]!);
  const xc = crop.some((d, i) => d !== g.sp[i]) ? x.slice([], [], ...crop.map((d) => [0, d] as [number, number])) : x;
  const shape = [n, ch, ...g.out.flatMap((o, i) => [o, g.kernel[i]!])];
  const axes = g.out.map((_, i) => 3 + 2 * i);
  const r = xc.reshape(shape);
  return kind === 'max' ? r.max(axes) : r.mean(axes);
}

function maxPool(c: OpContext): Val[] {
  if (c.outputUsed(1)) throw new Error('the Indices output of MaxPool is not supported');
  const g = poolGeometry(c, c.inputs[0]!);
  const x = c.A(0);
  if (isPlainTiling(g)) return [tilePool(x, g, 'max')];
  const xp = padSpatial(x, g.begin, g.endFull, -Infinity);
  const cols = windowSlices(xp, g.kernel, g.strides, g.dil, g.out);
  return [cols.reduce((a, b) => np.maximum(a, b))];
}

function averagePool(c: OpContext): Val[] {
  const g = poolGeometry(c, c.inputs[0]!);
  const x = c.A(0);
  if (isPlainTiling(g)) return [tilePool(x, g, 'mean')];
  const includePad = attrInt(c, 'count_include_pad', 0) === 1;
  const xp = padSpatial(x, g.begin, g.endFull, 0);
  const cols = windowSlices(xp, g.kernel, g.strides, g.dil, g.out);
  const sum = cols.reduce((a, b) => a.add(b));
  // divisor per output position: window cells inside the input (or inside input + explicit pads)
  const counts = g.out.map((o, i) =>
    Array.from({ length: o }, (_, p) => {
      let cnt = 0;
      for (let k = 0; k < g.kernel[i]!; k++) {
        const pos = p * g.strides[i]! + k * g.dil[i]! - g.begin[i]!;
        const lo = includePad ? -g.begin[i]! : 0;
        const hi = includePad ? g.sp[i]! + g.end[i]! : g.sp[i]!;
        if (pos >= lo && pos < hi) cnt++;
      }
      return cnt;
    }),
  );
  const P = prod(g.out);
  const inv = new Float64Array(P);
  for (let k = 0; k < P; k++) {
    let r = k;
    let cnt = 1;
    for (let i = g.out.length - 1; i >= 0; i--) {
      cnt *= counts[i]![r % g.out[i]!]!;
      r = Math.floor(r / g.out[i]!);
    }
    inv[k] = 1 / cnt;
  }
  if (inv.every((v) => v === inv[0])) return [sum.mul(inv[0]!)];
  return [sum.mul(own(new Static(inv, g.out, 'float'), c.dtype))];
}

function globalPool(kind: 'mean' | 'max'): OpFn {
  return (c) => {
    const r = shapeOf(c.inputs[0]!).length;
    const axes = Array.from({ length: r - 2 }, (_, i) => i + 2);
    const x = c.A(0);
    return [kind === 'mean' ? np.mean(x, axes, { keepdims: true }) : np.max(x, axes, { keepdims: true })];
  };
}

// ---------------------------------------------------------------- normalization

function batchNormalization(c: OpContext): Val[] {
  for (let k = 1; k < 5; k++) if (c.outputUsed(k)) throw new Error('the running-statistics outputs of BatchNormalization are not supported');
  const r = shapeOf(c.inputs[0]!).length;
  const bshape = [1, -1, ...new Array<number>(Math.max(0, r - 2)).fill(1)];
  const eps = attrFloat(c, 'epsilon', 1e-5);
  const x = c.A(0);
  if (!c.train) {
    // the zoo's arithmetic: x·(γ/√(σ²+ε)) + (β − μ·γ/√(σ²+ε))
    const scale = c.A(1).mul(np.reciprocal(np.sqrt(c.A(4).add(eps))));
    const shift = c.A(2).sub(c.A(3).mul(scale.ref));
    return [x.mul(scale.reshape(bshape)).add(shift.reshape(bshape))];
  }
  const axes = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
  const count = x.size / x.shape[1]!;
  const mean = x.ref.mean(axes);
  const centered = x.sub(mean.ref.reshape(bshape));
  const variance = np.square(centered.ref).mean(axes);
  const inv = np.reciprocal(np.sqrt(variance.ref.add(eps)));
  const y = centered.mul(c.A(1).mul(inv).reshape(bshape)).add(c.A(2).reshape(bshape));
  c.batchStats(mean, unbiasedVariance(variance, count));
  return [y];
}

function dropout(c: OpContext): Val[] {
  if (c.outputUsed(1)) throw new Error('the mask output of Dropout is not supported');
  if (!c.train) return [c.A(0)];
  const p = c.has(1) ? shortestFloat32(c.S(1, 'ratio').data[0]!) : attrFloat(c, 'ratio', 0.5);
  if (p <= 0) return [c.A(0)];
  const shape = shapeOf(c.inputs[0]!);
  const mask = c.dropoutMask(shape.slice(1));
  if (!mask) throw new Error('train mode needs a dropout mask for every dropout site');
  return [
    c
      .A(0)
      .mul(mask)
      .mul(1 / (1 - p)),
  ];
}

function softmaxLike(log: boolean): OpFn {
  return (c) => {
    const shape = shapeOf(c.inputs[0]!);
    const r = shape.length;
    const f = (x: Arr, axis: number) => (log ? nn.logSoftmax(x, axis) : nn.softmax(x, axis));
    if (c.opset >= 13) return [f(c.A(0), normAxis(attrInt(c, 'axis', -1), r, c.opType))];
    // opset < 13: coerce to 2-D at `axis` (default 1)
    const axis = normAxis(attrInt(c, 'axis', 1), r, c.opType);
    if (axis === r - 1) return [f(c.A(0), axis)];
    const x2 = c.A(0).reshape([prod(shape.slice(0, axis)), prod(shape.slice(axis))]);
    return [f(x2, 1).reshape(shape)];
  };
}

function reduce(kind: 'mean' | 'sum' | 'max' | 'min', axesInputSince: number): OpFn {
  return (c) => {
    const r = shapeOf(c.inputs[0]!).length;
    const keep = attrInt(c, 'keepdims', 1) === 1;
    let axes = c.opset >= axesInputSince ? (c.has(1) ? [...c.S(1, 'axes').data] : undefined) : attrInts(c, 'axes');
    if (!axes || axes.length === 0) {
      if (attrInt(c, 'noop_with_empty_axes', 0) === 1) return [c.A(0)];
      axes = Array.from({ length: r }, (_, i) => i);
    }
    const ax = axes.map((a) => normAxis(a, r, c.opType));
    const x = c.A(0);
    const o = { keepdims: keep };
    if (kind === 'mean') return [np.mean(x, ax, o)];
    if (kind === 'sum') return [np.sum(x, ax, o)];
    if (kind === 'max') return [np.max(x, ax, o)];
    return [np.min(x, ax, o)];
  };
}

/** Resize (and opset < 10 Upsample): nearest mode here; other modes go to @jax-js/onnx. */
function resize(c: OpContext): Val[] {
  if (attrString(c, 'mode', 'nearest') !== 'nearest') return c.delegate();
  const shape = shapeOf(c.inputs[0]!);
  const r = shape.length;
  const scalesAt = c.opType === 'Upsample' || c.opset < 11 ? 1 : 2;
  const axes = (attrInts(c, 'axes') ?? Array.from({ length: r }, (_, i) => i)).map((a) => normAxis(a, r, 'Resize'));
  const policy = attrString(c, 'keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') throw new Error(`keep_aspect_ratio_policy "${policy}" is not supported`);
  const scales = shape.map(() => 1);
  const out = [...shape];
  const sizes = c.opType === 'Resize' && c.opset >= 11 && c.has(3) ? c.S(3, 'sizes') : null;
  if (sizes && sizes.size > 0) {
    axes.forEach((a, i) => {
      out[a] = sizes.data[i]!;
      scales[a] = out[a]! / shape[a]!;
    });
  } else if (c.has(scalesAt) && c.S(scalesAt, 'scales').size > 0) {
    const sc = c.S(scalesAt, 'scales');
    axes.forEach((a, i) => {
      scales[a] = sc.data[i]!;
      out[a] = Math.floor(shape[a]! * scales[a]!);
    });
  } else if (Array.isArray(c.attrs.scales)) {
    (c.attrs.scales as number[]).forEach((v, a) => {
      scales[a] = v;
      out[a] = Math.floor(shape[a]! * v);
    });
  } else throw new Error('needs scales or sizes');
  const legacy = c.opType === 'Upsample' || c.opset < 11;
  const spec = {
    coordMode: legacy ? 'asymmetric' : attrString(c, 'coordinate_transformation_mode', 'half_pixel'),
    nearestMode: legacy ? 'floor' : attrString(c, 'nearest_mode', 'round_prefer_floor'),
  };
  return [resizeNearest(c.A(0), out, scales, spec)];
}

// ---------------------------------------------------------------- the table

const ONNX_TO_KIND: Record<number, StaticKind> = {
  [DT.FLOAT]: 'float',
  [DT.DOUBLE]: 'float',
  [DT.FLOAT16]: 'float',
  [DT.BFLOAT16]: 'float',
  [DT.BOOL]: 'bool',
};

function kindOfType(t: number): StaticKind {
  return ONNX_TO_KIND[t] ?? 'int';
}

export const OPS: Record<string, OpFn> = {
  Identity: (c) => [isStatic(c.inputs[0]) ? c.inputs[0]! : c.A(0)],
  Dropout: dropout,

  // ---- arithmetic
  Add: binaryNp(
    (a, b) => a + b,
    (a, b) => np.add(a, b),
  ),
  Sub: binaryNp(
    (a, b) => a - b,
    (a, b) => np.subtract(a, b),
  ),
  Mul: binaryNp(
    (a, b) => a * b,
    (a, b) => np.multiply(a, b),
  ),
  Div: binaryNp(
    (a, b) => a / b,
    (a, b) => np.divide(a, b),
    true,
  ),
  Pow: (c) => {
    const [a, b] = c.inputs as [Val, Val];
    if (isStatic(a) && isStatic(b)) return [staticMap([a, b], (x, y) => x ** y, a.kind, 'Pow')];
    if (isStatic(b) && b.size === 1) {
      const e = b.data[0]!;
      if (e === 2) return [np.square(c.A(0))];
      if (e === 1) return [c.A(0)];
      if (e === 0.5) return [np.sqrt(c.A(0))];
      return [np.power(c.A(0), e)];
    }
    return c.delegate();
  },
  Neg: unary(
    (x) => np.negative(x),
    (x) => -x,
  ),
  Abs: unary((x) => np.abs(x), Math.abs),
  Sqrt: unary((x) => np.sqrt(x), Math.sqrt),
  Exp: unary((x) => np.exp(x), Math.exp),
  Log: unary((x) => np.log(x), Math.log),
  Reciprocal: unary(
    (x) => np.reciprocal(x),
    (x) => 1 / x,
  ),
  Floor: unary((x) => np.floor(x), Math.floor),
  Ceil: unary((x) => np.ceil(x), Math.ceil),

  // ---- activations
  Relu: unary((x) => nn.relu(x)),
  LeakyRelu: unary((x, c) => nn.leakyRelu(x, attrFloat(c, 'alpha', 0.01))),
  Sigmoid: unary((x) => nn.sigmoid(x)),
  Tanh: unary((x) => np.tanh(x)),
  Softplus: unary((x) => nn.softplus(x)),
  Elu: unary((x, c) => nn.elu(x, attrFloat(c, 'alpha', 1))),
  Erf: unary((x) => lax.erf(x)),
  Clip: (c) => {
    const lo = c.opset >= 11 ? (c.has(1) ? c.S(1, 'min').data[0] : undefined) : (c.attrs.min as number | undefined);
    const hi = c.opset >= 11 ? (c.has(2) ? c.S(2, 'max').data[0] : undefined) : (c.attrs.max as number | undefined);
    let x = c.A(0);
    if (lo !== undefined) x = np.maximum(x, lo);
    if (hi !== undefined) x = np.minimum(x, hi);
    return [x];
  },
  Softmax: softmaxLike(false),
  LogSoftmax: softmaxLike(true),

  // ---- linear algebra
  Gemm: (c) => {
    let a = c.A(0);
    let b = c.A(1);
    if (attrInt(c, 'transA', 0)) a = a.transpose();
    if (attrInt(c, 'transB', 0)) b = b.transpose();
    let y = np.dot(a, b);
    const alpha = attrFloat(c, 'alpha', 1);
    if (alpha !== 1) y = y.mul(alpha);
    if (c.has(2)) {
      const beta = attrFloat(c, 'beta', 1);
      let cc = c.A(2);
      if (beta !== 1) cc = cc.mul(beta);
      y = y.add(cc);
    }
    return [y];
  },
  MatMul: (c) => {
    const ra = shapeOf(c.inputs[0]!).length;
    const rb = shapeOf(c.inputs[1]!).length;
    if (ra === 2 && rb === 2) return [np.dot(c.A(0), c.A(1))];
    return [np.matmul(c.A(0), c.A(1))];
  },

  Einsum: (c) => {
    const eq = attrString(c, 'equation', '');
    return [
      einsum(
        eq,
        c.inputs.map((_, i) => c.A(i)),
      ),
    ];
  },

  // ---- convolution & pooling
  Conv: (c) => {
    const xs = shapeOf(c.inputs[0]!);
    const ws = shapeOf(c.inputs[1]!);
    const sp = xs.slice(2);
    const ks = attrInts(c, 'kernel_shape') ?? ws.slice(2);
    const group = attrInt(c, 'group', 1);
    if (sp.length < 1 || sp.length > 3) throw new Error(`input of rank ${xs.length}; Conv needs [N, C, ...1 to 3 spatial dims]`);
    if (xs[1] !== ws[1]! * group) throw new Error(`input has ${xs[1]} channels but the weight [${ws}] with group ${group} expects ${ws[1]! * group}`);
    const strides = attrInts(c, 'strides') ?? ks.map(() => 1);
    const dil = attrInts(c, 'dilations') ?? ks.map(() => 1);
    const [begin, end] = spatialPads(c, sp, ks, strides, dil);
    let y: Arr;
    if (c.conv === 'lax' || sp.length === 3) {
      y = lax.convGeneralDilated(
        c.A(0),
        c.A(1),
        strides,
        begin.map((b, i) => [b, end[i]!] as [number, number]),
        {
          rhsDilation: dil,
          featureGroupCount: group,
        },
      );
    } else if (sp.length === 1) {
      const x4 = c.A(0).reshape([xs[0]!, xs[1]!, 1, sp[0]!]);
      const w4 = c.A(1).reshape([ws[0]!, ws[1]!, 1, ws[2]!]);
      y = convIm2col(x4, w4, { strides: [1, strides[0]!], padBegin: [0, begin[0]!], padEnd: [0, end[0]!], dilations: [1, dil[0]!], group });
      y = y.reshape([y.shape[0]!, y.shape[1]!, y.shape[3]!]);
    } else {
      y = convIm2col(c.A(0), c.A(1), { strides, padBegin: begin, padEnd: end, dilations: dil, group });
    }
    if (c.has(2)) y = y.add(c.A(2).reshape([1, -1, ...sp.map(() => 1)]));
    return [y];
  },
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalPool('mean'),
  GlobalMaxPool: globalPool('max'),
  BatchNormalization: batchNormalization,

  // ---- reductions
  ReduceMean: reduce('mean', 18),
  ReduceSum: reduce('sum', 13),
  ReduceMax: reduce('max', 18),
  ReduceMin: reduce('min', 18),

  // ---- shapes and movement
  Flatten: (c) => {
    const shape = shapeOf(c.inputs[0]!);
    const r = shape.length;
    let axis = attrInt(c, 'axis', 1);
    if (axis < 0) axis += r;
    const target = [prod(shape.slice(0, axis)), prod(shape.slice(axis))];
    const v = c.inputs[0]!;
    if (isStatic(v)) return [new Static(v.data, target, v.kind)];
    return [c.A(0).reshape(target)];
  },
  Reshape: (c) => {
    const v = c.inputs[0]!;
    const target = c.opset >= 5 ? [...c.S(1, 'shape').data] : (attrInts(c, 'shape') ?? []);
    const shape = resolveReshape(shapeOf(v), target, attrInt(c, 'allowzero', 0) === 1);
    if (isStatic(v)) return [new Static(v.data, shape, v.kind)];
    return [c.A(0).reshape(shape)];
  },
  Transpose: (c) => {
    const v = c.inputs[0]!;
    const r = shapeOf(v).length;
    const perm = attrInts(c, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    if (isStatic(v)) return [staticTranspose(v, perm)];
    return [c.A(0).transpose(perm)];
  },
  Concat: (c) => {
    const vs = c.inputs.filter((v): v is Val => v !== undefined);
    const axis = attrInt(c, 'axis', 0);
    if (vs.every(isStatic)) return [staticConcat(vs, axis)];
    const dyn = vs.find((v) => !isStatic(v))!;
    const r = shapeOf(dyn).length;
    const ax = normAxis(axis, r, 'Concat');
    const dt = dtypeTag(dyn);
    const parts = vs.filter((v) => prod(shapeOf(v)) > 0 || !isStatic(v)).map((v) => (isStatic(v) ? own(v, dt === 'int' ? c.dtype : dt) : v.ref));
    return [np.concatenate(parts, ax)];
  },
  Squeeze: (c) => {
    const v = c.inputs[0]!;
    const shape = shapeOf(v);
    const axes = (axesOf(c, 1) ?? shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, shape.length, 'Squeeze'));
    const out = shape.filter((_, i) => !axes.includes(i));
    if (isStatic(v)) return [new Static(v.data, out, v.kind)];
    return [c.A(0).reshape(out)];
  },
  Unsqueeze: (c) => {
    const v = c.inputs[0]!;
    const shape = shapeOf(v);
    const axes = axesOf(c, 1);
    if (!axes) throw new Error('Unsqueeze needs axes');
    const r = shape.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, r, 'Unsqueeze')));
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : shape[j++]!);
    if (isStatic(v)) return [new Static(v.data, out, v.kind)];
    return [c.A(0).reshape(out)];
  },
  Shape: (c) => {
    const shape = shapeOf(c.inputs[0]!);
    const r = shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const s = clamp(attrInt(c, 'start', 0));
    const e = clamp(attrInt(c, 'end', r));
    return [Static.ints(shape.slice(s, e))];
  },
  Size: (c) => [Static.scalar(prod(shapeOf(c.inputs[0]!)), 'int')],
  Gather: (c) => {
    const [d, i] = c.inputs as [Val, Val];
    const axis = attrInt(c, 'axis', 0);
    if (isStatic(d) && isStatic(i)) return [staticTake(d, i, axis)];
    const r = shapeOf(d).length;
    const ax = normAxis(axis, r, 'Gather');
    if (isStatic(i)) {
      const dim = shapeOf(d)[ax]!;
      const idx = Static.ints(
        i.data.map((v) => (v < 0 ? v + dim : v)),
        i.shape,
      );
      if (i.shape.length === 0) {
        const sel: ([] | number)[] = shapeOf(d).map(() => [] as []);
        sel[ax] = idx.data[0]!;
        return [c.A(0).slice(...(sel as never[]))];
      }
      return [np.take(c.A(0), own(idx), ax)];
    }
    return [np.take(c.A(0), c.A(1), ax)];
  },
  Slice: (c) => {
    const v = c.inputs[0]!;
    const shape = shapeOf(v);
    let starts: number[];
    let ends: number[];
    let axes: number[] | undefined;
    let steps: number[] | undefined;
    if (c.opset >= 10) {
      starts = [...c.S(1, 'starts').data];
      ends = [...c.S(2, 'ends').data];
      axes = c.has(3) ? [...c.S(3, 'axes').data] : undefined;
      steps = c.has(4) ? [...c.S(4, 'steps').data] : undefined;
    } else {
      starts = attrInts(c, 'starts') ?? [];
      ends = attrInts(c, 'ends') ?? [];
      axes = attrInts(c, 'axes');
    }
    const ranges = sliceRanges(shape, starts, ends, axes, steps);
    if (isStatic(v)) return [staticSlice(v, ranges)];
    let x = c.A(0);
    ranges.forEach(({ start, end, step }, a) => {
      if (start === 0 && end === shape[a] && step === 1) return;
      if (step > 0) x = stridedAxis(x, a, start, Math.max(start, end), step);
      else {
        // reversed: take [end+1, start] ascending, flip, then stride
        const lo = end + 1;
        const hi = start + 1;
        x = np.flip(stridedAxis(x, a, lo, Math.max(lo, hi), 1), a);
        if (step !== -1) x = stridedAxis(x, a, 0, Math.max(0, hi - lo), -step);
      }
    });
    return [x];
  },
  Cast: (c) => {
    const to = attrInt(c, 'to', DT.FLOAT);
    const kind = kindOfType(to);
    const v = c.inputs[0]!;
    if (isStatic(v)) {
      const f = kind === 'int' ? Math.trunc : kind === 'bool' ? (x: number) => (x !== 0 ? 1 : 0) : (x: number) => x;
      return [staticMap([v], f, kind, 'Cast')];
    }
    const x = c.A(0);
    if (kind === 'float') return [x.astype(c.dtype === 'float64' ? np.float64 : np.float32)];
    if (kind === 'bool') return [x.astype(np.bool)];
    return [x.astype(np.int32)];
  },
  Constant: (c) => {
    const a = c.attrs;
    if (a.value && typeof a.value === 'object' && !Array.isArray(a.value)) {
      const t = decodeTensor(a.value as never, `node "${c.node.name}"`);
      return [new Static(Float64Array.from(t.data), t.shape, kindOfType(t.dataType))];
    }
    if (typeof a.value_float === 'number') return [Static.scalar(a.value_float, 'float')];
    if (Array.isArray(a.value_floats)) return [new Static(Float64Array.from(a.value_floats as number[]), [(a.value_floats as number[]).length], 'float')];
    if (typeof a.value_int === 'number') return [Static.scalar(a.value_int, 'int')];
    if (Array.isArray(a.value_ints)) return [Static.ints(a.value_ints as number[])];
    throw new Error('Constant without a numeric value');
  },
  ConstantOfShape: (c) => {
    const shape = [...c.S(0, 'shape').data];
    let value = 0;
    let kind: StaticKind = 'float';
    const t = c.attrs.value;
    if (t && typeof t === 'object' && !Array.isArray(t)) {
      const d = decodeTensor(t as never, `node "${c.node.name}"`);
      value = d.data[0] ?? 0;
      kind = kindOfType(d.dataType);
    }
    const n = prod(shape);
    if (kind !== 'float' || n <= 65536) return [new Static(new Float64Array(n).fill(value), shape, kind)];
    return [np.full(shape, value, { dtype: c.dtype === 'float64' ? np.float64 : np.float32 })];
  },
  Range: (c) => {
    const [s, l, d] = [0, 1, 2].map((i) => c.S(i, 'range').data[0]!) as [number, number, number];
    const n = Math.max(0, Math.ceil((l - s) / d));
    const kind = (c.inputs[0] as Static).kind;
    return [
      new Static(
        Float64Array.from({ length: n }, (_, i) => s + i * d),
        [n],
        kind,
      ),
    ];
  },
  Resize: resize,
  Upsample: resize,
  Pad: (c) => {
    const mode = attrString(c, 'mode', 'constant');
    if (mode !== 'constant') throw new Error(`Pad mode "${mode}" is not supported`);
    const shape = shapeOf(c.inputs[0]!);
    const r = shape.length;
    const pads = c.opset >= 11 ? [...c.S(1, 'pads').data] : (attrInts(c, 'pads') ?? []);
    const value = c.opset >= 11 ? (c.has(2) ? c.S(2, 'constant_value').data[0]! : 0) : attrFloat(c, 'value', 0);
    const axes = (c.has(3) ? [...c.S(3, 'axes').data] : Array.from({ length: r }, (_, i) => i)).map((a) => normAxis(a, r, 'Pad'));
    const widths: [number, number][] = shape.map(() => [0, 0]);
    axes.forEach((a, i) => (widths[a] = [pads[i]!, pads[i + axes.length]!]));
    if (widths.some(([a, b]) => a < 0 || b < 0)) throw new Error('negative pads are not supported');
    if (value !== 0) {
      // pad with zeros, then add value outside the original region
      const mask = new Static(new Float64Array(prod(shape)).fill(1), shape, 'float');
      const padded = np.pad(c.A(0), widths);
      const inside = np.pad(own(mask, c.dtype), widths);
      return [padded.add(np.subtract(1, inside).mul(value))];
    }
    return [np.pad(c.A(0), widths)];
  },

  // ---- static-only comparisons / selection (shape logic); data-dependent ones go to @jax-js/onnx
  Equal: staticOnly((a, b) => (a === b ? 1 : 0), 'bool'),
  Less: staticOnly((a, b) => (a < b ? 1 : 0), 'bool'),
  Greater: staticOnly((a, b) => (a > b ? 1 : 0), 'bool'),
  Not: staticOnly((a) => (a ? 0 : 1), 'bool'),
  And: staticOnly((a, b) => (a && b ? 1 : 0), 'bool'),
  Or: staticOnly((a, b) => (a || b ? 1 : 0), 'bool'),
  Where: (c) => {
    const vs = c.inputs as Val[];
    if (vs.every(isStatic)) return [staticMap(vs, (k, a, b) => (k ? a : b), vs[1]!.kind, 'Where')];
    return c.delegate();
  },
  Max: variadicStatic(Math.max),
  Min: variadicStatic(Math.min),
};

function staticOnly(f: (...xs: number[]) => number, kind: StaticKind): OpFn {
  return (c) => {
    const vs = c.inputs as Val[];
    if (vs.every(isStatic)) return [staticMap(vs, f, kind, c.opType)];
    return c.delegate();
  };
}

function variadicStatic(f: (a: number, b: number) => number): OpFn {
  return (c) => {
    const vs = c.inputs.filter((v): v is Val => v !== undefined);
    if (vs.every(isStatic)) return [vs.reduce((a, b) => staticMap([a, b], f, kindOfResult(a, b), c.opType))];
    const dt = dtypeTag(vs.find((v) => !isStatic(v))!);
    const arrs = vs.map((v) => (isStatic(v) ? own(v, dt === 'int' ? c.dtype : dt) : v.ref));
    return [arrs.reduce((a, b) => (f === Math.max ? np.maximum(a, b) : np.minimum(a, b)))];
  };
}

/** Ops that @jax-js/onnx 0.1.2 implements (its internal op table); used for nodes not in OPS. */
export const JAXJS_ONNX_OPS = new Set(
  (
    'Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh BitCast BitShift BitwiseAnd BitwiseNot BitwiseOr ' +
    'BitwiseXor Cast Ceil Celu Clip Concat Constant ConstantOfShape Conv Cos Cosh CumSum Det Div Einsum Elu Equal Erf ' +
    'Exp Expand EyeLike Flatten Floor Gather GatherElements Gelu Gemm Greater GreaterOrEqual GridSample HardSigmoid ' +
    'HardSwish Identity IsInf IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax LpNormalization MatMul ' +
    'Max MaxPool MeanVarianceNormalization Min Mish Mod Mul Neg Not Or PRelu Pad Pow Reciprocal ReduceLogSum ' +
    'ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize Round Selu ' +
    'Shape Shrink Sigmoid Sign Sin Sinh Slice Softmax Softplus Softsign Split Sqrt Squeeze Sub Swish Tan Tanh ' +
    'ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Where Xor'
  ).split(' '),
);

export function isSupportedOp(domain: string, opType: string): boolean {
  if (domain !== '' && domain !== 'ai.onnx') return false;
  return opType in OPS || JAXJS_ONNX_OPS.has(opType);
}
