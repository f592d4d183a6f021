/**
 * Graph passes over convolutions (in the order of pipeline.ts): sibling convs over
 * one input fused, summed transposed convs merged, convs with fed weights on onnxruntime's
 * NCHWc kernels (and added NCHWc convs accumulated), and, at the prefix/rest split, convs of an
 * invariant input with a varying kernel as GEMMs over patches the prefix unfolds once.
 */

import type { AttrValue } from '../graph-builder.js';
import { type PassContext, type PendingNode, topoSort, typed, usage, varyingOf } from './context.js';

/**
 * Convs / ConvTransposes (group 1, no bias) that read the same input with the same attributes
 * run as one over concatenated weights, followed by a Split: the input is unfolded (im2col)
 * once. In an HVP the weight-gradient convs of the primal and the tangent share their input.
 */
export function fuseSiblingConvs(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const groups = new Map<string, PendingNode[]>();
  for (const nd of nodes) {
    if ((nd.opType !== 'Conv' && nd.opType !== 'ConvTranspose') || nd.inputs.length !== 2) continue;
    if ((nd.attrs.group ?? 1) !== 1) continue;
    const key = `${nd.opType}|${nd.inputs[0]}|${JSON.stringify(nd.attrs)}`;
    const g = groups.get(key);
    if (g) g.push(nd);
    else groups.set(key, [nd]);
  }
  const removed = new Set<PendingNode>();
  const added: PendingNode[] = [];
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const conv = members[0].opType === 'Conv';
    const wAxis = conv ? 0 : 1;
    const wShapes = members.map((m) => ctx.shapes.get(m.inputs[1]));
    const yShapes = members.map((m) => ctx.shapes.get(m.outputs[0]));
    const dtype = ctx.dtypes.get(members[0].outputs[0]);
    if (!dtype || wShapes.some((w) => !w) || yShapes.some((y) => !y)) continue;
    const w0 = wShapes[0]!;
    if (wShapes.some((w) => w!.length !== w0.length || w!.some((d, i) => i !== wAxis && d !== w0[i]))) continue;
    const sizes = yShapes.map((y) => y![1]);
    const wcat = ctx.fresh();
    const ycat = ctx.fresh();
    const wShape = w0.map((d, i) => (i === wAxis ? wShapes.reduce((acc, w) => acc + w![wAxis], 0) : d));
    const yShape = yShapes[0]!.map((d, i) => (i === 1 ? sizes.reduce((a, b) => a + b, 0) : d));
    ctx.shapes.set(wcat, wShape);
    ctx.shapes.set(ycat, yShape);
    added.push(
      { opType: 'Concat', inputs: members.map((m) => m.inputs[1]), outputs: [wcat], attrs: { axis: wAxis } },
      { opType: members[0].opType, inputs: [members[0].inputs[0], wcat], outputs: [ycat], attrs: members[0].attrs },
      { opType: 'Split', inputs: [ycat, ctx.int64s(sizes)], outputs: members.map((m) => m.outputs[0]), attrs: { axis: 1 } },
    );
    for (const m of members) removed.add(m);
  }
  if (added.length === 0) return nodes;
  return [...nodes.filter((n) => !removed.has(n)), ...added];
}

/**
 * ConvT(a, W₁) + ConvT(b, W₂) → ConvT([a, b], [W₁; W₂]) (inputs concatenated along channels,
 * weights along their input-channel axis): one transposed convolution with twice the input
 * channels and one col2im instead of two. In an HVP, the input gradient's tangent
 * ConvT(g', W) + ConvT(g, V) is such a sum. Only for
 * group-1, bias-free ConvTransposes with the same attributes whose results nothing else reads.
 */
export function mergeSummedConvTransposes(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { readers, producer } = usage(ctx, nodes);
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const add of nodes) {
    if (add.opType !== 'Add' || add.domain || add.inputs.length !== 2) continue;
    const [p, q] = add.inputs.map((x) => producer.get(x));
    const ok = (c: PendingNode | undefined): c is PendingNode =>
      c?.opType === 'ConvTranspose' && !c.domain && c.inputs.length === 2 && (c.attrs.group ?? 1) === 1 && readers.get(c.outputs[0]!) === 1 && !replace.has(c);
    if (!ok(p) || !ok(q) || p === q || JSON.stringify(p.attrs) !== JSON.stringify(q.attrs)) continue;
    const [xa, xb, wa, wb] = [p.inputs[0]!, q.inputs[0]!, p.inputs[1]!, q.inputs[1]!].map((t) => ctx.shapes.get(t));
    const y = ctx.shapes.get(add.outputs[0]!);
    const dtype = ctx.dtypes.get(p.outputs[0]!);
    if (!xa || !xb || !wa || !wb || !y || !dtype || xa.length !== 4 || wa.length !== 4) continue;
    if (xa.some((d, i) => i !== 1 && d !== xb[i]) || wa.some((d, i) => i !== 0 && d !== wb[i])) continue;
    const x = ctx.fresh();
    const w = ctx.fresh();
    ctx.shapes.set(x, [xa[0]!, xa[1]! + xb[1]!, xa[2]!, xa[3]!]);
    ctx.shapes.set(w, [wa[0]! + wb[0]!, wa[1]!, wa[2]!, wa[3]!]);
    ctx.dtypes.set(x, dtype);
    ctx.dtypes.set(w, dtype);
    replace.set(p, []);
    replace.set(q, []);
    replace.set(add, [
      { opType: 'Concat', inputs: [p.inputs[0]!, q.inputs[0]!], outputs: [x], attrs: { axis: 1 } },
      { opType: 'Concat', inputs: [p.inputs[1]!, q.inputs[1]!], outputs: [w], attrs: { axis: 0 } },
      { opType: 'ConvTranspose', inputs: [x, w], outputs: add.outputs, attrs: p.attrs },
    ]);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}

/**
 * 2-D Convs (group 1) whose weights are not initializers → onnxruntime's NCHWc Conv
 * (com.microsoft.nchwc), which runs ~2× faster than the NCHW Conv at the small channel counts
 * of the zoo's CNNs (ORT only applies it by itself to constant weights, but the kernel reads
 * its filter as an input, so feeding it the reordered weights works). With block size B:
 * output channels are zero-padded to a multiple of B (filter and bias); inputs with fewer than
 * B channels stay NCHW and the filter is laid out OIHWBo ([O/B, I, kh, kw, B]); inputs with a
 * multiple of B channels are reordered to NCHWc and the filter is OIHWBiBo
 * ([O/B, I/B, kh, kw, Bi, Bo]); the output is reordered back to NCHW. Depthwise convs (group =
 * input = output channels, a filter [C, 1, kh, kw]) run as NCHWc depthwise convs: channels
 * zero-padded to a multiple of B (input, filter, bias, group), the input reordered to NCHWc and
 * the filter laid out OIHWBo ([C/B, 1, kh, kw, B]); onnxruntime's NCHW grouped Conv does one tiny
 * GEMM per channel (63 % of a MobileNetV3-small plane graph's time). Other convs stay.
 */
export function nchwcConvs(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const B = ctx.nchwcBlock;
  if (!B) return nodes;
  const dom = 'com.microsoft.nchwc';
  const out: PendingNode[] = [];
  let changed = false;
  const { readers, producer } = usage(ctx, nodes);
  const drop = new Set<PendingNode>();
  for (const nd of nodes) {
    const x = ctx.shapes.get(nd.inputs[0] ?? '');
    const w = ctx.shapes.get(nd.inputs[1] ?? '');
    const group = (nd.attrs.group ?? 1) as number;
    const plain =
      nd.opType === 'Conv' &&
      !nd.domain &&
      (nd.inputs.length === 2 || nd.inputs.length === 3) &&
      nd.attrs.auto_pad === undefined &&
      x?.length === 4 &&
      w?.length === 4 &&
      ctx.dtypes.get(nd.inputs[1]) === 'float32' &&
      !ctx.isInitializer(nd.inputs[1]) &&
      w[2] <= 8 &&
      w[3] <= 8;
    const depthwise = plain && group > 1 && w[1] === 1 && w[0] === group && x[1] === group;
    if (!plain || (group === 1 ? w[0] < B : !depthwise)) {
      out.push(nd);
      continue;
    }
    changed = true;
    if (depthwise) {
      out.push(...nchwcDepthwise(ctx, nd, x, w, B));
      continue;
    }
    const [O, I0, kh, kw] = w;
    const Op = Math.ceil(O / B) * B;
    // input channels: fewer than B stay NCHW; more are zero-padded to a multiple of B
    const I = I0 < B ? I0 : Math.ceil(I0 / B) * B;
    const y = ctx.shapes.get(nd.outputs[0]!);
    // every new tensor gets its static type (the prefix/rest split needs them at its frontier)
    const tensor = (shape: number[] | undefined): string => typed(ctx, shape, 'float32');
    const padded = (t: string, shape: number[], axis: number, to: number): string => zeroPadTo(ctx, out, t, shape, axis, to);
    // Weight-gradient convs read their "weights" as Transpose(s, [1,0,2,3]) of s [I, O, kh, kw]
    // (batch and channels swapped): the blocked layout is then one transpose of s, ~3× faster
    // than reordering the transposed tensor.
    const t = producer.get(nd.inputs[1]!);
    const fromSwapped = I >= B && t?.opType === 'Transpose' && !t.domain && JSON.stringify(t.attrs.perm) === '[1,0,2,3]';
    let src: string, blocked: number[], perm: number[];
    if (fromSwapped) {
      if (readers.get(t.outputs[0]!) === 1) drop.add(t);
      src = padded(padded(t.inputs[0]!, [I0, O, kh, kw], 0, I), [I, O, kh, kw], 1, Op);
      // s [I/B, Bi, O/B, Bo, kh·kw] → [O/B, I/B, kh·kw, Bi, Bo] (one output block: Bi·Bo is contiguous)
      [blocked, perm] =
        Op === B
          ? [
              [I / B, B * B, kh * kw],
              [0, 2, 1],
            ]
          : [
              [I / B, B, Op / B, B, kh * kw],
              [2, 0, 4, 1, 3],
            ];
    } else {
      src = padded(padded(nd.inputs[1]!, w, 0, Op), [Op, I0, kh, kw], 1, I);
      blocked = I < B ? [Op / B, B, I, kh, kw] : [Op / B, B, I / B, B, kh, kw];
      perm = I < B ? [0, 2, 3, 4, 1] : [0, 2, 4, 5, 3, 1];
    }
    const w1 = tensor(blocked);
    const w2 = tensor(perm.map((a) => blocked[a]!));
    const wr = tensor([Op, I, kh, kw]);
    out.push(
      { opType: 'Reshape', inputs: [src, ctx.int64s(blocked)], outputs: [w1], attrs: {} },
      { opType: 'Transpose', inputs: [w1], outputs: [w2], attrs: { perm } },
      { opType: 'Reshape', inputs: [w2, ctx.int64s([Op, I, kh, kw])], outputs: [wr], attrs: {} },
    );
    let xin = nd.inputs[0]!;
    if (I >= B) {
      const xp = padded(xin, x, 1, I);
      xin = tensor([x[0]!, I, ...x.slice(2)]);
      out.push({ opType: 'ReorderInput', inputs: [xp], outputs: [xin], attrs: {}, domain: dom });
    }
    const inputs = [xin, wr];
    if (nd.inputs.length === 3) inputs.push(padded(nd.inputs[2]!, [O], 0, Op));
    const yc = tensor(y && [y[0]!, Op, ...y.slice(2)]);
    out.push(
      { opType: 'Conv', inputs, outputs: [yc], attrs: nd.attrs, domain: dom },
      { opType: 'ReorderOutput', inputs: [yc], outputs: nd.outputs, attrs: { channels: O }, domain: dom },
    );
  }
  return changed ? out.filter((n) => !drop.has(n)) : nodes;
}

/** `t` (of `shape`) zero-padded at the end of `axis` to size `to` (a float32 Pad pushed onto `out`), or `t` when it has that size. */
function zeroPadTo(ctx: PassContext, out: PendingNode[], t: string, shape: number[], axis: number, to: number): string {
  if (shape[axis] === to) return t;
  const pads = new Array<number>(2 * shape.length).fill(0);
  pads[shape.length + axis] = to - shape[axis]!;
  const p = typed(
    ctx,
    shape.map((d, i) => (i === axis ? to : d)),
    'float32',
  );
  out.push({ opType: 'Pad', inputs: [t, ctx.int64s(pads)], outputs: [p], attrs: {} });
  return p;
}

/** A depthwise Conv (filter [C, 1, kh, kw], group C) as an NCHWc depthwise Conv (see nchwcConvs). */
function nchwcDepthwise(ctx: PassContext, nd: PendingNode, x: number[], w: number[], B: number): PendingNode[] {
  const dom = 'com.microsoft.nchwc';
  const out: PendingNode[] = [];
  const [C, , kh, kw] = w as [number, number, number, number];
  const Cp = Math.ceil(C / B) * B;
  const tensor = (shape: number[] | undefined): string => typed(ctx, shape, 'float32');
  const padded = (t: string, shape: number[], axis: number): string => zeroPadTo(ctx, out, t, shape, axis, Cp);
  // filter [Cp, 1, kh, kw] → [Cp/B, B, kh·kw] → [Cp/B, kh·kw, B] (OIHWBo with I = 1)
  const src = padded(nd.inputs[1]!, w, 0);
  const blocked = [Cp / B, B, kh * kw];
  const w1 = tensor(blocked);
  const w2 = tensor([Cp / B, kh * kw, B]);
  const wr = tensor([Cp, 1, kh, kw]);
  out.push(
    { opType: 'Reshape', inputs: [src, ctx.int64s(blocked)], outputs: [w1], attrs: {} },
    { opType: 'Transpose', inputs: [w1], outputs: [w2], attrs: { perm: [0, 2, 1] } },
    { opType: 'Reshape', inputs: [w2, ctx.int64s([Cp, 1, kh, kw])], outputs: [wr], attrs: {} },
  );
  const xp = padded(nd.inputs[0]!, x, 1);
  const xin = tensor([x[0]!, Cp, ...x.slice(2)]);
  out.push({ opType: 'ReorderInput', inputs: [xp], outputs: [xin], attrs: {}, domain: dom });
  const inputs = [xin, wr];
  if (nd.inputs.length === 3) inputs.push(padded(nd.inputs[2]!, [C], 0));
  const y = ctx.shapes.get(nd.outputs[0]!);
  const yc = tensor(y && [y[0]!, Cp, ...y.slice(2)]);
  out.push(
    { opType: 'Conv', inputs, outputs: [yc], attrs: { ...nd.attrs, group: Cp }, domain: dom },
    { opType: 'ReorderOutput', inputs: [yc], outputs: nd.outputs, attrs: { channels: C }, domain: dom },
  );
  return out;
}

/**
 * Two NCHWc convs whose NCHW results are added → the second accumulates into the first
 * (its optional `Sum` input: y = conv + Sum in the kernel) and one ReorderOutput: the sum of
 * an HVP's tangent pair h'·W + h·V without a second reorder and the Add.
 */
export function nchwcSums(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  if (!ctx.nchwcBlock) return nodes;
  const { readers, producer } = usage(ctx, nodes);
  const dom = 'com.microsoft.nchwc';
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const add of nodes) {
    if (add.opType !== 'Add' || add.domain || add.inputs.length !== 2) continue;
    const reorders = add.inputs.map((x) => producer.get(x));
    const convs = reorders.map((r) => (r?.opType === 'ReorderOutput' && r.domain === dom ? producer.get(r.inputs[0]!) : undefined));
    const [r1, r2] = reorders;
    const [c1, c2] = convs;
    if (!r1 || !r2 || !c1 || !c2 || c1 === c2 || r1 === r2) continue;
    if (c1.opType !== 'Conv' || c2.opType !== 'Conv' || c1.domain !== dom || c2.domain !== dom || c2.inputs.length > 3) continue;
    if ([r1, r2, c1, c2].some((n) => replace.has(n)) || [r1, r2, c1, c2].some((n) => readers.get(n.outputs[0]!) !== 1)) continue;
    const s1 = ctx.shapes.get(c1.outputs[0]!);
    const s2 = ctx.shapes.get(c2.outputs[0]!);
    if (!s1 || !s2 || s1.join() !== s2.join() || r1.attrs.channels !== r2.attrs.channels) continue;
    const acc = typed(ctx, s2, 'float32');
    const inputs = [c2.inputs[0]!, c2.inputs[1]!, c2.inputs[2] ?? '', c1.outputs[0]!];
    replace.set(r1, []);
    replace.set(r2, []);
    // c2 reads c1's output: it goes where c2 was only if c1 comes first; the final topological
    // sort of the serializer orders them either way
    replace.set(c2, [{ ...c2, inputs, outputs: [acc] }]);
    replace.set(add, [{ opType: 'ReorderOutput', inputs: [acc], outputs: add.outputs, attrs: r2.attrs, domain: dom }]);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}

/**
 * A Conv whose input x [1, C, H, W] does not vary per call but whose kernel w [O, C, kh, kw]
 * does, with a small output (oh·ow ≤ kh·kw): the weight gradient of a first convolution in an
 * HVP (x = the data with batch and channels swapped, w = the tangent of the output gradient).
 * onnxruntime unfolds x (im2col, C·kh·kw·oh·ow values) at every call; here the prefix unfolds
 * it once into P [C, kh·kw, oh·ow] and each call is a GEMM: y = Σ_c w[:, c]·P[c]. When w is
 * Transpose(s, [1,0,2,3]) (s [C, O, kh, kw]), the GEMMs read s directly, batched over c.
 * Unit strides and dilations, no padding, group 1, no bias, P at most 2²⁶ values.
 */
export function hoistedPatchConvs(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const varying = varyingOf(nodes, ctx.vary);
  const { readers, producer } = usage(ctx, nodes);
  const ones = (v: AttrValue | undefined, n: number, one: number) => v === undefined || (Array.isArray(v) && v.length === n && v.every((d) => d === one));
  const out: PendingNode[] = [];
  const drop = new Set<PendingNode>();
  for (const nd of nodes) {
    const [xn, wn] = nd.inputs as [string, string];
    const x = ctx.shapes.get(xn ?? '');
    const w = ctx.shapes.get(wn ?? '');
    const y = ctx.shapes.get(nd.outputs[0]!);
    const dtype = ctx.dtypes.get(nd.outputs[0]!);
    const eligible =
      nd.opType === 'Conv' &&
      !nd.domain &&
      nd.inputs.length === 2 &&
      !varying.has(xn) &&
      varying.has(wn) &&
      x?.length === 4 &&
      x[0] === 1 &&
      w?.length === 4 &&
      y?.length === 4 &&
      !!dtype &&
      (nd.attrs.group ?? 1) === 1 &&
      nd.attrs.auto_pad === undefined &&
      ones(nd.attrs.strides, 2, 1) &&
      ones(nd.attrs.dilations, 2, 1) &&
      ones(nd.attrs.pads, 4, 0) &&
      y[2]! * y[3]! <= w[2]! * w[3]! &&
      w[1]! * w[2]! * w[3]! * y[2]! * y[3]! <= 2 ** 26;
    if (!eligible) {
      out.push(nd);
      continue;
    }
    const [O, C, kh, kw] = w;
    const [oh, ow] = [y[2]!, y[3]!];
    const K = kh * kw;
    const Pn = oh * ow;
    const tensor = (shape: number[]): string => typed(ctx, shape, dtype);
    // prefix: P[c, k, p] = x[0, c, p + k], one Slice per output position
    const cols: string[] = [];
    for (let py = 0; py < oh; py++) {
      for (let px = 0; px < ow; px++) {
        const sl = tensor([1, C, kh, kw]);
        const col = tensor([C, K, 1]);
        out.push(
          { opType: 'Slice', inputs: [xn, ctx.int64s([py, px]), ctx.int64s([py + kh, px + kw]), ctx.int64s([2, 3])], outputs: [sl], attrs: {} },
          { opType: 'Reshape', inputs: [sl, ctx.int64s([C, K, 1])], outputs: [col], attrs: {} },
        );
        cols.push(col);
      }
    }
    const yFlat = tensor([O, Pn]);
    const t = producer.get(wn);
    const swapped = t?.opType === 'Transpose' && !t.domain && JSON.stringify(t.attrs.perm) === '[1,0,2,3]';
    // the bias gradient Σ over (c, kh, kw) of s [C, O, kh, kw] (the same tensor, a ReduceSum
    // over axes 0, 2, 3) comes out of the same GEMM as one more column of ones in P
    const bias = swapped
      ? nodes.find(
          (r) =>
            r.opType === 'ReduceSum' &&
            !r.domain &&
            r.inputs[0] === t.inputs[0] &&
            r.attrs.keepdims === 0 &&
            !r.attrs.noop_with_empty_axes &&
            JSON.stringify(ctx.int64Values(r.inputs[1] ?? '')) === '[0,2,3]' &&
            !drop.has(r),
        )
      : undefined;
    const cols1 = bias ? Pn + 1 : Pn;
    const P = tensor([C, K, cols1]);
    if (bias) {
      const ones = tensor([C, K, 1]);
      out.push({ opType: 'Expand', inputs: [ctx.scalar(dtype, 1), ctx.int64s([C, K, 1])], outputs: [ones], attrs: {} });
      cols.push(ones);
    }
    out.push({ opType: 'Concat', inputs: cols, outputs: [P], attrs: { axis: 2 } });
    if (swapped) {
      if (readers.get(wn) === 1) drop.add(t);
      const sr = tensor([C, O, K]);
      const per = tensor([C, O, cols1]);
      const sum = bias ? tensor([O, cols1]) : yFlat;
      out.push(
        { opType: 'Reshape', inputs: [t.inputs[0]!, ctx.int64s([C, O, K])], outputs: [sr], attrs: {} },
        { opType: 'MatMul', inputs: [sr, P], outputs: [per], attrs: {} },
        { opType: 'ReduceSum', inputs: [per, ctx.int64s([0])], outputs: [sum], attrs: { keepdims: 0 } },
      );
      if (bias) {
        drop.add(bias);
        const last = tensor([O, 1]);
        out.push(
          { opType: 'Slice', inputs: [sum, ctx.int64s([0]), ctx.int64s([Pn]), ctx.int64s([1])], outputs: [yFlat], attrs: {} },
          { opType: 'Slice', inputs: [sum, ctx.int64s([Pn]), ctx.int64s([Pn + 1]), ctx.int64s([1])], outputs: [last], attrs: {} },
          { opType: 'Reshape', inputs: [last, ctx.int64s([O])], outputs: bias.outputs, attrs: {} },
        );
      }
    } else {
      const wr = tensor([O, C * K]);
      const Pr = tensor([C * K, Pn]);
      out.push(
        { opType: 'Reshape', inputs: [wn, ctx.int64s([O, C * K])], outputs: [wr], attrs: {} },
        { opType: 'Reshape', inputs: [P, ctx.int64s([C * K, Pn])], outputs: [Pr], attrs: {} },
        { opType: 'MatMul', inputs: [wr, Pr], outputs: [yFlat], attrs: {} },
      );
    }
    out.push({ opType: 'Reshape', inputs: [yFlat, ctx.int64s(y)], outputs: nd.outputs, attrs: {} });
  }
  if (!drop.size && out.length === nodes.length) return nodes;
  // a folded bias gradient is now produced at the conv's place: restore the order
  return topoSort(
    out.filter((n) => !drop.has(n)),
    ctx.available(),
  );
}
