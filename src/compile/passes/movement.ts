/**
 * Data-movement passes: chains of Transpose / Reshape / Slice / Identity that hand back a tensor
 * unchanged. jax-js's transpose rule for a conv writes the input gradient with the kernel's
 * channels swapped and its window reversed; the Conv lowering (rules/conv.ts) then runs it as a
 * ConvTranspose, which wants the kernel as it was, so swaps and reverses it back: four full copies
 * of every weight (and weight tangent) in an HVP graph that compute nothing, in onnxruntime's slow
 * element-by-element Transpose and reversed Slice (ResNet-18's 512×512×3×3 kernels: 20–50 ms per
 * copy, 2026-12-06, bench/profile-real.ts).
 *
 * Each chain is followed as a strided view of the tensor it starts from (shape, strides, offset,
 * as numpy views): Transpose permutes the axes, Slice offsets, shortens and (step −1) reverses
 * them, Reshape regroups axes where that needs no copy. When the view at the chain's end reads its
 * start in plain order, the end is its start (reshaped): the readers read that instead.
 */
import { type PassContext, type PendingNode, prod, rowMajorStrides, topoSort, typed, usage } from './context.js';

const MOVES = new Set(['Transpose', 'Reshape', 'Slice', 'Identity']);

interface View {
  shape: number[];
  strides: number[];
  offset: number;
}

function contiguous(shape: number[]): View {
  return { shape: [...shape], strides: rowMajorStrides(shape), offset: 0 };
}

/** Whether v reads its base's elements in plain C order from the first (unit axes ignored). */
function isPlain(v: View): boolean {
  if (v.offset !== 0) return false;
  let expect = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] === 1) continue;
    if (v.strides[i] !== expect) return false;
    expect *= v.shape[i]!;
  }
  return true;
}

function transposeView(v: View, perm: number[]): View | null {
  if (perm.length !== v.shape.length) return null;
  return { shape: perm.map((p) => v.shape[p]!), strides: perm.map((p) => v.strides[p]!), offset: v.offset };
}

/** ONNX Slice (opset ≥ 10 clamping rules, negative steps included). */
function sliceView(v: View, starts: number[], ends: number[], axes: number[], steps: number[]): View | null {
  const r = v.shape.length;
  const out: View = { shape: [...v.shape], strides: [...v.strides], offset: v.offset };
  for (let k = 0; k < starts.length; k++) {
    const ax = axes[k]! < 0 ? axes[k]! + r : axes[k]!;
    const d = v.shape[ax];
    const step = steps[k] ?? 1;
    if (d === undefined || step === 0) return null;
    let b = starts[k]! < 0 ? starts[k]! + d : starts[k]!;
    let e = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
    if (step > 0) {
      b = Math.min(Math.max(b, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      b = Math.min(Math.max(b, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const n = Math.ceil((e - b) / step);
    if (n <= 0) return null;
    out.offset += b * v.strides[ax]!;
    out.strides[ax] = v.strides[ax]! * step;
    out.shape[ax] = n;
  }
  return out;
}

/** A reshape that regroups axes without copying (numpy's no-copy reshape), else null. */
function reshapeView(v: View, shape: number[]): View | null {
  if (prod(shape) !== prod(v.shape)) return null;
  const od = v.shape.filter((d) => d !== 1);
  const os = v.strides.filter((_, i) => v.shape[i] !== 1);
  const strides = new Array<number>(shape.length).fill(1);
  let oi = 0;
  let ni = 0;
  while (ni < shape.length && oi < od.length) {
    let oj = oi + 1;
    let nj = ni + 1;
    let np = shape[ni]!;
    let op = od[oi]!;
    while (np !== op) {
      if (np < op) {
        if (nj >= shape.length) return null;
        np *= shape[nj++]!;
      } else {
        if (oj >= od.length) return null;
        op *= od[oj++]!;
      }
    }
    for (let k = oi; k < oj - 1; k++) if (os[k] !== od[k + 1]! * os[k + 1]!) return null;
    strides[nj - 1] = os[oj - 1]!;
    for (let k = nj - 1; k > ni; k--) strides[k - 1] = strides[k]! * shape[k]!;
    ni = nj;
    oi = oj;
  }
  return { shape: [...shape], strides, offset: v.offset };
}

/** The view `node` makes of its input's view, or null when it is not a plain view. */
function step(ctx: PassContext, node: PendingNode, v: View): View | null {
  const ints = (k: number) => (node.inputs[k] ? ctx.int64Values(node.inputs[k]!) : null);
  switch (node.opType) {
    case 'Identity':
      return v;
    case 'Transpose': {
      const perm = (node.attrs.perm as number[] | undefined) ?? v.shape.map((_, i) => v.shape.length - 1 - i);
      return transposeView(v, perm);
    }
    case 'Reshape': {
      const shape = ctx.shapes.get(node.outputs[0]!);
      return shape ? reshapeView(v, shape) : null;
    }
    case 'Slice': {
      const starts = ints(1);
      const ends = ints(2);
      if (!starts || !ends) return null;
      const axes = node.inputs[3] ? ints(3) : starts.map((_, i) => i);
      const steps = node.inputs[4] ? ints(4) : starts.map(() => 1);
      return axes && steps ? sliceView(v, starts, ends, axes, steps) : null;
    }
    default:
      return null;
  }
}

/**
 * Movement chains that return their start: readers of the chain's end read its start (through
 * one Reshape when the shapes differ). The chain's nodes are left to the dead-node pass.
 */
export function movementRoundTrips(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { producer } = usage(ctx, nodes);
  const isMove = (nd: PendingNode | undefined) => !!nd && !nd.domain && MOVES.has(nd.opType) && nd.outputs.length === 1;
  const rewritten = new Map<string, string>();
  const added: PendingNode[] = [];
  const seen = new Set<string>();
  for (const nd of nodes) {
    if (isMove(nd)) continue;
    for (const end of nd.inputs) {
      if (!end || seen.has(end) || !isMove(producer.get(end))) continue;
      seen.add(end);
      // the chain, end first: tensors and the nodes producing them
      const chain: PendingNode[] = [];
      const tensors = [end];
      for (let p = producer.get(end); isMove(p); p = producer.get(tensors.at(-1)!)) {
        chain.push(p!);
        tensors.push(p!.inputs[0]!);
      }
      if (!chain.some((c) => c.opType === 'Transpose' || c.opType === 'Slice')) continue;
      const endShape = ctx.shapes.get(end);
      const dtype = ctx.dtypes.get(end);
      if (!endShape || !dtype) continue;
      // the furthest start the chain hands back unchanged
      for (let s = tensors.length - 1; s >= 2; s--) {
        const start = tensors[s]!;
        const shape = ctx.shapes.get(start);
        if (!shape || prod(shape) !== prod(endShape)) continue;
        let v: View | null = contiguous(shape);
        for (let k = s - 1; k >= 0 && v; k--) v = step(ctx, chain[k]!, v);
        if (!v || !isPlain(v)) continue;
        let same = start;
        if (shape.length !== endShape.length || shape.some((d, i) => d !== endShape[i])) {
          same = typed(ctx, endShape, dtype);
          added.push({ opType: 'Reshape', inputs: [start, ctx.int64s(endShape)], outputs: [same], attrs: {} });
        }
        rewritten.set(end, same);
        break;
      }
    }
  }
  if (rewritten.size === 0) return nodes;
  const renamed = nodes.map((nd) => (nd.inputs.some((x) => rewritten.has(x)) ? { ...nd, inputs: nd.inputs.map((x) => rewritten.get(x) ?? x) } : nd));
  return topoSort([...renamed, ...added], ctx.available());
}

/** Reversed blocks of at most this many elements become products with a permutation matrix. */
const MAX_REVERSED_BLOCK = 64;
/** …in tensors of at least this many elements (smaller ones cost nothing either way). */
const MIN_REVERSED_SIZE = 4096;

/**
 * Reversals of trailing axes (a conv kernel's window flipped for an input gradient: Slice with
 * step −1) → Reshape to [rows, block], MatMul by the block's permutation matrix, Reshape back.
 * onnxruntime's reversed Slice copies element by element (a 512×512×3×3 kernel: 30–60 ms); the
 * product is one small-K GEMM pass. Each output element is its input element times 1 plus zeros,
 * so finite values come through exactly (an infinite one would turn its row into NaN: the tensors
 * reversed here are weights, tangents and cotangents). Float tensors only; a Slice that also
 * crops is left alone.
 */
export function reversalsAsProducts(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const nd of nodes) {
    if (nd.opType !== 'Slice' || nd.domain || !nd.inputs[4]) continue;
    const x = nd.inputs[0]!;
    const out = nd.outputs[0]!;
    const shape = ctx.shapes.get(x);
    const dtype = ctx.dtypes.get(out);
    if (!shape || (dtype !== 'float32' && dtype !== 'float64') || prod(shape) < MIN_REVERSED_SIZE) continue;
    const starts = ctx.int64Values(nd.inputs[1]!);
    const ends = ctx.int64Values(nd.inputs[2]!);
    const axes = nd.inputs[3] ? ctx.int64Values(nd.inputs[3]) : starts?.map((_, i) => i);
    const steps = ctx.int64Values(nd.inputs[4]);
    if (!starts || !ends || !axes || !steps) continue;
    // every sliced axis reversed whole
    const r = shape.length;
    const reversed = new Set<number>();
    let whole = true;
    for (let k = 0; k < starts.length && whole; k++) {
      const ax = axes[k]! < 0 ? axes[k]! + r : axes[k]!;
      const d = shape[ax]!;
      const b = starts[k]! < 0 ? starts[k]! + d : starts[k]!;
      const e = ends[k]! < 0 && ends[k]! >= -d ? ends[k]! + d : ends[k]!;
      whole = steps[k] === -1 && b >= d - 1 && e < 0;
      reversed.add(ax);
    }
    if (!whole || reversed.size === 0) continue;
    const first = Math.min(...reversed);
    const block = shape.slice(first);
    const n = prod(block);
    if (n > MAX_REVERSED_BLOCK || n < 2) continue;
    // P[i, j] = 1 where output position j of the block reads input position i
    const perm = new Array<number>(n * n).fill(0);
    const bs = contiguous(block).strides;
    for (let j = 0; j < n; j++) {
      let i = 0;
      for (let a = 0; a < block.length; a++) {
        const idx = Math.floor(j / bs[a]!) % block[a]!;
        i += (reversed.has(first + a) ? block[a]! - 1 - idx : idx) * bs[a]!;
      }
      perm[i * n + j] = 1;
    }
    const rows = prod(shape) / n;
    const flat = typed(ctx, [rows, n], dtype);
    const prodOut = typed(ctx, [rows, n], dtype);
    replace.set(nd, [
      { opType: 'Reshape', inputs: [x, ctx.int64s([rows, n])], outputs: [flat], attrs: {} },
      { opType: 'MatMul', inputs: [flat, ctx.constant(dtype, perm, [n, n])], outputs: [prodOut], attrs: {} },
      { opType: 'Reshape', inputs: [prodOut, ctx.int64s(shape)], outputs: [out], attrs: {} },
    ]);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}

/**
 * Conv(x, w′) where w′ is a kernel W [C, O, kh, kw] with its two channel axes swapped and its
 * window reversed (an input gradient, as jax-js's transpose rule writes it) → ConvTranspose(x, W)
 * with the complementary pads: the same sums, with no copy of the kernel. Stride 1, dilation 1,
 * group 1 only, and only where the kernel is larger than the conv's output (ResNet-18's last
 * stages: 512×512×3×3 kernels on 1×1 and 2×2 maps, where swapping and reversing the kernel cost
 * more than the conv); on large maps onnxruntime's NCHWc Conv beats ConvTranspose.
 */
export function reversedKernelConvs(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { producer } = usage(ctx, nodes);
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const nd of nodes) {
    if (nd.opType !== 'Conv' || nd.domain || nd.inputs.length !== 2 || (nd.attrs.group ?? 1) !== 1 || nd.attrs.auto_pad) continue;
    const ones = (a: unknown) => a === undefined || (a as number[]).every((v) => v === 1);
    if (!ones(nd.attrs.strides) || !ones(nd.attrs.dilations)) continue;
    const wPrime = nd.inputs[1]!;
    const ws = ctx.shapes.get(wPrime);
    const out = ctx.shapes.get(nd.outputs[0]!);
    if (ws?.length !== 4 || !out || prod(ws) <= prod(out)) continue;
    const [kh, kw] = ws.slice(2) as [number, number];
    const pads = (nd.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
    const tPads = [kh - 1 - pads[0]!, kw - 1 - pads[1]!, kh - 1 - pads[2]!, kw - 1 - pads[3]!];
    if (tPads.some((p, i) => p < 0 || p >= (i % 2 === 0 ? kh : kw))) continue;
    // walk up the movement chain to a tensor of shape [C, O, kh, kw] that w′ reverses and swaps
    const chain: PendingNode[] = [];
    const tensors = [wPrime];
    for (let p = producer.get(wPrime); p && !p.domain && MOVES.has(p.opType) && p.outputs.length === 1; p = producer.get(tensors.at(-1)!)) {
      chain.push(p);
      tensors.push(p.inputs[0]!);
    }
    let kernel: string | null = null;
    for (let s = tensors.length - 1; s >= 1 && !kernel; s--) {
      const shape = ctx.shapes.get(tensors[s]!);
      if (!shape || prod(shape) !== prod(ws)) continue;
      let v: View | null = contiguous(shape);
      for (let k = s - 1; k >= 0 && v; k--) v = step(ctx, chain[k]!, v);
      if (!v) continue;
      // w′[a, b, i, j] = W[b, a, kh−1−i, kw−1−j] for W = [C, O, kh, kw] contiguous
      const W = [ws[1]!, ws[0]!, kh, kw];
      const cs = contiguous(W).strides;
      const want: View = { shape: ws, strides: [cs[1]!, cs[0]!, -cs[2]!, -cs[3]!], offset: (kh - 1) * cs[2]! + (kw - 1) * cs[3]! };
      const same = v.offset === want.offset && v.shape.every((d, i) => d === ws[i] && (d === 1 || v!.strides[i] === want.strides[i]));
      if (!same) continue;
      kernel = tensors[s]!;
      if (shape.some((d, i) => d !== W[i])) {
        const reshaped = typed(ctx, W, ctx.dtypes.get(wPrime)!);
        replace.set(nd, [{ opType: 'Reshape', inputs: [kernel, ctx.int64s(W)], outputs: [reshaped], attrs: {} }]);
        kernel = reshaped;
      }
    }
    if (!kernel) continue;
    const { pads: _pads, ...attrs } = nd.attrs;
    replace.set(nd, [
      ...(replace.get(nd) ?? []),
      { opType: 'ConvTranspose', inputs: [nd.inputs[0]!, kernel], outputs: nd.outputs, attrs: { ...attrs, pads: tPads } },
    ]);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}
