/**
 * Elementwise graph passes (in the order of pipeline.ts): max pooling moved before
 * its ReLU, and, at the prefix/rest split, invariant factors of a varying product folded into
 * one factor the prefix computes.
 */
import { broadcastOf, type PassContext, type PendingNode, topoSort, typed, usage, varyingOf } from './context.js';

/**
 * MaxPool(Relu(x)) → Relu(MaxPool(x)) (also through a Reshape in between): the same values
 * (both are monotone), with the Relu on the pooled, smaller tensor. Only where the Relu (and
 * Reshape) output has no other reader.
 */
export function poolBeforeRelu(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { readers, producer } = usage(ctx, nodes);
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const pool of nodes) {
    if (pool.opType !== 'MaxPool' || pool.outputs.length !== 1) continue;
    let src = producer.get(pool.inputs[0]);
    let reshape: PendingNode | undefined;
    if (src?.opType === 'Reshape' && readers.get(src.outputs[0]) === 1) {
      reshape = src;
      src = producer.get(src.inputs[0]);
    }
    if (src?.opType !== 'Relu' || readers.get(src.outputs[0]) !== 1 || replace.has(src)) continue;
    const dtype = ctx.dtypes.get(pool.outputs[0]) ?? ctx.dtypes.get(src.outputs[0]);
    const pooled = ctx.fresh();
    const added: PendingNode[] = [];
    let poolIn = src.inputs[0];
    if (reshape) {
      const r = ctx.fresh();
      added.push({ ...reshape, inputs: [src.inputs[0], reshape.inputs[1]], outputs: [r] });
      const sh = ctx.shapes.get(reshape.outputs[0]);
      if (sh) ctx.shapes.set(r, sh);
      if (dtype) ctx.dtypes.set(r, dtype);
      poolIn = r;
    }
    added.push({ ...pool, inputs: [poolIn], outputs: [pooled] });
    const sh = ctx.shapes.get(pool.outputs[0]);
    if (sh) ctx.shapes.set(pooled, sh);
    if (dtype) ctx.dtypes.set(pooled, dtype);
    added.push({ opType: 'Relu', inputs: [pooled], outputs: [pool.outputs[0]], attrs: {} });
    replace.set(src, []);
    if (reshape) replace.set(reshape, []);
    replace.set(pool, added);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}

/**
 * (v·m₁)·m₂ → v·(m₁·m₂) where v varies per call and m₁, m₂ do not (also through a Reshape
 * between the two Muls, when m₂ has the Reshape's full shape): the product of the factors
 * (e.g. a ReLU mask and a max-pool selection mask in an HVP's tangent) is then computed once
 * by the prefix, and the per-call graph makes one pass over v instead of two. Only where the
 * inner product has no other reader and all shapes are known.
 */
export function foldInvariantFactors(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const varying = varyingOf(nodes, ctx.vary);
  const { readers, producer } = usage(ctx, nodes);
  const same = (a?: number[], b?: number[]) => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
  /** The (varying, invariant) operands of a two-input Mul, or null. */
  const split = (nd: PendingNode | undefined): [string, string] | null => {
    if (nd?.opType !== 'Mul' || nd.domain || nd.inputs.length !== 2) return null;
    const [x, y] = nd.inputs as [string, string];
    if (varying.has(x) && !varying.has(y)) return [x, y];
    if (varying.has(y) && !varying.has(x)) return [y, x];
    return null;
  };
  const rename = new Map<string, string>();
  const out: PendingNode[] = [];
  /** Keep `nd` as it is (inputs renamed); its outputs are produced by the node in `out`. */
  const keep = (nd: PendingNode) => {
    out.push(nd);
    for (const o of nd.outputs) producer.set(o, nd);
  };
  for (const orig of nodes) {
    const nd = rename.size ? { ...orig, inputs: orig.inputs.map((x) => rename.get(x) ?? x) } : orig;
    const outer = split(nd);
    let inner = outer ? producer.get(outer[0]) : undefined;
    const reshape = inner?.opType === 'Reshape' && readers.get(inner.outputs[0]!) === 1 ? inner : undefined;
    if (reshape) inner = producer.get(reshape.inputs[0]!);
    const innerOps = split(inner);
    const dtype = ctx.dtypes.get(nd.outputs[0]!);
    const innerOut = inner?.outputs[0];
    if (!outer || !inner || !innerOps || !innerOut || readers.get(innerOut) !== 1 || !dtype) {
      keep(nd);
      continue;
    }
    const [a, m] = outer;
    const shapeA = ctx.shapes.get(a);
    const innerShape = ctx.shapes.get(innerOut);
    if (!innerShape || !same(shapeA, ctx.shapes.get(nd.outputs[0]!)) || (reshape && !same(ctx.shapes.get(m), shapeA))) {
      keep(nd);
      continue;
    }
    const m2Shape = reshape ? innerShape : ctx.shapes.get(m);
    const kShape = broadcastOf(ctx.shapes.get(innerOps[1]), m2Shape);
    if (!kShape) {
      keep(nd);
      continue;
    }
    const tensor = (shape: number[]): string => typed(ctx, shape, dtype);
    const added: PendingNode[] = [];
    let m2 = m;
    if (reshape) {
      m2 = tensor(innerShape);
      added.push({ opType: 'Reshape', inputs: [m, ctx.int64s(innerShape)], outputs: [m2], attrs: {} });
    }
    const k = tensor(kShape);
    added.push({ opType: 'Mul', inputs: [innerOps[1], m2], outputs: [k], attrs: {} });
    // the inner Mul becomes v·(m₁·m₂) (same output name); the outer one disappears and its
    // readers read `a` (the inner product, or its Reshape) instead
    const folded: PendingNode = { opType: 'Mul', inputs: [innerOps[0], k], outputs: [innerOut], attrs: {} };
    out.splice(out.indexOf(inner), 1, ...added, folded);
    producer.set(innerOut, folded);
    const gone = nd.outputs[0]!;
    rename.set(gone, a);
    readers.set(a, (readers.get(a) ?? 0) - 1 + (readers.get(gone) ?? 0));
    if (ctx.outputs.includes(gone)) keep({ opType: 'Identity', inputs: [a], outputs: [gone], attrs: {} });
  }
  if (!rename.size) return nodes;
  const renamed = out.map((n) => (n.inputs.some((x) => rename.has(x)) ? { ...n, inputs: n.inputs.map((x) => rename.get(x) ?? x) } : n));
  return topoSort(renamed, ctx.available());
}
