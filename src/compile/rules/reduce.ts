/**
 * Lowering rule for `reduce` (Add / Mul / Max / Min over axes): ReduceSum / ReduceProd /
 * ReduceMax / ReduceMin, with bools reduced as int32. Reducing over a lazily broadcast dim
 * needs no data for Max / Min, scales an Add, and materializes the input for a Mul. Pooling
 * written as reshape + reduce over window axes becomes MaxPool / AveragePool.
 */

import type { ElemType } from '../graph-builder.js';
import {
  asVal,
  castCode,
  dtypeOf,
  type Eqn,
  type Lowering,
  type LoweringRule,
  prod,
  shapeOf,
  type TensorRef,
  tensorVal,
  unsupported,
  type Val,
  ZERO,
} from '../lowering.js';

function lowerReduce(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const op = String(eqn.params.op);
  const axis = eqn.params.axis as number[];
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const inShape = shapeOf(x);
  if (axis.length === 0) return [asVal(L.tensorOfAtom(x, dtype))];
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
  return [tensorVal(name, ashape)];
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

export const reduceRules: Record<string, LoweringRule> = {
  reduce: lowerReduce,
};
