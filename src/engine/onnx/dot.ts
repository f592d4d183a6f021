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
 */

import type { ElemType } from './graph-builder.js';
import {
  type Atom,
  type Eqn,
  type Lowering,
  type TensorRef,
  type Val,
  type Var,
  ZERO,
  dtypeOf,
  isLit,
  prod,
  shapeOf,
} from './lowering.js';

/** Operand view: `map[i]` = index of operand dim i in the source tensor, or -1 (size-1 / broadcast). */
interface OperandView {
  src: TensorRef;
  map: number[];
}

/** Trace an operand back to its source variable; `map` indexes the source's logical dims. */
function traceBack(L: Lowering, a: Atom): { src: Atom; map: number[] } {
  let src: Atom = a;
  let map = shapeOf(a).map((d, i) => (d === 1 ? -1 : i));
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

function operandView(L: Lowering, a: Atom, to: ElemType, trace: boolean): OperandView | 'zero' {
  const traced = trace ? traceBack(L, a) : { src: a, map: shapeOf(a).map((d, i) => (d === 1 ? -1 : i)) };
  const val: Val = L.valOf(traced.src);
  if (val.kind === 'zero') return 'zero';
  const rank = shapeOf(traced.src).length;
  const src = L.aligned(L.tensor(val, dtypeOf(traced.src), to), rank, to);
  return { src, map: traced.map.map((m) => (m === -1 || src.ashape[m] === 1 ? -1 : m)) };
}

/** Materialized view of an operand (used when the contracted dim is broadcast in an operand). */
function fullView(L: Lowering, a: Atom, to: ElemType): OperandView {
  const shape = shapeOf(a);
  const name = L.fullOfAtom(a, to);
  return { src: { name, ashape: shape }, map: shape.map((d, i) => (d === 1 ? -1 : i)) };
}

export function lowerDot(L: Lowering, eqn: Eqn): Val {
  const [xa, ya] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const outShape = shapeOf(out);
  const r = outShape.length;
  const K = shapeOf(xa)[shapeOf(xa).length - 1];

  let xv = operandView(L, xa, dtype, true);
  let yv = operandView(L, ya, dtype, true);
  if (xv === 'zero' || yv === 'zero') return ZERO;

  if (K === 1) {
    // Contraction over a single element: an elementwise product.
    const xt = L.tensorOfAtom(xa, dtype);
    const yt = L.tensorOfAtom(ya, dtype);
    const xr = L.aligned(xt, r + 1, dtype);
    const yr = L.aligned(yt, r + 1, dtype);
    const ashape = xr.ashape.map((d, i) => Math.max(d, yr.ashape[i]));
    const prodName = L.b.op('Mul', [xr.name, yr.name], ashape, dtype);
    const dropped = ashape.slice(0, r);
    return { kind: 'tensor', name: L.reshape(prodName, dropped, dtype), ashape: dropped };
  }

  // Align operand maps to the output rank (+1 for the contracted dim).
  const pad = (v: OperandView): number[] => [...Array(r + 1 - v.map.length).fill(-1), ...v.map];
  let mx = pad(xv);
  let my = pad(yv);
  if (mx[r] === -1) {
    xv = fullView(L, xa, dtype);
    mx = pad(xv);
  }
  if (my[r] === -1) {
    yv = fullView(L, ya, dtype);
    my = pad(yv);
  }

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
    const perm = [...used, ...rest];
    const t = L.transpose(v.src, perm, dtype);
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
  return { kind: 'tensor', name: L.reshape(t.name, ashape, dtype), ashape };
}
