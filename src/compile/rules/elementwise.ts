/**
 * Lowering rules for elementwise primitives: the unary table, binary arithmetic (add, mul, min,
 * max, idiv, mod), compare, where, cast, erfc, bit_combine and stop_gradient.
 *
 * Operands stay lazily broadcast (ONNX broadcasts natively); symbolic zeros fold away (x + 0,
 * x · 0, where(c, 0, 0), …). Rewrites on the way, exact up to float rounding: max(x, 0) → Relu;
 * a per-channel add after a bias-free Conv → the Conv's bias (onnxruntime then fuses
 * Conv + bias + Relu); an add that joins a stacked linear combination (combo.ts); where(mask,
 * 0, t) with a mask computed once per prefix run → t · float(mask).
 */

import type { ElemType } from '../graph-builder.js';
import {
  type Atom,
  arraysEqual,
  asVal,
  broadcastShapes,
  castCode,
  dtypeOf,
  type Eqn,
  isLit,
  type Lowering,
  type LoweringRule,
  prod,
  shapeOf,
  type TensorRef,
  tensorVal,
  unsupported,
  type Val,
  type Var,
  ZERO,
} from '../lowering.js';
import { foldComboAdd } from './combo.js';

/** Unary primitives that are one ONNX op of the same name. */
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

function unary(prim: string, onnx: string): LoweringRule {
  return (L, eqn) => {
    const dtype = dtypeOf(eqn.outBinders[0]);
    const v = L.valOf(eqn.inputs[0]);
    if (v.kind === 'zero' && ZERO_PRESERVING.has(prim)) return [ZERO];
    const t = L.tensorOfAtom(eqn.inputs[0], dtype);
    return [tensorVal(L.b.op(onnx, [t.name], t.ashape, dtype), t.ashape)];
  };
}

function lowerCast(L: Lowering, eqn: Eqn): Val[] {
  const v = L.valOf(eqn.inputs[0]);
  if (v.kind === 'zero') return [ZERO];
  return [asVal(L.tensorOfAtom(eqn.inputs[0], dtypeOf(eqn.outBinders[0])))];
}

/** erfc(x) = 1 − erf(x). */
function lowerErfc(L: Lowering, eqn: Eqn): Val[] {
  const dtype = dtypeOf(eqn.outBinders[0]);
  const t = L.tensorOfAtom(eqn.inputs[0], dtype);
  const e = L.b.op('Erf', [t.name], t.ashape, dtype);
  return [tensorVal(L.b.op('Sub', [L.b.scalar(dtype, 1), e], t.ashape, dtype), t.ashape)];
}

function lowerBitCombine(L: Lowering, eqn: Eqn): Val[] {
  const dtype = dtypeOf(eqn.outBinders[0]);
  const op = eqn.params.op as string;
  const onnx = dtype === 'bool' ? { and: 'And', or: 'Or', xor: 'Xor' }[op] : { and: 'BitwiseAnd', or: 'BitwiseOr', xor: 'BitwiseXor' }[op];
  if (!onnx) throw unsupported(eqn);
  const [x, y] = eqn.inputs.map((a) => L.tensorOfAtom(a, dtype));
  return [tensorVal(L.b.op(onnx, [x.name, y.name], broadcastShapes(x.ashape, y.ashape), dtype), broadcastShapes(x.ashape, y.ashape))];
}

function lowerWhere(L: Lowering, eqn: Eqn): Val[] {
  const dtype = dtypeOf(eqn.outBinders[0]);
  const b = L.b;
  const [c, x, y] = eqn.inputs;
  const xv = L.valOf(x);
  const yv = L.valOf(y);
  if (xv.kind === 'zero' && yv.kind === 'zero') return [ZERO];
  const isFloat = dtype === 'float32' || dtype === 'float64';
  if (isFloat && (xv.kind === 'zero' || yv.kind === 'zero') && L.invariant(c) && !L.invariant(xv.kind === 'zero' ? y : x)) {
    // where(mask, 0, t) with a mask fixed per prefix run (ReLU / max-pool masks of the primal
    // pass in an HVP): t · float(mask), the mask cast once in the prefix; Mul is much
    // faster than Where in onnxruntime. Same values for finite t.
    const keep = xv.kind === 'zero' ? b.op('Not', [L.tensorOfAtom(c, 'bool').name], L.tensorOfAtom(c, 'bool').ashape, 'bool') : L.tensorOfAtom(c, 'bool').name;
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

function lowerBinary(L: Lowering, eqn: Eqn): Val[] {
  return [binary(L, eqn)];
}

function binary(L: Lowering, eqn: Eqn): Val {
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

function lowerCompare(L: Lowering, eqn: Eqn): Val[] {
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
  return [tensorVal(name, ashape)];
}

export const elementwiseRules: Record<string, LoweringRule> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([prim, onnx]) => [prim, unary(prim, onnx)])),
  stop_gradient: (L, eqn) => [L.valOf(eqn.inputs[0])],
  cast: lowerCast,
  erfc: lowerErfc,
  add: lowerBinary,
  mul: lowerBinary,
  min: lowerBinary,
  max: lowerBinary,
  idiv: lowerBinary,
  mod: lowerBinary,
  bit_combine: lowerBitCombine,
  compare: lowerCompare,
  where: lowerWhere,
};
