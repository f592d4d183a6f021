/**
 * Lowering of jax-js `conv`, `pool` and `pool_transpose`.
 *
 * conv (lax.conv_general_dilated): lhs [*V, N, C, ...spatial], rhs [*V, O, C, ...kernel],
 * params { vmapDims V, strides, padding [lo, hi] (may be negative), lhsDilation, rhsDilation }.
 * - vmap dims: folded into the batch (only lhs batched), into the output channels (only rhs
 *   batched) or into channel groups (both batched, `group` = prod(V)).
 * - negative padding: Slice of the input; positive padding: Conv pads.
 * - lhsDilation > 1 (input gradients of strided convs): ConvTranspose when the conv has unit
 *   strides and non-negative equivalent pads, else explicit zero insertion + Conv. Unit-stride
 *   convs padded beyond 'same' (input gradients of stride-1 convs) also become ConvTranspose,
 *   which onnxruntime runs 3-6x faster than the equivalent padded Conv.
 * - weight-gradient convs (batch and channels swapped by jax-js's transpose rule) are plain
 *   convs for ONNX.
 *
 * pool { window, strides }: x [..., spatial] -> [..., out..., window...]: Reshape/Transpose when
 * windows do not overlap, strided Slices + Concat otherwise. pool_transpose is its adjoint.
 */

import type { ElemType } from '../graph-builder.js';
import {
  type Atom,
  broadcastShapes,
  dtypeOf,
  type Eqn,
  isLit,
  type Lowering,
  type LoweringRule,
  prod,
  shapeOf,
  type TensorRef,
  type Val,
  type Var,
  ZERO,
} from '../lowering.js';
import { NODE_COST, rootKey, stackedCombination } from './dot.js';

interface ConvParams {
  vmapDims: number;
  strides: number[];
  padding: [number, number][];
  lhsDilation: number[];
  rhsDilation: number[];
}

function lowerConv(L: Lowering, eqn: Eqn): Val {
  const [xa, wa] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const p = eqn.params as ConvParams;
  const V = p.vmapDims;
  const xVal = L.valOf(xa);
  const wVal = L.valOf(wa);
  if (xVal.kind === 'zero' || wVal.kind === 'zero') return ZERO;
  const outShape = shapeOf(out);
  const xs = shapeOf(xa);
  const ws = shapeOf(wa);
  const xt = L.aligned(L.tensor(xVal, dtypeOf(xa), dtype), xs.length, dtype);
  const conv = (wt: TensorRef) => convWith(L, xt, wt, xs, ws, outShape, p, dtype);

  if (V > 0 && L.options.distribute) {
    const plan = planConvSplit(L, xa, xt, wa, ws, outShape, p, dtype);
    if (plan) {
      const parts = plan.map((t) => ({
        t: conv(L.aligned(L.tensorOfAtom(t.src, dtype), ws.length, dtype)),
        sign: t.sign,
        coefs: t.coefs.map((c) => {
          const ct = L.aligned(L.tensorOfAtom(c, dtype), ws.length, dtype);
          const ashape = [...ct.ashape.slice(0, V), 1, ct.ashape[V], ...outShape.slice(V + 2).map(() => 1)];
          return { name: L.reshape(ct.name, ashape, dtype), ashape };
        }),
        roots: rootKey(L, t.coefs),
      }));
      if (parts.length === 0) return ZERO;
      const stacked = stackedCombination(L, parts, outShape, dtype);
      if (stacked) return { kind: 'tensor', ...stacked };
      return { kind: 'tensor', ...sumTerms(L, parts, dtype) };
    }
  }
  const wt = L.aligned(L.tensor(wVal, dtypeOf(wa), dtype), ws.length, dtype);
  return { kind: 'tensor', ...conv(wt) };
}

interface ConvTerm {
  src: Atom;
  sign: number;
  coefs: Atom[];
}

/**
 * Distribute a vmapped conv over a kernel that is a (scaled) sum whose terms are not batched
 * over the vmap dims (the plane's K + a_k D1 + b_k D2): conv(x, K) + a_k conv(x, D1) + …, with
 * coefficients varying only along the vmap dims and output channels. Null when not cheaper.
 */
function planConvSplit(L: Lowering, xa: Atom, xt: TensorRef, wa: Atom, ws: number[], outShape: number[], p: ConvParams, dtype: ElemType): ConvTerm[] | null {
  const V = p.vmapDims;
  const wRank = ws.length;
  const xReal = xt.ashape.slice(0, V).map((d) => d > 1);
  const inner = prod(outShape.slice(V)) * prod(ws.slice(V + 1));
  const outInner = prod(outShape.slice(V));
  const vmapMask = (a: Atom): boolean[] | 'zero' => {
    const v = L.valOf(a);
    if (v.kind === 'zero') return 'zero';
    const sh = shapeOf(a);
    const off = wRank - sh.length;
    const act = v.ashape.length === sh.length ? v.ashape : [...Array(sh.length - v.ashape.length).fill(1), ...v.ashape];
    return Array.from({ length: V }, (_, i) => i - off >= 0 && act[i - off] > 1);
  };
  const xInvariant = L.invariant(xa);
  const cost = (mask: boolean[], term?: Atom) => {
    // with hoisting, a conv of two invariant operands is computed once, not per call
    if (term && xInvariant && L.invariant(term)) return NODE_COST;
    let c = inner;
    for (let i = 0; i < V; i++) if (mask[i] || xReal[i]) c *= outShape[i];
    return c + NODE_COST;
  };
  const wMask = vmapMask(wa);
  if (wMask === 'zero') return null;
  let outElems = outInner;
  for (let i = 0; i < V; i++) if (wMask[i] || xReal[i]) outElems *= outShape[i];
  const baseCost = cost(wMask);

  const plan = (a: Atom, depth: number): { cost: number; terms: ConvTerm[] } => {
    const mask = vmapMask(a);
    if (mask === 'zero') return { cost: 0, terms: [] };
    let best = { cost: cost(mask, a), terms: [{ src: a, sign: 1, coefs: [] as Atom[] }] };
    if (depth <= 0 || isLit(a)) return best;
    const eqn = L.producers.get(a as Var);
    if (!eqn || dtypeOf(eqn.outBinders[0]) !== dtype || eqn.inputs.some((x) => dtypeOf(x) !== dtype)) return best;
    const [u, w] = eqn.inputs;
    const consider = (c: { cost: number; terms: ConvTerm[] }) => {
      if (c.cost < best.cost) best = c;
    };
    if (eqn.primitive === 'add') {
      const pu = plan(u, depth - 1);
      const pw = plan(w, depth - 1);
      const terms = [...pu.terms, ...pw.terms];
      consider({ cost: pu.cost + pw.cost + (terms.length > 1 ? outElems : 0), terms });
    } else if (eqn.primitive === 'neg') {
      const pu = plan(u, depth - 1);
      consider({ cost: pu.cost, terms: pu.terms.map((t) => ({ ...t, sign: -t.sign })) });
    } else if (eqn.primitive === 'mul') {
      for (const [c, d] of [
        [u, w],
        [w, u],
      ]) {
        // The coefficient may vary along the vmap dims and the output channels only.
        const cs = shapeOf(c);
        const off = wRank - cs.length;
        if (!cs.every((n, j) => n === 1 || j + off <= V)) continue;
        const pd = plan(d, depth - 1);
        consider({
          cost: pd.cost + pd.terms.length * outElems,
          terms: pd.terms.map((t) => ({ ...t, coefs: [...t.coefs, c] })),
        });
      }
    }
    return best;
  };
  const best = plan(wa, 8);
  if (best.terms.length === 0) return [];
  return best.cost < baseCost ? best.terms : null;
}

function sumTerms(L: Lowering, parts: { t: TensorRef; sign: number; coefs: TensorRef[] }[], dtype: ElemType): TensorRef {
  let acc: TensorRef | null = null;
  let accSign = 1;
  for (const pr of parts) {
    let t = pr.t;
    for (const ct of pr.coefs) {
      const ashape = broadcastShapes(t.ashape, ct.ashape);
      t = { name: L.b.op('Mul', [t.name, ct.name], ashape, dtype), ashape };
    }
    if (!acc) {
      acc = t;
      accSign = pr.sign;
    } else {
      const ashape = broadcastShapes(acc.ashape, t.ashape);
      acc = { name: L.b.op(pr.sign === accSign ? 'Add' : 'Sub', [acc.name, t.name], ashape, dtype), ashape };
    }
  }
  const res = acc!;
  return accSign < 0 ? { name: L.b.op('Neg', [res.name], res.ashape, dtype), ashape: res.ashape } : res;
}

/** conv for aligned (possibly lazily broadcast) operand tensors. */
function convWith(L: Lowering, xt: TensorRef, wt: TensorRef, xs: number[], ws: number[], outShape: number[], p: ConvParams, dtype: ElemType): TensorRef {
  const V = p.vmapDims;
  const vShape = outShape.slice(0, V);
  const Vp = prod(vShape);
  const [N, C] = xs.slice(V, V + 2);
  const O = ws[V];
  const sp = xs.slice(V + 2);
  const ks = ws.slice(V + 2);
  const outSp = outShape.slice(V + 2);
  const xBatched = V > 0 && xt.ashape.slice(0, V).some((d) => d > 1);
  const wBatched = V > 0 && wt.ashape.slice(0, V).some((d) => d > 1);
  const xInner = [...xs.slice(V)];
  const wInner = [...ws.slice(V)];
  const fullX = (withV: boolean) => L.full(xt, withV ? [...vShape, ...xInner] : [...xt.ashape.slice(0, V), ...xInner], dtype);
  const fullW = (withV: boolean) => L.full(wt, withV ? [...vShape, ...wInner] : [...wt.ashape.slice(0, V), ...wInner], dtype);

  if (isDepthwise(V, C, O, ks, p))
    return depthwiseTaps(L, fullX(xBatched), fullW(wBatched), xBatched ? Vp : 1, wBatched ? Vp : 1, N, sp, ks, outShape, p, dtype);
  if (!xBatched && !wBatched) {
    const x4 = L.reshape(fullX(false), [N, C, ...sp], dtype);
    const w4 = L.reshape(fullW(false), [O, C, ...ks], dtype);
    const r = convCore(L, x4, w4, 1, p, [N, C, ...sp], [O, C, ...ks], dtype);
    const ashape = [...Array(V).fill(1), N, O, ...outSp];
    return { name: L.reshape(r, ashape, dtype), ashape };
  }
  if (xBatched && !wBatched) {
    const x4 = L.reshape(fullX(true), [Vp * N, C, ...sp], dtype);
    const w4 = L.reshape(fullW(false), [O, C, ...ks], dtype);
    const r = convCore(L, x4, w4, 1, p, [Vp * N, C, ...sp], [O, C, ...ks], dtype);
    return { name: L.reshape(r, outShape, dtype), ashape: outShape };
  }
  if (xBatched && L.hoisting && Vp <= MAX_SPLIT_POINTS) {
    // Both batched (a plane's deeper layers): one plain Conv per grid point on contiguous
    // slices of [Vp, N, …]. onnxruntime runs these faster than one grouped Conv with the grid
    // axis in the channels, and no transposes are needed around them.
    const xs5 = [Vp, N, C, ...sp];
    const ws5 = [Vp, O, C, ...ks];
    const xv = L.reshape(fullX(true), xs5, dtype);
    const wv = L.reshape(fullW(true), ws5, dtype);
    const xParts = L.b.node('Split', [xv, L.b.int64s(Array(Vp).fill(1))], { axis: 0 }, Vp);
    const wParts = L.b.node('Split', [wv, L.b.int64s(Array(Vp).fill(1))], { axis: 0 }, Vp);
    const ins = xParts.map((xp, v) => {
      L.b.shapes.set(xp, [1, N, C, ...sp]);
      L.b.dtypes.set(xp, dtype);
      L.b.shapes.set(wParts[v]!, [1, O, C, ...ks]);
      L.b.dtypes.set(wParts[v]!, dtype);
      return { x: L.reshape(xp, [N, C, ...sp], dtype), w: L.reshape(wParts[v]!, [O, C, ...ks], dtype) };
    });
    const assemble = (ys: string[]): TensorRef => {
      const parts = ys.map((y) => L.reshape(y, [1, N, O, ...outSp], dtype));
      // [Vp, N, O, ...] has several vmap dims folded into Vp when V > 1 (e.g. grid points × channel groups)
      const cat = L.b.op('Concat', parts, [Vp, N, O, ...outSp], dtype, { axis: 0 });
      return { name: L.reshape(cat, outShape, dtype), ashape: outShape };
    };
    const ys = ins.map(({ x, w }) => convCore(L, x, w, 1, p, [N, C, ...sp], [O, C, ...ks], dtype));
    const res = assemble(ys);
    L.vmappedConvs.set(res.name, {
      vShape,
      O,
      withBias: (bias) => {
        const nodes = ys.map((y) => L.convNodes.get(y));
        if (nodes.some((n) => !n)) return null;
        const bs = L.b.node('Split', [L.reshape(bias, [Vp, O], dtype), L.b.int64s(Array(Vp).fill(1))], { axis: 0 }, Vp);
        return assemble(
          nodes.map((n, v) => {
            L.b.shapes.set(bs[v]!, [1, O]);
            L.b.dtypes.set(bs[v]!, dtype);
            return L.b.op('Conv', [n!.x, n!.w, L.reshape(bs[v]!, [O], dtype)], n!.outShape, dtype, n!.attrs);
          }),
        );
      },
    });
    return res;
  }
  // Output channels carry the vmap dims: [N, Vp*O, ...] -> [Vp, N, O, ...].
  let x4: string;
  let group = 1;
  let cin = C;
  if (xBatched) {
    const xv = L.reshape(fullX(true), [Vp, N, C, ...sp], dtype);
    const xtT = L.transpose({ name: xv, ashape: [Vp, N, C, ...sp] }, [1, 0, 2, ...sp.map((_, i) => i + 3)], dtype);
    x4 = L.reshape(xtT.name, [N, Vp * C, ...sp], dtype);
    group = Vp;
    cin = Vp * C;
  } else {
    x4 = L.reshape(fullX(false), [N, C, ...sp], dtype);
  }
  const w4 = L.reshape(fullW(true), [Vp * O, C, ...ks], dtype);
  const r = convCore(L, x4, w4, group, p, [N, cin, ...sp], [Vp * O, C, ...ks], dtype);
  const back = (y: string): TensorRef => {
    const r5 = L.reshape(y, [N, Vp, O, ...outSp], dtype);
    const rt = L.transpose({ name: r5, ashape: [N, Vp, O, ...outSp] }, [1, 0, 2, ...outSp.map((_, i) => i + 3)], dtype);
    return { name: L.reshape(rt.name, outShape, dtype), ashape: outShape };
  };
  const res = back(r);
  L.vmappedConvs.set(res.name, {
    vShape,
    O,
    withBias: (bias) => {
      const conv = L.convNodes.get(r);
      if (!conv || conv.attrs.group !== group) return null;
      return back(L.b.op('Conv', [conv.x, conv.w, bias], conv.outShape, dtype, conv.attrs));
    },
  });
  return res;
}

/**
 * A conv vmapped once with one input and one output channel per vmap instance and a small
 * kernel: a depthwise conv (jax-js vmaps grouped convs over their groups) or its stride-1 input
 * gradient, as in HVP graphs. onnxruntime has no fast kernel for these with weights that are
 * inputs: one Conv per group (up to 64 groups) costs a node per group, and a grouped Conv with
 * one channel per group runs an im2col and a 1-row GEMM per group and image, between two
 * transposes. MobileNetV3-small's HVP: 789 → 665 ms. Plane graphs (grid points × groups, two
 * vmap dims) keep the grouped Conv: the taps measured 12 % slower there (139 → 156 ms/point).
 */
function isDepthwise(V: number, C: number, O: number, ks: number[], p: ConvParams): boolean {
  return (
    V === 1 &&
    C === 1 &&
    O === 1 &&
    ks.length === 2 &&
    prod(ks) <= 49 &&
    p.lhsDilation.every((d) => d === 1) &&
    p.padding.every(([lo, hi]) => lo >= 0 && hi >= 0)
  );
}

/**
 * The depthwise conv as a sum over kernel taps, in the vmapped layout itself (no transposes):
 * y[v, n, i, j] = Σ_(a,b) w[v, a, b] · xpad[v, n, i·s + a·d, j·s + b·d], one strided Slice, Mul
 * and Add per tap over the output; x [Vx, N, 1, ...sp], w [Vw, 1, 1, ...k] (Vx, Vw: Vp or 1).
 */
function depthwiseTaps(
  L: Lowering,
  x: string,
  w: string,
  Vx: number,
  Vw: number,
  N: number,
  sp: number[],
  ks: number[],
  outShape: number[],
  p: ConvParams,
  dtype: ElemType,
): TensorRef {
  const V = p.vmapDims;
  const outSp = outShape.slice(V + 2);
  const x4: TensorRef = { name: L.reshape(x, [Vx, N, ...sp], dtype), ashape: [Vx, N, ...sp] };
  const xp = L.pad(x4, [0, 0, ...p.padding.map(([lo]) => lo)], [0, 0, ...p.padding.map(([, hi]) => hi)], dtype);
  const w2: TensorRef = { name: L.reshape(w, [Vw, 1, prod(ks)], dtype), ashape: [Vw, 1, prod(ks)] };
  const Vo = Math.max(Vx, Vw);
  let acc: string | null = null;
  cartesian(ks).forEach((tap, t) => {
    const starts = tap.map((a, i) => a * p.rhsDilation[i]);
    const win = L.slice(
      xp,
      [2, 3],
      starts,
      starts.map((s0, i) => s0 + (outSp[i] - 1) * p.strides[i] + 1),
      dtype,
      p.strides.some((st) => st !== 1) ? p.strides : undefined,
    );
    const wt = L.slice(w2, [2], [t], [t + 1], dtype);
    const wt4 = L.reshape(wt.name, [Vw, 1, 1, 1], dtype);
    const term = L.b.op('Mul', [win.name, wt4], [Vo, N, ...outSp], dtype);
    acc = acc === null ? term : L.b.op('Add', [acc, term], [Vo, N, ...outSp], dtype);
  });
  const full = L.full({ name: acc!, ashape: [Vo, N, ...outSp] }, [prod(outShape.slice(0, V)), N, ...outSp], dtype);
  return { name: L.reshape(full, outShape, dtype), ashape: outShape };
}

/**
 * Grid points per call up to which a vmapped conv with batched input and kernel runs as one
 * Conv per point (in hoisted plane graphs; elsewhere, e.g. feature groups, one grouped Conv).
 */
const MAX_SPLIT_POINTS = 64;

/**
 * x [N, C, ...sp], w [O, C/group, ...k] -> [N, O, ...out] for the given jax-js conv params
 * (vmapDims ignored).
 */
function convCore(L: Lowering, x: string, w: string, group: number, p: ConvParams, xShape: number[], wShape: number[], dtype: ElemType): string {
  const sp = xShape.slice(2);
  const ks = wShape.slice(2);
  const dk = ks.map((k, i) => (k - 1) * p.rhsDilation[i] + 1);
  const outSp = sp.map((n, i) => {
    const dilated = Math.max((n - 1) * p.lhsDilation[i] + 1, 0);
    const inSize = dilated + p.padding[i][0] + p.padding[i][1];
    return Math.ceil((inSize - dk[i] + 1) / p.strides[i]);
  });
  const outShape = [xShape[0], wShape[0], ...outSp];
  let xt: TensorRef = { name: x, ashape: xShape };
  let pads = p.padding.map(([lo, hi]) => [lo, hi]);

  // Input-gradient convs (unit strides, padding beyond 'same', e.g. the full padding k-1 of a
  // transposed conv) run several times faster as ConvTranspose in onnxruntime.
  const wideUnitStride = p.strides.every((s) => s === 1) && pads.every(([lo, hi], i) => lo >= 0 && hi >= 0 && lo + hi > dk[i] - 1);
  if (p.lhsDilation.some((d) => d !== 1) || wideUnitStride) {
    // ConvTranspose: y[i*s + j*d - pb] += x[i] * W[j]; equivalent pads pb = dk-1-lo, pe = dk-1-hi.
    const pb = pads.map(([lo], i) => dk[i] - 1 - lo);
    const pe0 = pads.map(([, hi], i) => dk[i] - 1 - hi);
    // A negative end pad becomes output_padding (rows past every contribution, i.e. zeros).
    const pe = pe0.map((v) => Math.max(0, v));
    const outPad = pe0.map((v) => Math.max(0, -v));
    const canTranspose =
      p.strides.every((s) => s === 1) &&
      pb.every((v, i) => v >= 0 && v < dk[i]) &&
      pe.every((v, i) => v < dk[i]) &&
      outPad.every((v, i) => v < p.lhsDilation[i]);
    if (canTranspose) {
      const [O, Cg] = wShape;
      const Og = O / group;
      // W_T [C, O/g, ...k] = flip(transpose of w's per-group (O, C) axes).
      const w5 = L.reshape(w, [group, Og, Cg, ...ks], dtype);
      const wT = L.transpose({ name: w5, ashape: [group, Og, Cg, ...ks] }, [0, 2, 1, ...ks.map((_, i) => i + 3)], dtype);
      const w3 = L.reshape(wT.name, [group * Cg, Og, ...ks], dtype);
      const axes = ks.map((_, i) => i + 2).filter((ax) => wShape[ax] > 1);
      const flipped = L.slice(
        { name: w3, ashape: [group * Cg, Og, ...ks] },
        axes,
        axes.map((ax) => wShape[ax] - 1),
        axes.map((ax) => -wShape[ax] - 1),
        dtype,
        axes.map(() => -1),
      );
      return L.b.op('ConvTranspose', [x, flipped.name], outShape, dtype, {
        strides: p.lhsDilation,
        pads: [...pb, ...pe],
        dilations: p.rhsDilation,
        group,
        kernel_shape: ks,
        ...(outPad.some((v) => v > 0) ? { output_padding: outPad } : {}),
      });
    }
    xt = L.dilate(xt, [1, 1, ...p.lhsDilation], dtype);
  }

  // Negative padding: slice the input.
  if (pads.some(([lo, hi]) => lo < 0 || hi < 0)) {
    const axes = sp.map((_, i) => i + 2);
    xt = L.slice(
      xt,
      axes,
      pads.map(([lo]) => Math.max(0, -lo)),
      pads.map(([, hi], i) => xt.ashape[i + 2] - Math.max(0, -hi)),
      dtype,
    );
    pads = pads.map(([lo, hi]) => [Math.max(0, lo), Math.max(0, hi)]);
  }
  const wgg = L.options.weightGradGemm;
  if (wgg && group === 1 && isWeightGradient(outSp, ks) && (wgg === true || prod(outSp) <= wgg)) {
    const padded = L.pad(xt, [0, 0, ...pads.map(([lo]) => lo)], [0, 0, ...pads.map(([, hi]) => hi)], dtype);
    return convAsGemms(L, padded, w, wShape, outSp, p, dtype);
  }
  const attrs = {
    strides: p.strides,
    pads: [...pads.map(([lo]) => lo), ...pads.map(([, hi]) => hi)],
    dilations: p.rhsDilation,
    group,
    kernel_shape: ks,
  };
  const y = L.b.op('Conv', [xt.name, w], outShape, dtype, attrs);
  L.convNodes.set(y, { x: xt.name, w, attrs, outShape });
  return y;
}

/**
 * A conv whose kernel is at least as large as its output, with few output positions: the shape
 * of a weight gradient (jax-js convolves the input with the output gradient, batch and channels
 * swapped). onnxruntime's Conv runs these an order of magnitude below its GEMM speed.
 */
function isWeightGradient(outSp: number[], ks: number[]): boolean {
  return prod(outSp) <= 64 && prod(ks) >= prod(outSp);
}

/**
 * x [N, C, ...sp] (already padded) ⊛ w [O, C, ...k] as one Gemm per output position:
 * y[:, :, q] = window_q(x) [N, C·prod(k)] · w [O, C·prod(k)]ᵀ, windows strided by the
 * kernel dilation and placed by the strides; the [N, O] results concatenated in position order.
 */
function convAsGemms(L: Lowering, x: TensorRef, w: string, wShape: number[], outSp: number[], p: ConvParams, dtype: ElemType): string {
  const [N, C] = x.ashape;
  const O = wShape[0];
  const ks = wShape.slice(2);
  const K = C * prod(ks);
  const w2 = L.reshape(w, [O, K], dtype);
  const axes = ks.map((_, i) => i + 2);
  const cols = cartesian(outSp).map((q) => {
    const starts = q.map((qi, i) => qi * p.strides[i]);
    const win = L.slice(
      x,
      axes,
      starts,
      starts.map((s0, i) => s0 + (ks[i] - 1) * p.rhsDilation[i] + 1),
      dtype,
      p.rhsDilation.some((d) => d !== 1) ? p.rhsDilation : undefined,
    );
    const y = L.b.op('Gemm', [L.reshape(win.name, [N, K], dtype), w2], [N, O], dtype, { transB: 1 });
    return L.reshape(y, [N, O, 1], dtype);
  });
  const y = cols.length === 1 ? cols[0] : L.b.op('Concat', cols, [N, O, cols.length], dtype, { axis: 2 });
  return L.reshape(y, [N, O, ...outSp], dtype);
}

function lowerPool(L: Lowering, eqn: Eqn): Val {
  const [xa] = eqn.inputs;
  const val = L.valOf(xa);
  if (val.kind === 'zero') return ZERO;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const { window, strides } = eqn.params as { window: number[]; strides: number[] };
  const xs = shapeOf(xa);
  const nw = window.length;
  const lead = xs.slice(0, xs.length - nw);
  const sp = xs.slice(xs.length - nw);
  const o = sp.map((n, i) => Math.ceil((n - window[i] + 1) / strides[i]));
  const outShape = shapeOf(out);
  const x: TensorRef = { name: L.fullOfAtom(xa, dtype), ashape: xs };
  const nl = lead.length;

  if (window.every((k, i) => k <= strides[i])) {
    // Non-overlapping: pad/shrink to o*s, split each dim into (o, s), keep the first k of s.
    const axes = sp.map((_, i) => nl + i);
    let t = L.slice(
      x,
      axes,
      axes.map(() => 0),
      sp.map((n, i) => Math.min(n, o[i] * strides[i])),
      dtype,
    );
    t = L.pad(
      t,
      xs.map(() => 0),
      xs.map((n, i) => (i < nl ? 0 : Math.max(0, o[i - nl] * strides[i - nl] - n))),
      dtype,
    );
    const splitShape = [...lead, ...o.flatMap((oi, i) => [oi, strides[i]])];
    t = { name: L.reshape(t.name, splitShape, dtype), ashape: splitShape };
    const winAxes = o.map((_, i) => nl + 2 * i + 1);
    t = L.slice(
      t,
      winAxes,
      winAxes.map(() => 0),
      window,
      dtype,
    );
    const perm = [...lead.map((_, i) => i), ...o.map((_, i) => nl + 2 * i), ...winAxes];
    t = L.transpose(t, perm, dtype);
    return { kind: 'tensor', name: L.reshape(t.name, outShape, dtype), ashape: outShape };
  }

  // Overlapping windows: one strided slice per window offset, stacked on a new last axis.
  const pieces: string[] = [];
  const offsets = cartesian(window);
  const pieceShape = [...lead, ...o, 1];
  for (const off of offsets) {
    const axes = sp.map((_, i) => nl + i);
    const s = L.slice(
      x,
      axes,
      off,
      off.map((j, i) => j + (o[i] - 1) * strides[i] + 1),
      dtype,
      strides,
    );
    pieces.push(L.reshape(s.name, pieceShape, dtype));
  }
  const catShape = [...lead, ...o, offsets.length];
  const cat = L.b.op('Concat', pieces, catShape, dtype, { axis: catShape.length - 1 });
  return { kind: 'tensor', name: L.reshape(cat, outShape, dtype), ashape: outShape };
}

function lowerPoolTranspose(L: Lowering, eqn: Eqn): Val {
  const [ca] = eqn.inputs;
  const val = L.valOf(ca);
  if (val.kind === 'zero') return ZERO;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const { inShape, window, strides } = eqn.params as { inShape: number[]; window: number[]; strides: number[] };
  const cs = shapeOf(ca);
  const nw = window.length;
  const lead = cs.slice(0, cs.length - 2 * nw);
  const o = cs.slice(lead.length, lead.length + nw);
  const sp = inShape.slice(inShape.length - nw);
  const nl = lead.length;
  const ct: TensorRef = { name: L.fullOfAtom(ca, dtype), ashape: cs };

  if (window.every((k, i) => k <= strides[i])) {
    // Interleave (o, k), pad k up to s, merge, then pad/shrink to the input size.
    const perm = [...lead.map((_, i) => i), ...o.flatMap((_, i) => [nl + i, nl + nw + i])];
    let t = L.transpose(ct, perm, dtype);
    t = L.pad(
      t,
      t.ashape.map(() => 0),
      t.ashape.map((_, j) => (j >= nl && (j - nl) % 2 === 1 ? strides[(j - nl - 1) / 2] - window[(j - nl - 1) / 2] : 0)),
      dtype,
    );
    const merged = [...lead, ...o.map((oi, i) => oi * strides[i])];
    t = { name: L.reshape(t.name, merged, dtype), ashape: merged };
    const axes = sp.map((_, i) => nl + i);
    t = L.slice(
      t,
      axes,
      axes.map(() => 0),
      sp.map((n, i) => Math.min(n, merged[nl + i])),
      dtype,
    );
    t = L.pad(
      t,
      t.ashape.map(() => 0),
      t.ashape.map((d, j) => (j < nl ? 0 : sp[j - nl] - d)),
      dtype,
    );
    return { kind: 'tensor', name: t.name, ashape: t.ashape };
  }

  // Overlapping windows: scatter each window offset back with zero insertion, then sum.
  const terms: string[] = [];
  for (const off of cartesian(window)) {
    const axes = off.map((_, i) => nl + nw + i);
    let t = L.slice(
      ct,
      axes,
      off,
      off.map((j) => j + 1),
      dtype,
    );
    const shape = [...lead, ...o];
    t = { name: L.reshape(t.name, shape, dtype), ashape: shape };
    t = L.dilate(t, [...lead.map(() => 1), ...strides], dtype);
    t = L.pad(
      t,
      t.ashape.map((_, j) => (j < nl ? 0 : off[j - nl])),
      t.ashape.map((d, j) => (j < nl ? 0 : sp[j - nl] - off[j - nl] - d)),
      dtype,
    );
    terms.push(t.name);
  }
  const name = terms.length === 1 ? terms[0] : L.b.op('Sum', terms, inShape, dtype);
  return { kind: 'tensor', name, ashape: inShape };
}

function cartesian(sizes: number[]): number[][] {
  let acc: number[][] = [[]];
  for (const n of sizes) {
    const next: number[][] = [];
    for (const a of acc) for (let j = 0; j < n; j++) next.push([...a, j]);
    acc = next;
  }
  return acc;
}

export const convRules: Record<string, LoweringRule> = {
  conv: (L, eqn) => [lowerConv(L, eqn)],
  pool: (L, eqn) => [lowerPool(L, eqn)],
  pool_transpose: (L, eqn) => [lowerPoolTranspose(L, eqn)],
};
