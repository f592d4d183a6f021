/**
 * Pooling passes: overlapping max pooling written as a maximum over window slices (the importer's
 * MaxPool with kernel > stride, e.g. 3×3 stride 2: a Pad, strided Slices and Reshapes per window
 * position, then a chain of binary Max) becomes one MaxPool. onnxruntime's strided Slice is a
 * generic element-by-element copy: on SqueezeNet 1.1 these slices took 69 % of a plane graph's
 * node time (bench/profile-real.ts, 2026-12-06).
 *
 * The windows are recognized by what they compute, not by the nodes' shapes: each leaf of the Max
 * chain is traced back through Slice / Reshape / Pad / Identity nodes to the nearest tensor all
 * leaves share, and those nodes are evaluated on an index array of that tensor's last two axes (the
 * leading axes must pass through untouched). A leaf must read, for every output position (i, j),
 * the element (r + i·sh, c + j·sw); the leaves' (r, c) must form a full kh × kw grid with spacing
 * (dh, dw) starting at (0, 0), and MaxPool's output size must be the leaves'. Only chains of at
 * least 4 windows whose partial maxima have no other reader (forward graphs; an HVP graph's
 * backward reads them) are rewritten, so the values are the same maxima, bit for bit.
 */
import { type PassContext, type PendingNode, typed, usage } from './context.js';

const CHAIN_OPS = new Set(['Slice', 'Reshape', 'Pad', 'Identity']);

const prod = (a: number[]) => a.reduce((p, q) => p * q, 1);

/** An index array: for each element of a tensor of `shape`, the flat index into the base's last two axes it holds (−1: padding). */
interface IndexArray {
  shape: number[];
  v: Int32Array;
}

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** ONNX Slice on an index array (negative starts/ends counted from the end, clamped as the spec says). */
function slice(a: IndexArray, starts: number[], ends: number[], axes: number[], steps: number[]): IndexArray | null {
  const r = a.shape.length;
  const st = a.shape.map(() => 0);
  const step = a.shape.map(() => 1);
  const out = [...a.shape];
  for (let k = 0; k < starts.length; k++) {
    const ax = (axes[k] ?? k) < 0 ? axes[k]! + r : (axes[k] ?? k);
    const d = a.shape[ax]!;
    const s = steps[k] ?? 1;
    if (s <= 0) return null;
    let b = starts[k]!;
    let e = ends[k]!;
    if (b < 0) b += d;
    if (e < 0) e += d;
    b = Math.min(Math.max(b, 0), d);
    e = Math.min(Math.max(e, 0), d);
    st[ax] = b;
    step[ax] = s;
    out[ax] = Math.max(0, Math.ceil((e - b) / s));
  }
  const inS = strides(a.shape);
  const outS = strides(out);
  const v = new Int32Array(prod(out));
  for (let f = 0; f < v.length; f++) {
    let src = 0;
    for (let i = 0; i < r; i++) src += (st[i]! + (Math.floor(f / outS[i]!) % out[i]!) * step[i]!) * inS[i]!;
    v[f] = a.v[src]!;
  }
  return { shape: out, v };
}

function pad(a: IndexArray, pads: number[]): IndexArray | null {
  const r = a.shape.length;
  if (pads.length !== 2 * r || pads.some((p) => p < 0)) return null;
  const out = a.shape.map((d, i) => d + pads[i]! + pads[r + i]!);
  const outS = strides(out);
  const inS = strides(a.shape);
  const v = new Int32Array(prod(out)).fill(-1);
  for (let f = 0; f < a.v.length; f++) {
    let dst = 0;
    for (let i = 0; i < r; i++) dst += ((Math.floor(f / inS[i]!) % a.shape[i]!) + pads[i]!) * outS[i]!;
    v[dst] = a.v[f]!;
  }
  return { shape: out, v };
}

/**
 * Max chains of window slices → MaxPool. Runs first (pipeline.ts): the slices it leaves without
 * readers are dropped by the dead-node pass after it.
 */
export function windowMaxPools(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { readers, producer } = usage(ctx, nodes);
  const readBy = new Map<string, PendingNode[]>();
  for (const nd of nodes) for (const x of nd.inputs) readBy.set(x, [...(readBy.get(x) ?? []), nd]);
  const isMax = (nd: PendingNode | undefined) => nd?.opType === 'Max' && !nd.domain && nd.outputs.length === 1;
  const absorbed = (t: string) => readers.get(t) === 1 && isMax(readBy.get(t)?.[0]);
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const root of nodes) {
    if (!isMax(root) || absorbed(root.outputs[0]!)) continue;
    const dtype = ctx.dtypes.get(root.outputs[0]!);
    if (dtype !== 'float32' && dtype !== 'float64') continue;
    // the chain's leaves: inputs of Max nodes that are not themselves absorbed partial maxima
    const leaves: string[] = [];
    const inner: PendingNode[] = [];
    const stack = [root];
    while (stack.length) {
      const m = stack.pop()!;
      inner.push(m);
      for (const x of m.inputs) {
        const p = producer.get(x);
        if (isMax(p) && readers.get(x) === 1) stack.push(p!);
        else leaves.push(x);
      }
    }
    if (leaves.length < 4) continue;
    const rewritten = poolOf(ctx, leaves, producer, root.outputs[0]!, dtype);
    if (!rewritten) continue;
    replace.set(root, rewritten);
    for (const m of inner) if (m !== root) replace.set(m, []);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}

/** The MaxPool nodes computing the maximum over `leaves` into `out`, or null when they are not a window grid. */
function poolOf(ctx: PassContext, leaves: string[], producer: Map<string, PendingNode>, out: string, dtype: 'float32' | 'float64'): PendingNode[] | null {
  // each leaf's path up through chain ops: the tensors from the leaf to the first non-chain producer
  const paths = leaves.map((leaf) => {
    const path = [leaf];
    for (let p = producer.get(leaf); p && !p.domain && CHAIN_OPS.has(p.opType); p = producer.get(p.inputs[0]!)) path.push(p.inputs[0]!);
    return path;
  });
  const others = paths.slice(1).map((p) => new Set(p));
  const base = paths[0]!.find((t) => others.every((s) => s.has(t)));
  if (!base) return null;
  const baseShape = ctx.shapes.get(base);
  const outShape = ctx.shapes.get(out);
  if (!baseShape || !outShape || baseShape.length < 3 || outShape.length !== baseShape.length) return null;
  const lead = baseShape.slice(0, -2);
  if (outShape.slice(0, -2).some((d, i) => d !== lead[i])) return null;
  const [H, W] = baseShape.slice(-2) as [number, number];
  const [oh, ow] = outShape.slice(-2) as [number, number];
  const ones = lead.map(() => 1);
  const baseIdx: IndexArray = { shape: [...ones, H, W], v: Int32Array.from({ length: H * W }, (_, i) => i) };
  const memo = new Map<string, IndexArray | null>([[base, baseIdx]]);
  /** The index array of tensor t (lead axes as 1s), or null when its nodes touch the lead axes or are not plain. */
  const evalIdx = (t: string): IndexArray | null => {
    if (memo.has(t)) return memo.get(t)!;
    const p = producer.get(t)!;
    const a = evalIdx(p.inputs[0]!);
    let r: IndexArray | null = null;
    const shape = ctx.shapes.get(t);
    const inShape = ctx.shapes.get(p.inputs[0]!);
    const keepsLead = (s: number[] | undefined) => !!s && s.length >= lead.length && lead.every((d, i) => s[i] === d);
    if (a && keepsLead(shape) && keepsLead(inShape)) {
      const reduced = (s: number[]) => [...ones, ...s.slice(lead.length)];
      const ints = (k: number) => (p.inputs[k] ? ctx.int64Values(p.inputs[k]!) : null);
      if (p.opType === 'Identity') r = a;
      else if (p.opType === 'Reshape') r = { shape: reduced(shape!), v: a.v };
      else if (p.opType === 'Slice') {
        const starts = ints(1);
        const ends = ints(2);
        const axes = p.inputs[3] ? ints(3) : starts?.map((_, i) => i);
        const steps = p.inputs[4] ? ints(4) : starts?.map(() => 1);
        const r0 = inShape!.length;
        const touchesLead = axes?.some((ax, k) => {
          const x = ax < 0 ? ax + r0 : ax;
          if (x >= lead.length) return false;
          // a lead axis sliced whole is untouched
          return !(starts![k]! === 0 && ends![k]! >= inShape![x]! && (steps![k] ?? 1) === 1);
        });
        if (starts && ends && axes && steps && !touchesLead) {
          const keep = axes.map((ax) => (ax < 0 ? ax + r0 : ax) >= lead.length);
          r = slice(
            a,
            starts.filter((_, k) => keep[k]),
            ends.filter((_, k) => keep[k]),
            axes.filter((_, k) => keep[k]),
            steps.filter((_, k) => keep[k]),
          );
        }
      } else if (p.opType === 'Pad' && (p.attrs.mode === undefined || p.attrs.mode === 'constant' || p.attrs.mode === 0)) {
        const pads = ints(1);
        if (pads && lead.every((_, i) => pads[i] === 0 && pads[inShape!.length + i] === 0)) r = pad(a, pads);
      }
      if (r && (r.shape.length !== shape!.length || prod(r.shape) !== prod(reduced(shape!)))) r = null;
    }
    memo.set(t, r);
    return r;
  };
  // each leaf: (r, c) of its first element and the strides, checked at every output position
  const origin: [number, number][] = [];
  let sh = 0;
  let sw = 0;
  for (const leaf of leaves) {
    const m = evalIdx(leaf);
    if (!m || m.v.length !== oh * ow) return null;
    const f0 = m.v[0]!;
    if (f0 < 0) return null;
    const r = Math.floor(f0 / W);
    const c = f0 % W;
    const lsh = oh > 1 ? (m.v[ow]! - f0) / W : 0;
    const lsw = ow > 1 ? m.v[1]! - f0 : 0;
    if (!Number.isInteger(lsh) || lsh < 0 || lsw < 0) return null;
    if (oh > 1) sh ||= lsh;
    if (ow > 1) sw ||= lsw;
    if ((oh > 1 && lsh !== sh) || (ow > 1 && lsw !== sw)) return null;
    for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) if (m.v[i * ow + j] !== (r + i * lsh) * W + c + j * lsw) return null;
    origin.push([r, c]);
  }
  sh ||= 1;
  sw ||= 1;
  const rows = [...new Set(origin.map((o) => o[0]))].sort((a, b) => a - b);
  const cols = [...new Set(origin.map((o) => o[1]))].sort((a, b) => a - b);
  const grid = new Set(origin.map(([r, c]) => `${r},${c}`));
  if (grid.size !== origin.length || rows.length * cols.length !== origin.length || rows[0] !== 0 || cols[0] !== 0) return null;
  const step = (v: number[]) => (v.length > 1 ? v[1]! - v[0]! : 1);
  const [dh, dw] = [step(rows), step(cols)];
  if (rows.some((r, i) => r !== i * dh) || cols.some((c, i) => c !== i * dw)) return null;
  const [kh, kw] = [rows.length, cols.length];
  if (Math.floor((H - dh * (kh - 1) - 1) / sh) + 1 !== oh || Math.floor((W - dw * (kw - 1) - 1) / sw) + 1 !== ow) return null;
  // MaxPool wants [N, C, H, W]: the lead axes folded into two
  const n4 = [lead.length >= 2 ? prod(lead.slice(0, -1)) : 1, lead.at(-1)!, H, W];
  const added: PendingNode[] = [];
  let x = base;
  if (lead.length !== 2) {
    x = typed(ctx, n4, dtype);
    added.push({ opType: 'Reshape', inputs: [base, ctx.int64s(n4)], outputs: [x], attrs: {} });
  }
  const attrs = { kernel_shape: [kh, kw], strides: [sh, sw], ...(dh !== 1 || dw !== 1 ? { dilations: [dh, dw] } : {}) };
  if (lead.length === 2) {
    added.push({ opType: 'MaxPool', inputs: [x], outputs: [out], attrs });
  } else {
    const pooled = typed(ctx, [n4[0]!, n4[1]!, oh, ow], dtype);
    added.push({ opType: 'MaxPool', inputs: [x], outputs: [pooled], attrs });
    added.push({ opType: 'Reshape', inputs: [pooled, ctx.int64s(outShape)], outputs: [out], attrs: {} });
  }
  return added;
}
