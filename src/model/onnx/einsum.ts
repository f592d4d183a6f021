/**
 * ONNX Einsum as transposes, reshapes and batched matmuls (jax-js's own einsum needs iterator
 * helpers that Node 20 lacks, and a matmul is what the compiled path turns into one MatMul).
 * Operands are contracted left to right; an index that only one operand has and the rest of
 * the expression does not need is summed out first. `...` is supported; repeated indices
 * within one operand (diagonals) are not.
 */
import { numpy as np } from '@jax-js/jax';

type Arr = np.Array;

interface Term {
  x: Arr;
  idx: string[];
}

/** The subscripts of each operand and of the output, with `...` expanded to generated letters. */
export function parseEinsum(equation: string, ranks: number[]): { inputs: string[][]; output: string[] } {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const parts = lhs.split(',');
  if (parts.length !== ranks.length) throw new Error(`Einsum "${equation}" has ${parts.length} operands' subscripts for ${ranks.length} inputs`);
  const ellipsisRank = Math.max(0, ...parts.map((p, i) => (p.includes('...') ? ranks[i]! - p.replace('...', '').length : 0)));
  const ell = Array.from({ length: ellipsisRank }, (_, i) => `#${i}`);
  const expand = (p: string, rank: number | null): string[] => {
    const k = p.indexOf('...');
    if (k < 0) return [...p];
    const n = rank === null ? ellipsisRank : rank - (p.length - 3);
    return [...p.slice(0, k), ...ell.slice(ellipsisRank - n), ...p.slice(k + 3)];
  };
  const inputs = parts.map((p, i) => expand(p, ranks[i]!));
  inputs.forEach((s, i) => {
    if (s.length !== ranks[i]) throw new Error(`Einsum "${equation}": operand ${i} has rank ${ranks[i]} but subscripts "${parts[i]}"`);
    if (new Set(s).size !== s.length) throw new Error(`Einsum "${equation}": repeated indices within one operand (diagonals) are not supported`);
  });
  let output: string[];
  if (rhs !== undefined) output = expand(rhs, null);
  else {
    const count = new Map<string, number>();
    for (const s of inputs) for (const c of s) count.set(c, (count.get(c) ?? 0) + 1);
    output = [
      ...ell,
      ...[...count]
        .filter(([c, n]) => n === 1 && !c.startsWith('#'))
        .map(([c]) => c)
        .sort(),
    ];
  }
  return { inputs, output };
}

/** Sums out the indices of `t` that `keep` does not list. */
function sumOut(t: Term, keep: Set<string>): Term {
  const axes = t.idx.flatMap((c, i) => (keep.has(c) ? [] : [i]));
  if (axes.length === 0) return t;
  return { x: np.sum(t.x, axes), idx: t.idx.filter((c) => keep.has(c)) };
}

/** Contract two terms over their shared indices not in `keep`: one batched matmul. */
function contract(a: Term, b: Term, keep: Set<string>): Term {
  const inB = new Set(b.idx);
  const inA = new Set(a.idx);
  const batch = a.idx.filter((c) => inB.has(c) && keep.has(c));
  const summed = a.idx.filter((c) => inB.has(c) && !keep.has(c));
  const freeA = a.idx.filter((c) => !inB.has(c));
  const freeB = b.idx.filter((c) => !inA.has(c));
  const dim = new Map<string, number>();
  a.idx.forEach((c, i) => dim.set(c, a.x.shape[i]!));
  b.idx.forEach((c, i) => dim.set(c, Math.max(dim.get(c) ?? 1, b.x.shape[i]!)));
  const size = (cs: string[]) => cs.reduce((p, c) => p * dim.get(c)!, 1);
  const order = (t: Term, cs: string[]) => t.x.transpose(cs.map((c) => t.idx.indexOf(c)));
  const am = order(a, [...batch, ...freeA, ...summed]).reshape([size(batch), size(freeA), size(summed)]);
  const bm = order(b, [...batch, ...summed, ...freeB]).reshape([size(batch), size(summed), size(freeB)]);
  const y = np.matmul(am, bm).reshape([...batch, ...freeA, ...freeB].map((c) => dim.get(c)!));
  return { x: y, idx: [...batch, ...freeA, ...freeB] };
}

/** einsum(equation, ...operands); the operands are consumed. */
export function einsum(equation: string, operands: Arr[]): Arr {
  const { inputs, output } = parseEinsum(
    equation,
    operands.map((o) => o.ndim),
  );
  const terms: Term[] = operands.map((x, i) => ({ x, idx: inputs[i]! }));
  const needed = (from: number) => new Set([...output, ...terms.slice(from).flatMap((t) => t.idx)]);
  let acc = sumOut(terms[0]!, needed(1));
  for (let k = 1; k < terms.length; k++) {
    const keep = needed(k + 1);
    const next = sumOut(terms[k]!, new Set([...keep, ...acc.idx]));
    acc = contract(sumOut(acc, new Set([...keep, ...next.idx])), next, keep);
  }
  acc = sumOut(acc, new Set(output));
  return acc.x.transpose(output.map((c) => acc.idx.indexOf(c)));
}
