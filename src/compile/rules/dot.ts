/**
 * Lowering of jax-js `dot` (sum(x * y, axis=-1) with numpy broadcasting of the leading dims)
 * to a single ONNX MatMul.
 *
 * jax-js builds matmuls as `dot(reshape(x, [n,1,k]), reshape(transpose(W), [1,m,k]))`, and its
 * gradients / vmap add `broadcast` + `transpose` chains in front of the dot. Each operand is
 * traced back through transpose, unit-only reshape, broadcast and stop_gradient to its source
 * tensor, so that every operand dim is known to be either a real dim of the source or a
 * broadcast (size-1) one. Output dims are then classified as
 *   batch (real in both), M (real in x only), N (real in y only), trivial (real in neither),
 * and the dot becomes  [B, M, K] @ [B, K, N]  -> reshape/transpose to the output order, with
 * trivial dims left lazily broadcast. No [.., M, N, K] product is ever materialized.
 *
 * Linear splitting: when an operand is a sum / scaled sum whose terms have fewer real dims than
 * the sum (the plane's weights w + a_k d1 + b_k d2 with a grid axis k), the dot is distributed:
 * x (W + a D1 + b D2) = xW + a (x D1) + b (x D2), with coefficients that are constant along the
 * contracted dim moved to the output. A small cost model (MatMul flops + elementwise work on the
 * output) decides; full-size tangent sums in gradients are never split.
 */

import type { ElemType } from '../graph-builder.js';
import type { ComboPart } from '../lowering.js';
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

/** Operand view: `map[i]` = index of operand dim i in the source tensor, or -1 (size-1 / broadcast). */
interface OperandView {
  src: TensorRef;
  map: number[];
}

/** Trace an operand back through movement ops; `map[i]` = source dim of operand dim i, or -1. */
export function traceBack(L: Lowering, a: Atom, map0?: number[]): { src: Atom; map: number[] } {
  let src: Atom = a;
  let map = map0 ?? shapeOf(a).map((d, i) => (d === 1 ? -1 : i));
  for (;;) {
    if (isLit(src)) break;
    const eqn: Eqn | undefined = L.producers.get(src as Var);
    if (!eqn) break;
    const input = eqn.inputs[0];
    if (isLit(input)) break;
    const inShape = shapeOf(input);
    const outShape = shapeOf(src);
    let toIn: number[] | null = null; // output dim -> input dim (or -1)
    switch (eqn.primitive as string) {
      case 'stop_gradient':
        toIn = outShape.map((_, i) => i);
        break;
      case 'transpose':
        toIn = (eqn.params.perm as number[]).slice();
        break;
      case 'broadcast': {
        const axis = new Set(eqn.params.axis as number[]);
        let k = 0;
        toIn = outShape.map((_, j) => (axis.has(j) ? -1 : k++));
        break;
      }
      case 'reshape': {
        const inNon = inShape.map((d, i) => [d, i]).filter(([d]) => d !== 1);
        const outNon = outShape.map((d, i) => [d, i]).filter(([d]) => d !== 1);
        if (inNon.length !== outNon.length || inNon.some(([d], i) => d !== outNon[i][0])) break;
        toIn = outShape.map(() => -1);
        outNon.forEach(([, j], i) => (toIn![j] = inNon[i][1]));
        break;
      }
    }
    if (!toIn) break;
    const t = toIn;
    map = map.map((m) => (m === -1 || t[m] === -1 || inShape[t[m]] === 1 ? -1 : t[m]));
    src = input;
  }
  return { src, map };
}

/** The view of an operand of an elementwise op (numpy right-aligned broadcasting) under `map`. */
export function alignMap(map: number[], outRank: number, operand: Atom): number[] {
  const us = shapeOf(operand);
  const off = outRank - us.length;
  return map.map((m) => (m === -1 || m - off < 0 || us[m - off] === 1 ? -1 : m - off));
}

/** Actual (lazy-aware) tensor of a traced source plus its map restricted to real dims. */
function viewOfSource(L: Lowering, src: Atom, map: number[], to: ElemType): OperandView | 'zero' {
  const val: Val = L.valOf(src);
  if (val.kind === 'zero') return 'zero';
  const t = L.aligned(L.tensor(val, dtypeOf(src), to), shapeOf(src).length, to);
  return { src: t, map: map.map((m) => (m === -1 || t.ashape[m] === 1 ? -1 : m)) };
}

/** Which operand dims (all r+1 of them) are real for a traced source, using its Val's laziness. */
function realMask(L: Lowering, src: Atom, map: number[]): boolean[] | 'zero' {
  const val = L.valOf(src);
  if (val.kind === 'zero') return 'zero';
  const rank = shapeOf(src).length;
  const ashape = val.ashape.length === rank ? val.ashape : [...Array(rank - val.ashape.length).fill(1), ...val.ashape];
  return map.map((m) => m !== -1 && ashape[m] > 1);
}

interface Coef {
  src: Atom;
  map: number[];
}
interface Term {
  src: Atom;
  map: number[];
  sign: number;
  coefs: Coef[];
}
interface Plan {
  cost: number;
  terms: Term[];
}

/** Flops-equivalent overhead of one extra MatMul node. */
export const NODE_COST = 2e5;

interface SplitContext {
  r: number;
  K: number;
  outShape: number[];
  dtype: ElemType;
  /** Real output dims of the other operand. */
  other: boolean[];
  /** The other operand does not depend on the per-call (varying) inputs. */
  otherInvariant: boolean;
  /** Elements of the unsplit dot's (real) output: the cost of one elementwise op on it. */
  outElems: number;
}

function matmulCost(ctx: SplitContext, mask: boolean[]): number {
  let p = ctx.K;
  for (let i = 0; i < ctx.r; i++) if (mask[i] || ctx.other[i]) p *= ctx.outShape[i];
  return p + NODE_COST;
}

function bestPlan(L: Lowering, a: Atom, map0: number[], ctx: SplitContext, depth: number): Plan {
  const { src, map } = traceBack(L, a, map0);
  const mask = realMask(L, src, map);
  if (mask === 'zero') return { cost: 0, terms: [] };
  // with hoisting, a product of two invariant operands is computed once, not per call
  const hoisted = ctx.otherInvariant && L.invariant(src);
  const base: Plan = {
    cost: mask[ctx.r] ? (hoisted ? NODE_COST : matmulCost(ctx, mask)) : Infinity,
    terms: [{ src, map, sign: 1, coefs: [] }],
  };
  if (depth <= 0 || isLit(src)) return base;
  const eqn = L.producers.get(src as Var);
  if (!eqn || dtypeOf(eqn.outBinders[0]) !== ctx.dtype) return base;
  const rank = shapeOf(src).length;
  const [u, w] = eqn.inputs;
  let best = base;
  const consider = (p: Plan) => {
    if (p.cost < best.cost) best = p;
  };
  switch (eqn.primitive as string) {
    case 'add': {
      if (eqn.inputs.some((x) => dtypeOf(x) !== ctx.dtype)) break;
      const pu = bestPlan(L, u, alignMap(map, rank, u), ctx, depth - 1);
      const pw = bestPlan(L, w, alignMap(map, rank, w), ctx, depth - 1);
      const terms = [...pu.terms, ...pw.terms];
      consider({ cost: pu.cost + pw.cost + (terms.length > 1 ? ctx.outElems : 0), terms });
      break;
    }
    case 'neg': {
      const pu = bestPlan(L, u, alignMap(map, rank, u), ctx, depth - 1);
      consider({ cost: pu.cost, terms: pu.terms.map((t) => ({ ...t, sign: -t.sign })) });
      break;
    }
    case 'mul': {
      if (eqn.inputs.some((x) => dtypeOf(x) !== ctx.dtype)) break;
      for (const [c, d] of [
        [u, w],
        [w, u],
      ]) {
        const cm = alignMap(map, rank, c);
        if (cm[ctx.r] !== -1) continue; // the coefficient must be constant along the contraction
        const pd = bestPlan(L, d, alignMap(map, rank, d), ctx, depth - 1);
        consider({
          cost: pd.cost + pd.terms.length * ctx.outElems,
          terms: pd.terms.map((t) => ({ ...t, coefs: [...t.coefs, { src: c, map: cm }] })),
        });
      }
      break;
    }
  }
  return best;
}

/** Coefficient tensor in output coordinates (size 1 where the coefficient is broadcast). */
function coefTensor(L: Lowering, c: Coef, r: number, dtype: ElemType): TensorRef {
  const rank = shapeOf(c.src).length;
  const t = L.aligned(L.tensorOfAtom(c.src, dtype), rank, dtype);
  const operandOf = t.ashape.map(() => Infinity);
  c.map.forEach((m, i) => {
    if (m !== -1 && i < r) operandOf[m] = i;
  });
  const perm = t.ashape.map((_, j) => j).sort((p, q) => operandOf[p] - operandOf[q]);
  const tt = L.transpose(t, perm, dtype);
  const shape = Array.from({ length: r }, (_, i) => (c.map[i] !== -1 ? t.ashape[c.map[i]] : 1));
  return { name: L.reshape(tt.name, shape, dtype), ashape: shape };
}

function lowerDot(L: Lowering, eqn: Eqn): Val {
  const [xa, ya] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const outShape = shapeOf(out);
  const r = outShape.length;
  const K = shapeOf(xa)[shapeOf(xa).length - 1];

  if (K === 1) {
    // Contraction over a single element: an elementwise product.
    if (L.valOf(xa).kind === 'zero' || L.valOf(ya).kind === 'zero') return ZERO;
    const xr = L.aligned(L.tensorOfAtom(xa, dtype), r + 1, dtype);
    const yr = L.aligned(L.tensorOfAtom(ya, dtype), r + 1, dtype);
    const ashape = xr.ashape.map((d, i) => Math.max(d, yr.ashape[i]));
    const prodName = L.b.op('Mul', [xr.name, yr.name], ashape, dtype);
    const dropped = ashape.slice(0, r);
    return { kind: 'tensor', name: L.reshape(prodName, dropped, dtype), ashape: dropped };
  }

  const pad = (map: number[]): number[] => [...Array(r + 1 - map.length).fill(-1), ...map];
  const xt = traceBack(L, xa);
  const yt = traceBack(L, ya);
  const xMap = pad(xt.map);
  const yMap = pad(yt.map);
  const xMask = realMask(L, xt.src, xMap);
  const yMask = realMask(L, yt.src, yMap);
  if (xMask === 'zero' || yMask === 'zero') return ZERO;

  // Plans: unsplit, split y (x as is), split x (y as is).
  let outElems = 1;
  for (let i = 0; i < r; i++) if (xMask[i] || yMask[i]) outElems *= outShape[i];
  const ctxY: SplitContext = { r, K, outShape, dtype, other: xMask, outElems, otherInvariant: L.invariant(xt.src) };
  const ctxX: SplitContext = { r, K, outShape, dtype, other: yMask, outElems, otherInvariant: L.invariant(yt.src) };
  const baseCost = matmulCost(ctxY, yMask);
  const identity = (a: Atom) => pad(shapeOf(a).map((d, i) => (d === 1 ? -1 : i)));
  const depth = L.options.distribute ? 8 : 0;
  const planY = bestPlan(L, ya, identity(ya), ctxY, depth);
  const planX = bestPlan(L, xa, identity(xa), ctxX, depth);
  const padTerm = (t: Term): Term => ({ ...t, map: pad(t.map), coefs: t.coefs.map((c) => ({ ...c, map: pad(c.map) })) });

  let pairs: { x: Term | null; y: Term | null; sign: number; coefs: Coef[] }[];
  if (planY.cost < baseCost && planY.cost <= planX.cost) {
    pairs = planY.terms.map(padTerm).map((t) => ({ x: null, y: t, sign: t.sign, coefs: t.coefs }));
  } else if (planX.cost < baseCost) {
    pairs = planX.terms.map(padTerm).map((t) => ({ x: t, y: null, sign: t.sign, coefs: t.coefs }));
  } else {
    pairs = [{ x: null, y: null, sign: 1, coefs: [] }];
  }
  if (pairs.length === 0) return ZERO;

  const baseView = (a: Atom, traced: { src: Atom; map: number[] }): OperandView => {
    const v = viewOfSource(L, traced.src, pad(traced.map), dtype) as OperandView;
    // The contracted dim is broadcast in this operand: materialize it.
    return v.map[r] === -1 ? fullView(L, a, dtype) : v;
  };
  const parts = pairs.map((pr) => {
    const xv = pr.x ? (viewOfSource(L, pr.x.src, pr.x.map, dtype) as OperandView) : baseView(xa, xt);
    const yv = pr.y ? (viewOfSource(L, pr.y.src, pr.y.map, dtype) as OperandView) : baseView(ya, yt);
    return {
      t: matmulDot(L, xv, yv, outShape, K, dtype),
      sign: pr.sign,
      coefs: pr.coefs.map((c) => coefTensor(L, c, r, dtype)),
      roots: rootKey(
        L,
        pr.coefs.map((c) => c.src),
      ),
    };
  });
  const stacked = stackedCombination(L, parts, outShape, dtype);
  if (stacked) return { kind: 'tensor', ...stacked };

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
      const op = pr.sign === accSign ? 'Add' : 'Sub';
      acc = { name: L.b.op(op, [acc.name, t.name], ashape, dtype), ashape };
    }
  }
  const res = acc!;
  if (accSign < 0) return { kind: 'tensor', name: L.b.op('Neg', [res.name], res.ashape, dtype), ashape: res.ashape };
  return { kind: 'tensor', name: res.name, ashape: res.ashape };
}

/**
 * Σ_j sign_j c_j T_j as one MatMul when every term T_j has the same shape S and the coefficients
 * vary only along dims G where S has size 1 (the grid axis of a plane): C [G, J] @ T [J, S] gives
 * the result with the G dims first, written once, instead of J broadcast Mul/Add passes.
 */
export function stackedCombination(L: Lowering, parts: ComboPart[], outShape: number[], dtype: ElemType): TensorRef | null {
  const r = outShape.length;
  if (parts.length < 2) return null;
  const S = parts[0].t.ashape;
  if (S.length !== r || parts.some((p) => p.t.ashape.length !== r || p.t.ashape.some((d, i) => d !== S[i]))) return null;
  const G = outShape.map((_, i) => parts.some((p) => p.coefs.some((c) => c.ashape[c.ashape.length - r + i] > 1)));
  if (!G.some(Boolean) || G.some((g, i) => g && S[i] > 1)) return null;
  const gDims = outShape.map((_, i) => i).filter((i) => G[i]);
  const sDims = outShape.map((_, i) => i).filter((i) => S[i] > 1);
  const Gp = prod(gDims.map((i) => outShape[i]));
  const P = prod(S);
  const J = parts.length;
  const b = L.b;
  const gShape = outShape.map((d, i) => (G[i] ? d : 1));
  const rows: string[] = [];
  const cols: string[] = [];
  for (const p of parts) {
    rows.push(L.reshape(p.t.name, [1, P], dtype));
    let c: TensorRef = { name: b.scalar(dtype, p.sign), ashape: [] };
    for (const ct of p.coefs) {
      const ashape = broadcastShapes(c.ashape, ct.ashape);
      c = { name: b.op('Mul', [c.name, ct.name], ashape, dtype), ashape };
    }
    cols.push(L.reshape(L.full(L.aligned(c, r, dtype), gShape, dtype), [1, Gp], dtype));
  }
  const T = b.op('Concat', rows, [J, P], dtype, { axis: 0 });
  const C = b.op('Concat', cols, [J, Gp], dtype, { axis: 0 });
  const Ct = L.transpose({ name: C, ashape: [J, Gp] }, [1, 0], dtype);
  const mm = b.op('MatMul', [Ct.name, T], [Gp, P], dtype);
  const order = [...gDims, ...sDims];
  const split = order.map((i) => outShape[i]);
  const splitName = L.reshape(mm, split, dtype);
  const positions = order.slice().sort((p, q) => p - q);
  const t = L.transpose(
    { name: splitName, ashape: split },
    positions.map((i) => order.indexOf(i)),
    dtype,
  );
  const ashape = outShape.map((d, i) => (G[i] || S[i] > 1 ? d : 1));
  const name = L.reshape(t.name, ashape, dtype);
  if (parts.every((p) => p.roots !== null && p.roots !== undefined)) L.combos.set(name, { parts, outShape, dtype, G });
  return { name, ashape };
}

/**
 * Identity of a product of plane coefficients: the sorted ids of the variables the coefficient
 * atoms are broadcasts / reshapes of (null when one is a literal or a computed value).
 */
export function rootKey(L: Lowering, coefs: Atom[]): string | null {
  const ids: number[] = [];
  for (const c of coefs) {
    const src = traceBack(L, c).src;
    if (isLit(src)) return null;
    ids.push((src as Var).id);
  }
  return ids.sort((a, b) => a - b).join(',');
}

/** Materialized view of an operand (used when the contracted dim is broadcast in an operand). */
function fullView(L: Lowering, a: Atom, to: ElemType): OperandView {
  const shape = shapeOf(a);
  const name = L.fullOfAtom(a, to);
  return { src: { name, ashape: shape }, map: shape.map((d, i) => (d === 1 ? -1 : i)) };
}

/** One MatMul for operand views with maps of length r+1 (last = contracted dim). */
function matmulDot(L: Lowering, xv: OperandView, yv: OperandView, outShape: number[], K: number, dtype: ElemType): TensorRef {
  const r = outShape.length;
  const pad = (m: number[]): number[] => [...Array(r + 1 - m.length).fill(-1), ...m];
  const mx = pad(xv.map);
  const my = pad(yv.map);
  const B: number[] = [];
  const M: number[] = [];
  const N: number[] = [];
  for (let i = 0; i < r; i++) {
    const ax = mx[i] !== -1;
    const ay = my[i] !== -1;
    if (ax && ay) B.push(i);
    else if (ax) M.push(i);
    else if (ay) N.push(i);
  }
  const size = (i: number) => outShape[i];
  const Bp = prod(B.map(size));
  const Mp = prod(M.map(size));
  const Np = prod(N.map(size));

  const arrange = (v: OperandView, m: number[], order: number[], shape3: number[]): string => {
    const used = order.map((i) => m[i]);
    const rest = v.src.ashape.map((_, j) => j).filter((j) => !used.includes(j));
    const t = L.transpose(v.src, [...used, ...rest], dtype);
    return L.reshape(t.name, shape3, dtype);
  };
  const hasB = B.length > 0;
  const x3 = arrange(xv, mx, [...B, ...M, r], hasB ? [Bp, Mp, K] : [Mp, K]);
  const y3 = arrange(yv, my, [...B, r, ...N], hasB ? [Bp, K, Np] : [K, Np]);
  const mm = L.b.op('MatMul', [x3, y3], hasB ? [Bp, Mp, Np] : [Mp, Np], dtype);

  // Back to output order; trivial dims stay size 1 (lazily broadcast).
  const order = [...B, ...M, ...N];
  const split = order.map(size);
  const splitName = L.reshape(mm, split, dtype);
  const positions = order.slice().sort((a, b) => a - b);
  const perm = positions.map((i) => order.indexOf(i));
  const t = L.transpose({ name: splitName, ashape: split }, perm, dtype);
  const ashape = outShape.map((d, i) => (order.includes(i) ? d : 1));
  return { name: L.reshape(t.name, ashape, dtype), ashape };
}

export const dotRules: Record<string, LoweringRule> = {
  dot: (L, eqn) => [lowerDot(L, eqn)],
};
