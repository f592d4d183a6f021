/**
 * Joining an add into a stacked linear combination (dot.ts stackedCombination).
 *
 * A plane graph computes the first layer as Σ_j c_j T_j (T = X·W, X·D1, X·D2; c = 1, a_k, b_k)
 * and then adds the bias b + a_k db1 + b_k db2, which has the same coefficients. Instead of a
 * broadcast Add over the whole [K, N, …] result, the bias terms are added to the T_j (which do
 * not depend on the grid coordinates, so that work is hoisted out of the per-call graph) and
 * the combination is formed once:  Σ_j c_j (T_j + B_j).  Exact up to float rounding.
 */

import type { ElemType } from '../graph-builder.js';
import { type Atom, broadcastShapes, type ComboPart, dtypeOf, isLit, type Lowering, prod, shapeOf, type TensorRef, type Val, type Var } from '../lowering.js';
import { alignMap, rootKey, stackedCombination, traceBack } from './dot.js';

interface LinearTerm {
  src: Atom;
  /** output dim → dim of src (or -1) */
  map: number[];
  sign: number;
  coefs: { src: Atom; map: number[] }[];
}

/** Decompose `a` (seen through `map`) into Σ sign · Πcoefs · src over add / neg / mul-by-coefficient. */
function linearTerms(L: Lowering, a: Atom, map: number[], roots: Set<number>, depth: number): LinearTerm[] {
  const { src, map: m } = traceBack(L, a, map);
  const leaf: LinearTerm[] = [{ src, map: m, sign: 1, coefs: [] }];
  if (depth <= 0 || isLit(src)) return leaf;
  const eqn = L.producers.get(src as Var);
  if (!eqn) return leaf;
  const rank = shapeOf(src).length;
  const [u, w] = eqn.inputs;
  const dt = dtypeOf(src);
  if (eqn.inputs.some((x) => dtypeOf(x) !== dt)) return leaf;
  switch (eqn.primitive as string) {
    case 'add':
      return [...linearTerms(L, u!, alignMap(m, rank, u!), roots, depth - 1), ...linearTerms(L, w!, alignMap(m, rank, w!), roots, depth - 1)];
    case 'neg':
      return linearTerms(L, u!, alignMap(m, rank, u!), roots, depth - 1).map((t) => ({ ...t, sign: -t.sign }));
    case 'mul':
      for (const [c, d] of [
        [u!, w!],
        [w!, u!],
      ] as const) {
        const root = traceBack(L, c).src;
        if (isLit(root) || !roots.has((root as Var).id)) continue;
        return linearTerms(L, d, alignMap(m, rank, d), roots, depth - 1).map((t) => ({
          ...t,
          coefs: [...t.coefs, { src: c, map: alignMap(m, rank, c) }],
        }));
      }
      return leaf;
    default:
      return leaf;
  }
}

/** `src` seen through `map` as a tensor of rank map.length (size 1 where map is -1); null if a real dim is dropped. */
function inOutputCoords(L: Lowering, src: Atom, map: number[], dtype: ElemType): TensorRef | null {
  const rank = shapeOf(src).length;
  const v = L.valOf(src);
  if (v.kind === 'zero') return null;
  return moveTo(L, L.aligned(L.tensor(v, dtypeOf(src), dtype), rank, dtype), map, dtype);
}

/** Tensor `t` rearranged so that dim i of the result is dim map[i] of t (size 1 where -1). */
function moveTo(L: Lowering, t: TensorRef, map: number[], dtype: ElemType): TensorRef | null {
  const shape = map.map((j) => (j === -1 ? 1 : t.ashape[j]!));
  if (prod(shape) !== prod(t.ashape)) return null;
  const operandOf = t.ashape.map(() => Infinity);
  map.forEach((j, i) => {
    if (j !== -1) operandOf[j] = i;
  });
  const perm = t.ashape.map((_, j) => j).sort((p, q) => operandOf[p]! - operandOf[q]!);
  const tt = L.transpose(t, perm, dtype);
  return { name: L.reshape(tt.name, shape, dtype), ashape: shape };
}

/** Real output dims of a coefficient atom seen through `map`. */
function realDims(L: Lowering, c: { src: Atom; map: number[] }): boolean[] {
  const { src, map } = traceBack(L, c.src, c.map);
  const v = L.valOf(src);
  if (v.kind === 'zero') return map.map(() => false);
  const rank = shapeOf(src).length;
  const ashape = v.ashape.length === rank ? v.ashape : [...Array(rank - v.ashape.length).fill(1), ...v.ashape];
  return map.map((j) => j !== -1 && ashape[j]! > 1);
}

/**
 * add(combo, other) where `other` is a sum of terms with the combo's coefficients: the joined
 * combination, or null when the pattern does not apply.
 */
export function foldComboAdd(L: Lowering, comboAtom: Atom, other: Atom, outShape: number[], dtype: ElemType): Val | null {
  if (isLit(comboAtom) || L.uses.get(comboAtom as Var) !== 1 || dtypeOf(other) !== dtype) return null;
  const r = outShape.length;
  if (shapeOf(comboAtom).length !== r || shapeOf(comboAtom).some((d, i) => d !== outShape[i])) return null;
  const identity = Array.from({ length: r }, (_, i) => i);
  // the combination may be seen through transposes / unit reshapes (vmap moves the grid axis)
  const traced = traceBack(L, comboAtom, identity);
  if (isLit(traced.src) || L.uses.get(traced.src as Var) !== 1) return null;
  const cv = L.valOf(traced.src);
  if (cv.kind !== 'tensor') return null;
  const combo = L.combos.get(cv.name);
  if (!combo || combo.dtype !== dtype) return null;
  const rd = combo.outShape.length;
  const toDot = traced.map; // add dim -> combo dim (or -1)
  if (outShape.some((d, i) => d > 1 && toDot[i] === -1)) return null;
  /** add-coordinate map (add dim -> x) as combo coordinates (combo dim -> x) */
  const asDot = <T>(m: T[], none: T): T[] => {
    const out = Array.from({ length: rd }, () => none);
    toDot.forEach((j, i) => {
      if (j !== -1) out[j] = m[i]!;
    });
    return out;
  };
  // the coefficient variables of the combination
  const roots = new Set<number>();
  for (const p of combo.parts) for (const id of (p.roots ?? '').split(',').filter(Boolean)) roots.add(Number(id));
  const terms = linearTerms(L, other, alignMap(identity, r, other), roots, 8);
  const S = combo.parts[0]!.t.ashape;
  const added = combo.parts.map(() => [] as { t: TensorRef; sign: number }[]);
  for (const term of terms) {
    const key = rootKey(
      L,
      term.coefs.map((c) => c.src),
    );
    const j = combo.parts.findIndex((p) => p.roots === key);
    if (j < 0 || key === null) return null;
    // the coefficient must vary exactly along the combination's grid dims
    if (term.coefs.length > 0) {
      const real = asDot(
        term.coefs
          .map((c) => realDims(L, c))
          .reduce(
            (acc, d) => acc.map((x, i) => x || d[i]!),
            identity.map(() => false),
          ),
        false,
      );
      if (real.some((x, i) => x !== combo.G[i])) return null;
    }
    const t = inOutputCoords(L, term.src, asDot(term.map, -1), dtype);
    if (!t) return null;
    // the term must not vary along the grid dims, and must fit in the parts' shape
    if (t.ashape.some((d, i) => d > 1 && (combo.G[i] || S[i] === 1))) return null;
    added[j]!.push({ t, sign: term.sign });
  }
  const parts: ComboPart[] = combo.parts.map((p, j) => {
    let t = p.t;
    for (const a of added[j]!) {
      const op = a.sign * p.sign > 0 ? 'Add' : 'Sub';
      const ashape = broadcastShapes(t.ashape, a.t.ashape);
      t = { name: L.b.op(op, [t.name, a.t.name], ashape, dtype), ashape };
    }
    return { ...p, t };
  });
  const joined = stackedCombination(L, parts, combo.outShape, dtype);
  if (!joined) return null;
  const moved = moveTo(L, joined, toDot, dtype);
  return moved ? { kind: 'tensor', ...moved } : null;
}
