/**
 * Lowering rules for movement primitives: transpose, broadcast, reshape, flip, shrink, pad,
 * concatenate, split and gather.
 *
 * `broadcast` only inserts size-1 dims (the expansion is left to the consumer), and the other
 * rules keep such lazily broadcast dims at size 1 where they can; transposes and reshapes
 * compose with the ones that produced their input (Lowering.transpose / reshape).
 */

import {
  arraysEqual,
  asVal,
  broadcastShapes,
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

function lowerTranspose(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const perm = eqn.params.perm as number[];
  const t = L.aligned(L.tensorOfAtom(x, dtype), perm.length, dtype);
  return [asVal(L.transpose(t, perm, dtype))];
}

/** Size-1 dims at the new axes: the tensor stays lazily broadcast. */
function lowerBroadcast(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const shape = eqn.params.shape as number[];
  const axis = new Set(eqn.params.axis as number[]);
  const inShape = shapeOf(x);
  const t = L.aligned(L.tensorOfAtom(x, dtype), inShape.length, dtype);
  let k = 0;
  const ashape = shape.map((_, j) => (axis.has(j) ? 1 : t.ashape[k++]));
  if (prod(ashape) === 1 && t.ashape.length === 0) return [asVal(t)];
  return [tensorVal(L.reshape(t.name, ashape, dtype), ashape)];
}

function lowerReshape(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const shape = eqn.params.shape as number[];
  const inShape = shapeOf(x);
  const t = L.aligned(L.tensorOfAtom(x, dtype), inShape.length, dtype);
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

/** A Slice with step −1 along the flipped axes that are not broadcast. */
function lowerFlip(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const inShape = shapeOf(x);
  const t = L.aligned(L.tensorOfAtom(x, dtype), inShape.length, dtype);
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

/** A Slice along the axes that are not broadcast (broadcast dims stay size 1). */
function lowerShrink(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const slice = eqn.params.slice as [number, number][];
  const inShape = shapeOf(x);
  const t = L.aligned(L.tensorOfAtom(x, dtype), inShape.length, dtype);
  const axes = inShape.map((_, i) => i).filter((i) => t.ashape[i] > 1);
  const s = L.slice(
    t,
    axes,
    axes.map((i) => slice[i][0]),
    axes.map((i) => slice[i][1]),
    dtype,
  );
  return [asVal(s)];
}

/** Negative widths slice, positive ones zero-pad. */
function lowerPad(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const width = eqn.params.width as [number, number][];
  const inShape = shapeOf(x);
  let t: TensorRef = { name: L.fullOfAtom(x, dtype), ashape: inShape };
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

function lowerConcatenate(L: Lowering, eqn: Eqn): Val[] {
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const axis = eqn.params.axis as number;
  // jax-js concatenates many arrays as a chain of concats: flatten it into one Concat.
  const names = eqn.inputs.flatMap((a) => {
    const n = L.fullOfAtom(a, dtype);
    const inner = L.concatSource.get(n);
    return inner && inner.axis === axis ? inner.inputs : [n];
  });
  const name = L.b.op('Concat', names, shapeOf(out), dtype, { axis });
  L.concatSource.set(name, { inputs: names, axis });
  return [tensorVal(name, shapeOf(out))];
}

function lowerSplit(L: Lowering, eqn: Eqn): Val[] {
  const [x] = eqn.inputs;
  const dtype = dtypeOf(eqn.outBinders[0]);
  const b = L.b;
  const v = L.valOf(x);
  const axis = eqn.params.axis as number;
  const sizes = eqn.params.sizes as number[];
  if (v.kind === 'zero') return sizes.map(() => ZERO);
  const inShape = shapeOf(x);
  const t = L.aligned(L.tensorOfAtom(x, dtype), inShape.length, dtype);
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

/** Gather (one index array) or GatherND (several) over x with the indexed axes moved first. */
function lowerGather(L: Lowering, eqn: Eqn): Val[] {
  const [x, ...indices] = eqn.inputs;
  const out = eqn.outBinders[0];
  const dtype = dtypeOf(out);
  const axis = eqn.params.axis as number[];
  const outDim = eqn.params.outDim as number;
  const xs = shapeOf(x);
  const outShape = shapeOf(out);
  const b = L.b;
  const v = L.valOf(x);
  if (v.kind === 'zero') return [ZERO];
  const xt: TensorRef = { name: L.fullOfAtom(x, dtype), ashape: xs };
  const idxShape = broadcastShapes(...indices.map(shapeOf));
  const ni = idxShape.length;
  const rest = xs.map((_, i) => i).filter((i) => !axis.includes(i));
  const idx = indices.map((a) => L.full(L.tensorOfAtom(a, 'int64'), idxShape, 'int64'));
  let gathered: string;
  const gShape = [...idxShape, ...rest.map((i) => xs[i])];
  if (indices.length === 1) {
    // Gather puts the index dims at `axis`; move x's axis to the front first.
    const xp = L.transpose(xt, [axis[0], ...rest], dtype);
    gathered = b.op('Gather', [xp.name, idx[0]], gShape, dtype, { axis: 0 });
  } else {
    const xp = L.transpose(xt, [...axis, ...rest], dtype);
    const parts = idx.map((n) => L.reshape(n, [...idxShape, 1], 'int64'));
    const stacked = b.op('Concat', parts, [...idxShape, indices.length], 'int64', { axis: ni });
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
  return [asVal(t)];
}

export const shapeRules: Record<string, LoweringRule> = {
  transpose: lowerTranspose,
  broadcast: lowerBroadcast,
  reshape: lowerReshape,
  flip: lowerFlip,
  shrink: lowerShrink,
  pad: lowerPad,
  concatenate: lowerConcatenate,
  split: lowerSplit,
  gather: lowerGather,
};
