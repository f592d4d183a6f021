/**
 * jaxprToOnnx: translate a jax-js ClosedJaxpr into an ONNX ModelProto (opset 18, IR 8).
 *
 * ```ts
 * const { jaxpr } = makeJaxpr(f)(...args);
 * const bytes = jaxprToOnnx(jaxpr, { inputNames: ['w', 'x'], outputNames: ['loss'] });
 * ```
 *
 * - Graph inputs are the jaxpr's non-const binders, in order, named by `inputNames`; graph
 *   outputs are `jaxpr.outs`, named by `outputNames`. Shapes are static (the traced ones).
 * - Consts: all-zero consts (the tangents jax-js materializes for symbolic zeros) are folded
 *   away (x·0 = 0, x+0 = x, dot/conv with 0 = 0, …); consts holding one repeated value become
 *   scalars; others become initializers.
 * - Nested `jit` is inlined (`Jaxpr.flatten()`).
 * - Element types follow the jaxpr exactly (float32 / float64 / int32 / uint32 / bool);
 *   literals take the dtype of the op they feed (ONNX does not promote).
 * - `broadcast` stays lazy (a size-1 dim) until an op needs the data; elementwise ops broadcast
 *   natively.
 * - `dot` always becomes one MatMul (dot.ts), `conv` Conv / ConvTranspose (conv.ts).
 * - Speed rewrites (all exact up to float rounding): dots and vmapped convs distributed over
 *   plane weights w + a_k d1 + b_k d2 (`distribute`, default on); max(x, 0) → Relu and a
 *   per-channel add after a Conv → the Conv's bias (onnxruntime then fuses Conv+bias+Relu);
 *   pooling written as reshape + max/sum over window axes → MaxPool / AveragePool; interleaved
 *   broadcasts materialized by nearest Resize; sibling Convs on one input fused (graph-builder).
 * - An unsupported primitive throws `Error("jaxprToOnnx: unsupported primitive <name> <params>")`
 *   (one line); `random_bits` throws a specific error (pass random masks in as inputs instead).
 *
 * Covered primitives: add mul idiv mod min max neg reciprocal floor ceil stop_gradient cast sin cos
 * asin atan exp log erf erfc sqrt reduce(Add/Mul/Min/Max) dot conv pool pool_transpose compare
 * where concatenate split gather transpose broadcast reshape flip shrink pad bit_combine jit.
 * Not covered: bitcast bit_shift bit_count random_bits scatter sort argsort triangular_solve
 * cholesky lu jacobi_eigh fft.
 */

import type { ClosedJaxpr } from '@jax-js/jax';
import { foldComboAdd } from './combo.js';
import { lowerConv, lowerPool, lowerPoolTranspose } from './conv.js';
import { lowerDot } from './dot.js';
import type { ElemType, GraphBuilder, SplitModels } from './graph-builder.js';
import {
  type Atom,
  arraysEqual,
  broadcastShapes,
  castCode,
  dtypeOf,
  type Eqn,
  isLit,
  Lowering,
  paramsString,
  prod,
  shapeOf,
  type TensorRef,
  type Val,
  type Var,
  ZERO,
} from './lowering.js';

export interface JaxprToOnnxOptions {
  /** Names of the graph inputs, one per non-const input binder of the jaxpr. */
  inputNames: string[];
  /** Names of the graph outputs, one per jaxpr output. */
  outputNames: string[];
  graphName?: string;
  /**
   * Distribute dots and vmapped convs over sums whose terms lack the vmap (grid) axis, e.g.
   * X (W + a_k D1 + b_k D2) = XW + a_k XD1 + b_k XD2, when cheaper (default true).
   */
  distribute?: boolean;
  /**
   * onnxruntime's NCHWc block size: convs with fed weights run as its NCHWc kernels (see
   * `GraphBuilder.nchwcBlock`). For graphs run by onnxruntime's CPU provider only.
   */
  nchwcBlock?: number;
}

export function jaxprToOnnx(closed: ClosedJaxpr, opts: JaxprToOnnxOptions): Uint8Array {
  return lowerJaxpr(closed, opts).toModel(opts.graphName ?? 'jaxpr');
}

/**
 * Like `jaxprToOnnx`, but hoists everything that does not depend on the inputs named in `vary`
 * into a separate prefix graph (see `GraphBuilder.toSplitModels`): for a plane graph with
 * `vary` = the grid coordinates, the prefix runs once per (θ, d1, d2) and the rest per call;
 * what depends on the inputs named in `fixed` (the data) alone goes to a setup graph.
 */
export function jaxprToOnnxSplit(closed: ClosedJaxpr, opts: JaxprToOnnxOptions & { vary: string[]; fixed?: string[] }): SplitModels {
  return lowerJaxpr(closed, opts, opts.vary).toSplitModels(opts.graphName ?? 'jaxpr', opts.vary, undefined, opts.fixed);
}

function lowerJaxpr(closed: ClosedJaxpr, opts: JaxprToOnnxOptions, vary: string[] = []): GraphBuilder {
  const flat = closed.jaxpr.flatten().simplify();
  const jaxpr = flat as unknown as { inBinders: Var[]; eqns: Eqn[]; outs: Atom[] };
  const nConsts = closed.consts.length;
  const binders = jaxpr.inBinders;
  if (binders.length - nConsts !== opts.inputNames.length) {
    throw new Error(`jaxprToOnnx: ${binders.length - nConsts} inputs in the jaxpr but ${opts.inputNames.length} inputNames`);
  }
  if (jaxpr.outs.length !== opts.outputNames.length) {
    throw new Error(`jaxprToOnnx: ${jaxpr.outs.length} outputs in the jaxpr but ${opts.outputNames.length} outputNames`);
  }
  const L = new Lowering({ distribute: opts.distribute ?? true, vary, nchwcBlock: opts.nchwcBlock });
  const b = L.b;

  for (let i = 0; i < nConsts; i++) L.vals.set(binders[i], constVal(L, binders[i], closed.consts[i]));
  binders.slice(nConsts).forEach((v, i) => {
    const name = opts.inputNames[i];
    b.addInput(name, dtypeOf(v), shapeOf(v));
    L.vals.set(v, { kind: 'tensor', name, ashape: shapeOf(v) });
    if (vary.includes(name)) L.varying.add(v);
  });

  for (const a of [...jaxpr.eqns.flatMap((e) => e.inputs), ...jaxpr.outs]) {
    if (!isLit(a)) L.uses.set(a as Var, (L.uses.get(a as Var) ?? 0) + 1);
  }
  for (const eqn of jaxpr.eqns) {
    for (const o of eqn.outBinders) L.producers.set(o, eqn);
    if (eqn.inputs.some((a) => !isLit(a) && L.varying.has(a as Var))) for (const o of eqn.outBinders) L.varying.add(o);
    const outs = lowerEqn(L, eqn);
    eqn.outBinders.forEach((o, i) => L.vals.set(o, outs[i]));
  }

  jaxpr.outs.forEach((a, i) => {
    const name = opts.outputNames[i];
    const src = L.fullOfAtom(a);
    b.namedNode('Identity', [src], name);
    b.addOutput(name, dtypeOf(a), shapeOf(a));
  });
  return b;
}

interface ConstLike {
  ref: ConstLike;
  dataSync(): ArrayLike<number>;
  dtype: string;
  shape: number[];
}

function constVal(L: Lowering, v: Var, c: unknown): Val {
  const arr = c as ConstLike;
  if (typeof arr.dataSync !== 'function') {
    throw new Error('jaxprToOnnx: a const of the jaxpr is not a concrete array');
  }
  const data = arr.ref.dataSync();
  const dtype = dtypeOf(v);
  let same = true;
  for (let i = 1; i < data.length && same; i++) same = data[i] === data[0] || (Number.isNaN(data[i]!) && Number.isNaN(data[0]!));
  if (data.length === 0 || (same && data[0] === 0 && !Object.is(data[0], -0))) return ZERO;
  if (same) return { kind: 'tensor', name: L.b.scalar(dtype, data[0]), ashape: [] };
  const name = L.b.addInitializer(dtype, shapeOf(v), rawBytes(data, dtype));
  return { kind: 'tensor', name, ashape: shapeOf(v) };
}

function rawBytes(data: ArrayLike<number>, dtype: ElemType): Uint8Array {
  if (ArrayBuffer.isView(data)) {
    const ok =
      (dtype === 'float32' && data instanceof Float32Array) ||
      (dtype === 'float64' && data instanceof Float64Array) ||
      (dtype === 'int32' && data instanceof Int32Array) ||
      (dtype === 'uint32' && data instanceof Uint32Array);
    if (ok) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const n = data.length;
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(data).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(data).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(data).buffer);
    case 'uint32':
      return new Uint8Array(Uint32Array.from(data).buffer);
    case 'bool': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = data[i] ? 1 : 0;
      return a;
    }
    default:
      throw new Error(`jaxprToOnnx: consts of dtype ${dtype} are not supported`);
  }
}

const UNARY: Record<string, string> = {
  neg: 'Neg',
  reciprocal: 'Reciprocal',
  floor: 'Floor',
  ceil: 'Ceil',
  sin: 'Sin',
  cos: 'Cos',
  asin: 'Asin',
  atan: 'Atan',
  exp: 'Exp',
  log: 'Log',
  erf: 'Erf',
  sqrt: 'Sqrt',
};
/** f(0) = 0, so a symbolic zero stays zero. */
const ZERO_PRESERVING = new Set(['neg', 'floor', 'ceil', 'sin', 'asin', 'atan', 'erf', 'sqrt']);

function unsupported(eqn: Eqn, why = ''): Error {
  return new Error(`jaxprToOnnx: unsupported primitive ${eqn.primitive} ${paramsString(eqn.params)}${why ? ` (${why})` : ''}`);
}

function lowerEqn(L: Lowering, eqn: Eqn): Val[] {
  const prim = eqn.primitive as string;
  const out = eqn.outBinders[0];
  const dtype = out ? dtypeOf(out) : 'float32';
  const b = L.b;
  const ins = eqn.inputs;

  if (prim in UNARY) {
    const v = L.valOf(ins[0]);
    if (v.kind === 'zero' && ZERO_PRESERVING.has(prim)) return [ZERO];
    const t = L.tensorOfAtom(ins[0], dtype);
    return [tensorVal(b.op(UNARY[prim], [t.name], t.ashape, dtype), t.ashape)];
  }

  switch (prim) {
    case 'stop_gradient':
      return [L.valOf(ins[0])];

    case 'cast': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      return [asVal(L.tensorOfAtom(ins[0], dtype))];
    }

    case 'erfc': {
      const t = L.tensorOfAtom(ins[0], dtype);
      const e = b.op('Erf', [t.name], t.ashape, dtype);
      return [tensorVal(b.op('Sub', [b.scalar(dtype, 1), e], t.ashape, dtype), t.ashape)];
    }

    case 'add':
    case 'mul':
    case 'min':
    case 'max':
    case 'idiv':
    case 'mod':
      return [lowerBinary(L, eqn)];

    case 'bit_combine': {
      const op = eqn.params.op as string;
      const onnx = dtype === 'bool' ? { and: 'And', or: 'Or', xor: 'Xor' }[op] : { and: 'BitwiseAnd', or: 'BitwiseOr', xor: 'BitwiseXor' }[op];
      if (!onnx) throw unsupported(eqn);
      const [x, y] = ins.map((a) => L.tensorOfAtom(a, dtype));
      return [tensorVal(b.op(onnx, [x.name, y.name], broadcastShapes(x.ashape, y.ashape), dtype), broadcastShapes(x.ashape, y.ashape))];
    }

    case 'compare':
      return [lowerCompare(L, eqn)];

    case 'where': {
      const [c, x, y] = ins;
      const xv = L.valOf(x);
      const yv = L.valOf(y);
      if (xv.kind === 'zero' && yv.kind === 'zero') return [ZERO];
      const isFloat = dtype === 'float32' || dtype === 'float64';
      if (isFloat && (xv.kind === 'zero' || yv.kind === 'zero') && L.invariant(c) && !L.invariant(xv.kind === 'zero' ? y : x)) {
        // where(mask, 0, t) with a mask fixed per prefix run (ReLU / max-pool masks of the primal
        // pass in an HVP): t · float(mask), the mask cast once in the prefix; Mul is much
        // faster than Where in onnxruntime. Same values for finite t.
        const keep =
          xv.kind === 'zero' ? b.op('Not', [L.tensorOfAtom(c, 'bool').name], L.tensorOfAtom(c, 'bool').ashape, 'bool') : L.tensorOfAtom(c, 'bool').name;
        const ct = L.tensorOfAtom(c, 'bool');
        const mask = { name: b.op('Cast', [keep], ct.ashape, dtype, { to: castCode(dtype) }), ashape: ct.ashape };
        const t0 = L.tensorOfAtom(xv.kind === 'zero' ? y : x, dtype);
        const ashape = broadcastShapes(mask.ashape, t0.ashape);
        const [mt, tt] = L.elementwiseInputs([mask, t0], ashape, [dtype, dtype]);
        return [tensorVal(b.op('Mul', [tt.name, mt.name], ashape, dtype), ashape)];
      }
      const ct0 = L.tensorOfAtom(c, 'bool');
      const xt0 = L.tensorOfAtom(x, dtype);
      const yt0 = L.tensorOfAtom(y, dtype);
      const ashape = broadcastShapes(ct0.ashape, xt0.ashape, yt0.ashape);
      const [ct, xt, yt] = L.elementwiseInputs([ct0, xt0, yt0], ashape, ['bool', dtype, dtype]);
      return [tensorVal(b.op('Where', [ct.name, xt.name, yt.name], ashape, dtype), ashape)];
    }

    case 'reduce':
      return [lowerReduce(L, eqn)];

    case 'dot':
      return [lowerDot(L, eqn)];

    case 'conv':
      return [lowerConv(L, eqn)];

    case 'pool':
      return [lowerPool(L, eqn)];

    case 'pool_transpose':
      return [lowerPoolTranspose(L, eqn)];

    case 'transpose': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      const perm = eqn.params.perm as number[];
      const t = L.aligned(L.tensorOfAtom(ins[0], dtype), perm.length, dtype);
      return [asVal(L.transpose(t, perm, dtype))];
    }

    case 'broadcast': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      const shape = eqn.params.shape as number[];
      const axis = new Set(eqn.params.axis as number[]);
      const inShape = shapeOf(ins[0]);
      const t = L.aligned(L.tensorOfAtom(ins[0], dtype), inShape.length, dtype);
      let k = 0;
      const ashape = shape.map((_, j) => (axis.has(j) ? 1 : t.ashape[k++]));
      if (prod(ashape) === 1 && t.ashape.length === 0) return [asVal(t)];
      return [tensorVal(L.reshape(t.name, ashape, dtype), ashape)];
    }

    case 'reshape': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      const shape = eqn.params.shape as number[];
      const inShape = shapeOf(ins[0]);
      const t = L.aligned(L.tensorOfAtom(ins[0], dtype), inShape.length, dtype);
      if (arraysEqual(t.ashape, inShape)) return [tensorVal(L.reshape(t.name, shape, dtype), shape)];
      // Lazily broadcast input: keep it lazy if the reshape only inserts/removes unit dims.
      const inNon = inShape.map((d, i) => [d, i]).filter(([d]) => d !== 1);
      const outNon = shape.map((d, i) => [d, i]).filter(([d]) => d !== 1);
      if (inNon.length === outNon.length && inNon.every(([d], i) => d === outNon[i][0])) {
        const ashape = shape.map(() => 1);
        outNon.forEach(([, j], i) => (ashape[j] = t.ashape[inNon[i][1]]));
        return [tensorVal(L.reshape(t.name, ashape, dtype), ashape)];
      }
      if (prod(t.ashape) === 1) return [tensorVal(L.reshape(t.name, [], dtype), [])];
      return [tensorVal(L.reshape(L.full(t, inShape, dtype), shape, dtype), shape)];
    }

    case 'flip': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      const inShape = shapeOf(ins[0]);
      const t = L.aligned(L.tensorOfAtom(ins[0], dtype), inShape.length, dtype);
      const axes = (eqn.params.axis as number[]).filter((ax) => t.ashape[ax] > 1);
      return [
        asVal(
          L.slice(
            t,
            axes,
            axes.map((ax) => t.ashape[ax] - 1),
            axes.map((ax) => -t.ashape[ax] - 1),
            dtype,
            axes.map(() => -1),
          ),
        ),
      ];
    }

    case 'shrink': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      const slice = eqn.params.slice as [number, number][];
      const inShape = shapeOf(ins[0]);
      const t = L.aligned(L.tensorOfAtom(ins[0], dtype), inShape.length, dtype);
      const axes = inShape.map((_, i) => i).filter((i) => t.ashape[i] > 1);
      const s = L.slice(
        t,
        axes,
        axes.map((i) => slice[i][0]),
        axes.map((i) => slice[i][1]),
        dtype,
      );
      // Broadcast dims stay size 1.
      return [asVal(s)];
    }

    case 'pad': {
      const v = L.valOf(ins[0]);
      if (v.kind === 'zero') return [ZERO];
      const width = eqn.params.width as [number, number][];
      const inShape = shapeOf(ins[0]);
      let t: TensorRef = { name: L.fullOfAtom(ins[0], dtype), ashape: inShape };
      const axes = inShape.map((_, i) => i);
      t = L.slice(
        t,
        axes,
        width.map(([lo]) => Math.max(0, -lo)),
        width.map(([, hi], i) => inShape[i] - Math.max(0, -hi)),
        dtype,
      );
      t = L.pad(
        t,
        width.map(([lo]) => Math.max(0, lo)),
        width.map(([, hi]) => Math.max(0, hi)),
        dtype,
      );
      return [asVal(t)];
    }

    case 'concatenate': {
      const axis = eqn.params.axis as number;
      // jax-js concatenates many arrays as a chain of concats: flatten it into one Concat.
      const names = ins.flatMap((a) => {
        const n = L.fullOfAtom(a, dtype);
        const inner = L.concatSource.get(n);
        return inner && inner.axis === axis ? inner.inputs : [n];
      });
      const name = b.op('Concat', names, shapeOf(out), dtype, { axis });
      L.concatSource.set(name, { inputs: names, axis });
      return [tensorVal(name, shapeOf(out))];
    }

    case 'split': {
      const v = L.valOf(ins[0]);
      const axis = eqn.params.axis as number;
      const sizes = eqn.params.sizes as number[];
      if (v.kind === 'zero') return sizes.map(() => ZERO);
      const inShape = shapeOf(ins[0]);
      const t = L.aligned(L.tensorOfAtom(ins[0], dtype), inShape.length, dtype);
      if (t.ashape[axis] === 1 && inShape[axis] !== 1) {
        return sizes.map(() => asVal(t)); // broadcast along the split axis
      }
      const names = b.node('Split', [t.name, b.int64s(sizes)], { axis }, sizes.length);
      return names.map((n, i) => {
        const ashape = t.ashape.map((d, j) => (j === axis ? sizes[i] : d));
        b.shapes.set(n, ashape);
        b.dtypes.set(n, dtype);
        return tensorVal(n, ashape);
      });
    }

    case 'gather':
      return [lowerGather(L, eqn)];

    case 'random_bits':
      throw new Error(
        `jaxprToOnnx: random_bits ${paramsString(eqn.params)} cannot be compiled to ONNX; ` +
          'generate random numbers (e.g. dropout masks) outside and pass them in as inputs',
      );

    default:
      throw unsupported(eqn);
  }
}

function tensorVal(name: string, ashape: number[]): Val {
  return { kind: 'tensor', name, ashape };
}

function asVal(t: TensorRef): Val {
  return { kind: 'tensor', name: t.name, ashape: t.ashape };
}

const PRIORITY: ElemType[] = ['bool', 'uint32', 'int32', 'int64', 'float16', 'float32', 'float64'];

/** dtype two operands are compared in: the non-literal's, else the wider one. */
function commonDtype(x: Atom, y: Atom): ElemType {
  const dx = dtypeOf(x);
  const dy = dtypeOf(y);
  if (dx === dy) return dx;
  if (isLit(x) || x.aval.weakType) return dy;
  if (isLit(y) || y.aval.weakType) return dx;
  return PRIORITY.indexOf(dx) > PRIORITY.indexOf(dy) ? dx : dy;
}

function lowerBinary(L: Lowering, eqn: Eqn): Val {
  const prim = eqn.primitive as string;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const [x, y] = eqn.inputs;
  const xv = L.valOf(x);
  const yv = L.valOf(y);
  const b = L.b;
  if (prim === 'add') {
    if (xv.kind === 'zero' && yv.kind === 'zero') return ZERO;
    if (xv.kind === 'zero') return asVal(L.tensor(yv, dtypeOf(y), dtype));
    if (yv.kind === 'zero') return asVal(L.tensor(xv, dtypeOf(x), dtype));
  }
  if (prim === 'mul' && (xv.kind === 'zero' || yv.kind === 'zero')) return ZERO;
  const isFloatOut = dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
  if (prim === 'max' && isFloatOut && (xv.kind === 'zero' || yv.kind === 'zero')) {
    // max(x, 0): Relu (fuses into a preceding Conv in onnxruntime).
    const t = xv.kind === 'zero' ? L.tensor(yv, dtypeOf(y), dtype) : L.tensor(xv, dtypeOf(x), dtype);
    return tensorVal(b.op('Relu', [t.name], t.ashape, dtype), t.ashape);
  }
  if (prim === 'add' && isFloatOut && L.options.distribute) {
    const joined = foldComboAdd(L, x, y, shapeOf(out), dtype) ?? foldComboAdd(L, y, x, shapeOf(out), dtype);
    if (joined) return joined;
  }
  if (prim === 'add' && isFloatOut) {
    const fused = foldConvBias(L, x, y, dtype) ?? foldConvBias(L, y, x, dtype);
    if (fused) return fused;
  }
  const xt0 = L.tensor(xv, dtypeOf(x), dtype);
  const yt0 = L.tensor(yv, dtypeOf(y), dtype);
  const ashape = broadcastShapes(xt0.ashape, yt0.ashape);
  const [xt, yt] = L.elementwiseInputs([xt0, yt0], ashape, [dtype, dtype]);
  const bin = (op: string, attrs = {}) => tensorVal(b.op(op, [xt.name, yt.name], ashape, dtype, attrs), ashape);
  const isBool = dtype === 'bool';
  const isFloat = dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
  switch (prim) {
    case 'add':
      return bin(isBool ? 'Or' : 'Add');
    case 'mul':
      return bin(isBool ? 'And' : 'Mul');
    case 'max':
      return bin(isBool ? 'Or' : 'Max');
    case 'min':
      return bin(isBool ? 'And' : 'Min');
    case 'mod':
      return bin('Mod', { fmod: 1 });
    case 'idiv': {
      const q = b.op('Div', [xt.name, yt.name], ashape, dtype);
      if (!isFloat) return tensorVal(q, ashape);
      // jax-js idiv truncates toward zero.
      const neg = b.op('Less', [q, b.scalar(dtype, 0)], ashape, 'bool');
      const c = b.op('Ceil', [q], ashape, dtype);
      const f = b.op('Floor', [q], ashape, dtype);
      return tensorVal(b.op('Where', [neg, c, f], ashape, dtype), ashape);
    }
  }
  throw unsupported(eqn);
}

/** conv(x, w) + bias[1, O, 1, …] → Conv(x, w, bias) when the conv result has no other use. */
function foldConvBias(L: Lowering, convAtom: Atom, biasAtom: Atom, dtype: ElemType): Val | null {
  if (isLit(convAtom) || L.uses.get(convAtom as Var) !== 1) return null;
  const cv = L.valOf(convAtom);
  if (cv.kind !== 'tensor' || dtypeOf(convAtom) !== dtype || dtypeOf(biasAtom) !== dtype) return null;
  const vconv = L.vmappedConvs.get(cv.name);
  if (vconv) return foldVmappedConvBias(L, cv, vconv, biasAtom, dtype);
  const conv = L.convNodes.get(cv.name);
  if (!conv || !arraysEqual(cv.ashape, conv.outShape)) return null;
  const bv = L.valOf(biasAtom);
  if (bv.kind !== 'tensor') return null;
  const rank = conv.outShape.length;
  if (bv.ashape.length > rank) return null;
  const bt = L.aligned({ name: bv.name, ashape: bv.ashape }, rank, dtype);
  const O = conv.outShape[1];
  if (!bt.ashape.every((d, i) => (i === 1 ? d === O : d === 1))) return null;
  const bias = L.reshape(bt.name, [O], dtype);
  const y = L.b.op('Conv', [conv.x, conv.w, bias], conv.outShape, dtype, conv.attrs);
  return tensorVal(y, conv.outShape);
}

/** The same for a vmapped conv ([V…, N, O, …]) and a per-point bias [V…, 1, O, 1, …]. */
function foldVmappedConvBias(
  L: Lowering,
  cv: { name: string; ashape: number[] },
  vconv: { vShape: number[]; O: number; withBias: (biasFlat: string) => TensorRef | null },
  biasAtom: Atom,
  dtype: ElemType,
): Val | null {
  const bv = L.valOf(biasAtom);
  if (bv.kind !== 'tensor') return null;
  const rank = cv.ashape.length;
  if (bv.ashape.length > rank) return null;
  const bt = L.aligned({ name: bv.name, ashape: bv.ashape }, rank, dtype);
  const V = vconv.vShape.length;
  const ok = bt.ashape.every((d, i) => (i < V ? d === vconv.vShape[i] : i === V + 1 ? d === vconv.O : d === 1));
  if (!ok) return null;
  const r = vconv.withBias(L.reshape(bt.name, [prod(vconv.vShape) * vconv.O], dtype));
  return r ? { kind: 'tensor', ...r } : null;
}

function lowerCompare(L: Lowering, eqn: Eqn): Val {
  const [x, y] = eqn.inputs;
  let ct = commonDtype(x, y);
  const op = eqn.params.op as string;
  if (ct === 'bool' && op !== 'equal' && op !== 'not_equal') ct = 'int32';
  const xt0 = L.tensorOfAtom(x, ct);
  const yt0 = L.tensorOfAtom(y, ct);
  const ashape = broadcastShapes(xt0.ashape, yt0.ashape);
  const [xt, yt] = L.elementwiseInputs([xt0, yt0], ashape, [ct, ct]);
  const b = L.b;
  const cmp = (o: string) => b.op(o, [xt.name, yt.name], ashape, 'bool');
  let name: string;
  switch (op) {
    case 'less':
      name = cmp('Less');
      break;
    case 'less_equal':
      name = cmp('LessOrEqual');
      break;
    case 'equal':
      name = cmp('Equal');
      break;
    case 'not_equal':
      name = b.op('Not', [cmp('Equal')], ashape, 'bool');
      break;
    default:
      throw unsupported(eqn);
  }
  return tensorVal(name, ashape);
}

function lowerReduce(L: Lowering, eqn: Eqn): Val {
  const [x] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const op = String(eqn.params.op);
  const axis = eqn.params.axis as number[];
  const v = L.valOf(x);
  if (v.kind === 'zero') return ZERO;
  const inShape = shapeOf(x);
  if (axis.length === 0) return asVal(L.tensorOfAtom(x, dtype));
  const b = L.b;
  const work: ElemType = dtype === 'bool' ? 'int32' : dtype;
  let t = L.aligned(L.tensorOfAtom(x, work), inShape.length, work);
  // Reducing over a broadcast (size-1) dim: Max/Min are unaffected, Add scales, Mul needs data.
  let factor = 1;
  const lazyAxes = axis.filter((ax) => t.ashape[ax] === 1 && inShape[ax] !== 1);
  if (lazyAxes.length > 0) {
    if (op === 'Add' && dtype !== 'bool') factor = prod(lazyAxes.map((ax) => inShape[ax]));
    else if (op === 'Mul') t = { name: L.full(t, inShape, work), ashape: inShape };
  }
  const onnx =
    dtype === 'bool'
      ? { Add: 'ReduceMax', Max: 'ReduceMax', Mul: 'ReduceMin', Min: 'ReduceMin' }[op]
      : { Add: 'ReduceSum', Mul: 'ReduceProd', Max: 'ReduceMax', Min: 'ReduceMin' }[op];
  if (!onnx) throw unsupported(eqn);
  const ashape = t.ashape.filter((_, i) => !axis.includes(i));
  const realAxes = axis.filter((ax) => t.ashape[ax] !== 1);
  let name: string;
  const pooled = factor === 1 && dtype !== 'bool' ? reduceByPool(L, t, axis, op, ashape, work) : null;
  if (pooled) {
    name = pooled;
  } else if (realAxes.length === 0) {
    name = L.reshape(t.name, ashape, work);
  } else {
    name = b.op(onnx, [t.name, b.int64s([...axis].sort((p, q) => p - q))], ashape, work, { keepdims: 0 });
  }
  if (factor !== 1) name = b.op('Mul', [name, b.scalar(work, factor)], ashape, work);
  if (dtype === 'bool') name = b.op('Cast', [name], ashape, 'bool', { to: castCode('bool') });
  return tensorVal(name, ashape);
}

/**
 * Max / sum over small interleaved window axes ([..., H, 2, W, 2] reduced over the 2s: pooling
 * written as reshape + reduce) as MaxPool / AveragePool, which onnxruntime runs ~4x faster than
 * ReduceMax / ReduceSum over non-trailing axes. Sums use power-of-two windows only, so that
 * average × count is exactly the sum.
 */
function reduceByPool(L: Lowering, t: TensorRef, axis: number[], op: string, outAshape: number[], dtype: ElemType): string | null {
  if (op !== 'Max' && op !== 'Add') return null;
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') return null;
  if (prod(t.ashape) < 16384) return null;
  const groups: { reduced: boolean; size: number }[] = [];
  t.ashape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axis.includes(i);
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else groups.push({ reduced, size: d });
  });
  const pattern = groups.map((g) => (g.reduced ? 'X' : 'K')).join('');
  // (a reduction over trailing axes only is fast as it is)
  if (pattern !== 'KXKX' || groups[1].size > 16 || groups[3].size > 16) return null;
  const inShape = [1, 1, groups[0].size * groups[1].size, groups[2].size * groups[3].size];
  const kernel = [groups[1].size, groups[3].size];
  const count = kernel[0] * kernel[1];
  if (op === 'Add' && (count & (count - 1)) !== 0) return null;
  const b = L.b;
  const x = L.reshape(t.name, inShape, dtype);
  const poolShape = [1, 1, inShape[2] / kernel[0], inShape[3] / kernel[1]];
  let y = b.op(op === 'Max' ? 'MaxPool' : 'AveragePool', [x], poolShape, dtype, { kernel_shape: kernel, strides: kernel });
  if (op === 'Add') y = b.op('Mul', [y, b.scalar(dtype, count)], poolShape, dtype);
  return L.reshape(y, outAshape, dtype);
}

function lowerGather(L: Lowering, eqn: Eqn): Val {
  const [x, ...indices] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const axis = eqn.params.axis as number[];
  const outDim = eqn.params.outDim as number;
  const xs = shapeOf(x);
  const outShape = shapeOf(out);
  const b = L.b;
  const v = L.valOf(x);
  if (v.kind === 'zero') return ZERO;
  const xt: TensorRef = { name: L.fullOfAtom(x, dtype), ashape: xs };
  const idxShape = broadcastShapes(...indices.map(shapeOf));
  const ni = idxShape.length;
  const rest = xs.map((_, i) => i).filter((i) => !axis.includes(i));
  const idx = indices.map((a) => {
    const full = L.full(L.tensorOfAtom(a, 'int64'), idxShape, 'int64');
    return full;
  });
  let gathered: string;
  let gShape: number[]; // [...idxShape, ...rest dims]
  if (indices.length === 1) {
    // Gather puts the index dims at `axis`; move x's axis to the front first.
    const perm = [axis[0], ...rest];
    const xp = L.transpose(xt, perm, dtype);
    gShape = [...idxShape, ...rest.map((i) => xs[i])];
    gathered = b.op('Gather', [xp.name, idx[0]], gShape, dtype, { axis: 0 });
  } else {
    const perm = [...axis, ...rest];
    const xp = L.transpose(xt, perm, dtype);
    const stackedShape = [...idxShape, indices.length];
    const parts = idx.map((n) => L.reshape(n, [...idxShape, 1], 'int64'));
    const stacked = b.op('Concat', parts, stackedShape, 'int64', { axis: ni });
    gShape = [...idxShape, ...rest.map((i) => xs[i])];
    gathered = b.op('GatherND', [xp.name, stacked], gShape, dtype);
  }
  // Move the index dims to `outDim`.
  const nr = rest.length;
  const perm = [
    ...Array.from({ length: outDim }, (_, i) => ni + i),
    ...Array.from({ length: ni }, (_, i) => i),
    ...Array.from({ length: nr - outDim }, (_, i) => ni + outDim + i),
  ];
  const t = L.transpose({ name: gathered, ashape: gShape }, perm, dtype);
  if (!arraysEqual(t.ashape, outShape)) throw unsupported(eqn, `shape mismatch ${t.ashape} vs ${outShape}`);
  return asVal(t);
}
