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
import { type PassContext, type PendingNode, prod, rowMajorStrides, topoSort, typed, usage } from './context.js';

const CHAIN_OPS = new Set(['Slice', 'Reshape', 'Pad', 'Identity']);

/** An index array: for each element of a tensor of `shape`, the flat index into the base's last two axes it holds (−1: padding). */
interface IndexArray {
  shape: number[];
  v: Int32Array;
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
  const inS = rowMajorStrides(a.shape);
  const outS = rowMajorStrides(out);
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
  const outS = rowMajorStrides(out);
  const inS = rowMajorStrides(a.shape);
  const v = new Int32Array(prod(out)).fill(-1);
  for (let f = 0; f < a.v.length; f++) {
    let dst = 0;
    for (let i = 0; i < r; i++) dst += ((Math.floor(f / inS[i]!) % a.shape[i]!) + pads[i]!) * outS[i]!;
    v[dst] = a.v[f]!;
  }
  return { shape: out, v };
}

/**
 * The index arrays of tensors computed from `base` [lead…, H, W] by chain ops: `evaluate(t)` says,
 * for each element of t (lead axes as 1s), which element of base's last two axes it holds (−1:
 * padding), or null when t's nodes touch the lead axes or are not plain chain ops. With
 * `zeroPadsOnly`, a Pad counts only when it pads with zeros.
 */
function indexEvaluator(
  ctx: PassContext,
  producer: Map<string, PendingNode>,
  base: string,
  lead: number[],
  H: number,
  W: number,
  zeroPadsOnly: boolean,
): (t: string) => IndexArray | null {
  const ones = lead.map(() => 1);
  const keepsLead = (s: number[] | undefined) => !!s && s.length >= lead.length && lead.every((d, i) => s[i] === d);
  const reduced = (s: number[]) => [...ones, ...s.slice(lead.length)];
  // the base as it is shaped (it may carry trailing unit axes beyond [H, W])
  const bs = ctx.shapes.get(base);
  const baseIdx: IndexArray = { shape: bs && keepsLead(bs) ? reduced(bs) : [...ones, H, W], v: Int32Array.from({ length: H * W }, (_, i) => i) };
  const memo = new Map<string, IndexArray | null>([[base, prod(baseIdx.shape) === H * W ? baseIdx : null]]);
  const evaluate = (t: string): IndexArray | null => {
    if (memo.has(t)) return memo.get(t)!;
    const p = producer.get(t);
    if (!p || p.domain || !CHAIN_OPS.has(p.opType)) return null;
    const a = evaluate(p.inputs[0]!);
    let r: IndexArray | null = null;
    const shape = ctx.shapes.get(t);
    const inShape = ctx.shapes.get(p.inputs[0]!);
    if (a && keepsLead(shape) && keepsLead(inShape)) {
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
        const zero = !p.inputs[2];
        if (pads && (zero || !zeroPadsOnly) && lead.every((_, i) => pads[i] === 0 && pads[inShape!.length + i] === 0)) r = pad(a, pads);
      }
      if (r && (r.shape.length !== shape!.length || prod(r.shape) !== prod(reduced(shape!)))) r = null;
    }
    memo.set(t, r);
    return r;
  };
  return evaluate;
}

/**
 * The tree of same-kind nodes under `root` (an n-ary Max or Add written as binary nodes): its
 * nodes, and its leaves — the inputs that are not an inner node read only by the tree.
 */
function treeOf(
  root: PendingNode,
  producer: Map<string, PendingNode>,
  readers: Map<string, number>,
  isInner: (nd: PendingNode | undefined) => boolean,
): { leaves: string[]; inner: PendingNode[] } {
  const leaves: string[] = [];
  const inner: PendingNode[] = [];
  const stack = [root];
  while (stack.length) {
    const m = stack.pop()!;
    inner.push(m);
    for (const x of m.inputs) {
      const p = producer.get(x);
      if (isInner(p) && readers.get(x) === 1) stack.push(p!);
      else leaves.push(x);
    }
  }
  return { leaves, inner };
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
    const { leaves, inner } = treeOf(root, producer, readers, isMax);
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
  const evalIdx = indexEvaluator(ctx, producer, base, lead, H, W, false);
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

/** A term of a window sum: `source` [lead…, ho, wo] (maybe with unit axes) placed at rows r + a·sh, columns c + b·sw of the sum. */
interface Placed {
  source: string;
  ho: number;
  wo: number;
  r: number;
  c: number;
  sh: number;
  sw: number;
}

/**
 * Where the chain ops leading from a source up to `leaf` [lead…, H, W] put the source's elements,
 * when they place it whole on a strided grid and zero-fill the rest (the transpose of a window
 * slice), else null. The source is the first tensor up the chain that no chain op produced.
 */
function placedWindow(ctx: PassContext, producer: Map<string, PendingNode>, leaf: string, lead: number[], H: number, W: number): Placed | null {
  let source = leaf;
  let pads = 0;
  for (let p = producer.get(source); p && !p.domain && CHAIN_OPS.has(p.opType); p = producer.get(source)) {
    if (p.opType === 'Pad') pads++;
    source = p.inputs[0]!;
  }
  const shape = ctx.shapes.get(source);
  if (pads === 0 || !shape || shape.length < lead.length + 2 || lead.some((d, i) => shape[i] !== d)) return null;
  // [lead…, ho, wo], possibly with unit axes between or after (a broadcast taken mid-chain)
  const sp = shape.slice(lead.length).filter((d) => d !== 1);
  while (sp.length < 2) sp.unshift(1);
  if (sp.length !== 2) return null;
  const [ho, wo] = sp as [number, number];
  const m = indexEvaluator(ctx, producer, source, lead, ho, wo, true)(leaf);
  if (!m || m.v.length !== H * W) return null;
  const at = new Int32Array(ho * wo).fill(-1);
  let placed = 0;
  for (let f = 0; f < m.v.length; f++) {
    const k = m.v[f]!;
    if (k < 0) continue;
    if (at[k] !== -1) return null;
    at[k] = f;
    placed++;
  }
  if (placed !== ho * wo) return null;
  const r = Math.floor(at[0]! / W);
  const c = at[0]! % W;
  const sh = ho > 1 ? (at[wo]! - at[0]!) / W : 1;
  const sw = wo > 1 ? at[1]! - at[0]! : 1;
  if (!Number.isInteger(sh) || sh < 1 || sw < 1) return null;
  for (let a = 0; a < ho; a++) for (let b = 0; b < wo; b++) if (at[a * wo + b] !== (r + a * sh) * W + c + b * sw) return null;
  return { source, ho, wo, r, c, sh, sw };
}

/**
 * Sums of strided window placements → per-phase sums and one interleave. The backward of a window
 * maximum (max pooling with kernel > stride, as the importer writes it) and of strided slices sums,
 * per window position, the window's cotangent zero-padded out to the full input: for a 3×3 stride-2
 * pooling nine full-size Pads (each built from several Reshape/Pad steps) and eight full-size Adds.
 * With stride s, a window at offset r lands on input rows of phase r mod s, shifted by ⌊r/s⌋ rows
 * of that phase; so the terms are summed per phase at the pooled resolution (small Pads), the s×s
 * phase grids stacked, transposed into place and cropped. On SqueezeNet 1.1 the Pads were 45 % of
 * an HVP graph's node time (bench/profile-real.ts, 2026-12-06). The sum's terms may come in any
 * order (float addition is reordered: the values agree to rounding); terms that are not placed
 * windows are added at the end.
 */
export function windowSums(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { readers, producer } = usage(ctx, nodes);
  const readBy = new Map<string, PendingNode>();
  for (const nd of nodes) for (const x of nd.inputs) readBy.set(x, nd);
  const isAdd = (nd: PendingNode | undefined, shape: number[]) =>
    nd?.opType === 'Add' && !nd.domain && nd.outputs.length === 1 && sameShape(ctx.shapes.get(nd.outputs[0]!), shape);
  const replace = new Map<PendingNode, PendingNode[]>();
  for (const root of nodes) {
    const shape = ctx.shapes.get(root.outputs[0]!);
    if (!shape || shape.length < 3 || !isAdd(root, shape)) continue;
    const out = root.outputs[0]!;
    if (readers.get(out) === 1 && isAdd(readBy.get(out), shape)) continue; // an inner node of a larger sum
    const dtype = ctx.dtypes.get(out);
    if (dtype !== 'float32' && dtype !== 'float64') continue;
    const { leaves, inner } = treeOf(root, producer, readers, (nd) => isAdd(nd, shape));
    if (leaves.length < 4 || leaves.some((x) => !sameShape(ctx.shapes.get(x), shape))) continue;
    const lead = shape.slice(0, -2);
    const [H, W] = shape.slice(-2) as [number, number];
    const windows: Placed[] = [];
    const rest: string[] = [];
    for (const leaf of leaves) {
      const w = placedWindow(ctx, producer, leaf, lead, H, W);
      if (w) windows.push(w);
      else rest.push(leaf);
    }
    const first = windows[0];
    if (first && windows.length >= 4 && windows.every((w) => w.ho === 1 && w.wo === 1)) {
      replace.set(root, pointSum(ctx, windows, rest, shape, out, dtype));
      for (const m of inner) if (m !== root) replace.set(m, []);
      continue;
    }
    if (!first || windows.length < 4 || first.sh * first.sw === 1) continue;
    if (windows.some((w) => w.sh !== first.sh || w.sw !== first.sw || w.ho !== first.ho || w.wo !== first.wo)) continue;
    replace.set(root, phaseSum(ctx, windows, rest, shape, out, dtype));
    for (const m of inner) if (m !== root) replace.set(m, []);
  }
  if (replace.size === 0) return nodes;
  return nodes.flatMap((n) => replace.get(n) ?? [n]);
}

/**
 * A node list and `add(op, inputs, shape, attrs?, name?)`, which appends a one-output node and
 * returns its output: a fresh typed tensor, or `name` (an existing output the rewrite must keep).
 */
function emitter(ctx: PassContext, dtype: 'float32' | 'float64') {
  const nodes: PendingNode[] = [];
  const add = (op: string, inputs: string[], outShape: number[], attrs: PendingNode['attrs'] = {}, name?: string) => {
    const t = name ?? typed(ctx, outShape, dtype);
    if (name) ctx.shapes.set(t, outShape);
    nodes.push({ opType: op, inputs, outputs: [t], attrs });
    return t;
  };
  return { nodes, add };
}

/**
 * Σ of single elements placed on an H×W grid (the windows of a pooling whose output is 1×1):
 * the terms summed per position, zeros where none lands, concatenated in row-major order.
 */
function pointSum(ctx: PassContext, windows: Placed[], rest: string[], shape: number[], out: string, dtype: 'float32' | 'float64'): PendingNode[] {
  const L = shape.length - 2;
  const lead = shape.slice(0, L);
  const [H, W] = shape.slice(-2) as [number, number];
  const { nodes, add } = emitter(ctx, dtype);
  const one = [...lead, 1];
  let zeros: string | null = null;
  const cells: string[] = [];
  for (let f = 0; f < H * W; f++) {
    const here = windows.filter((w) => w.r * W + w.c === f).map((w) => add('Reshape', [w.source, ctx.int64s(one)], one));
    if (here.length === 0) zeros ??= add('Expand', [ctx.scalar(dtype, 0), ctx.int64s(one)], one);
    cells.push(here.length ? here.reduce((a, b) => add('Add', [a, b], one)) : zeros!);
  }
  const flat = add('Concat', cells, [...lead, H * W], { axis: L });
  let sum = add('Reshape', [flat, ctx.int64s(shape)], shape, {}, rest.length ? undefined : out);
  rest.forEach((x, i) => {
    sum = add('Add', [sum, x], shape, {}, i === rest.length - 1 ? out : undefined);
  });
  return nodes;
}

function sameShape(a: number[] | undefined, b: number[]): boolean {
  return !!a && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The nodes computing Σ windows + Σ rest into `out` [lead…, H, W] phase by phase (windowSums). */
function phaseSum(ctx: PassContext, windows: Placed[], rest: string[], shape: number[], out: string, dtype: 'float32' | 'float64'): PendingNode[] {
  const { sh, sw, ho, wo } = windows[0]!;
  const L = shape.length - 2;
  const lead = shape.slice(0, L);
  const [H, W] = shape.slice(-2) as [number, number];
  const Hc = Math.ceil(H / sh);
  const Wc = Math.ceil(W / sw);
  const { nodes, add } = emitter(ctx, dtype);
  const phaseShape = [...lead, 1, Hc, Wc];
  // square strides on [N, C, H, W]: onnxruntime's DepthToSpace interleaves (its transpose
  // optimizer leaves it alone); otherwise a Transpose of the stacked phases
  const d2s = L === 2 && sh === sw;
  const phases: string[] = [];
  for (let p = 0; p < sh; p++) {
    for (let q = 0; q < sw; q++) {
      let sum: string | null = null;
      for (const w of windows.filter((x) => x.r % sh === p && x.c % sw === q)) {
        const [dr, dc] = [Math.floor(w.r / sh), Math.floor(w.c / sw)];
        const pads = [...lead.map(() => 0), dr, dc, ...lead.map(() => 0), Hc - ho - dr, Wc - wo - dc];
        const src = sameShape(ctx.shapes.get(w.source), [...lead, ho, wo])
          ? w.source
          : add('Reshape', [w.source, ctx.int64s([...lead, ho, wo])], [...lead, ho, wo]);
        const term = pads.some((x) => x !== 0) ? add('Pad', [src, ctx.int64s(pads)], [...lead, Hc, Wc], { mode: 'constant' }) : src;
        sum = sum ? add('Add', [sum, term], [...lead, Hc, Wc]) : term;
      }
      if (d2s) {
        phases.push(sum ?? add('Expand', [ctx.scalar(dtype, 0), ctx.int64s([...lead, Hc, Wc])], [...lead, Hc, Wc]));
      } else {
        const zeros = () => add('Expand', [ctx.scalar(dtype, 0), ctx.int64s(phaseShape)], phaseShape);
        phases.push(sum ? add('Reshape', [sum, ctx.int64s(phaseShape)], phaseShape) : zeros());
      }
    }
  }
  const cropped = Hc * sh !== H || Wc * sw !== W;
  const full = [...lead, Hc * sh, Wc * sw];
  const last = cropped || rest.length ? undefined : out;
  let sum: string;
  if (d2s) {
    // [N, C·s², Hc, Wc] with channel (p·s + q)·C + c → [N, C, Hc·s, Wc·s]: DepthToSpace (DCR)
    const stacked = add('Concat', phases, [lead[0]!, lead[1]! * sh * sw, Hc, Wc], { axis: 1 });
    sum = add('DepthToSpace', [stacked], full, { blocksize: sh, mode: 'DCR' }, last);
  } else {
    // [lead…, sh·sw, Hc, Wc] → [lead…, sh, sw, Hc, Wc] → [lead…, Hc, sh, Wc, sw] → [lead…, Hc·sh, Wc·sw]
    const stacked = phases.length > 1 ? add('Concat', phases, [...lead, sh * sw, Hc, Wc], { axis: L }) : phases[0]!;
    const split = add('Reshape', [stacked, ctx.int64s([...lead, sh, sw, Hc, Wc])], [...lead, sh, sw, Hc, Wc]);
    const perm = [...lead.map((_, i) => i), L + 2, L, L + 3, L + 1];
    const moved = add('Transpose', [split], [...lead, Hc, sh, Wc, sw], { perm });
    sum = add('Reshape', [moved, ctx.int64s(full)], full, {}, last);
  }
  if (cropped) {
    sum = add('Slice', [sum, ctx.int64s([0, 0]), ctx.int64s([H, W]), ctx.int64s([L, L + 1])], shape, {}, rest.length ? undefined : out);
  }
  rest.forEach((x, i) => {
    sum = add('Add', [sum, x], shape, {}, i === rest.length - 1 ? out : undefined);
  });
  return nodes;
}

/**
 * Strided window slices of one tensor → one phase split and unit-step slices. The importer's
 * window maxima (when the HVP's backward keeps them from windowMaxPools) and strided slices read
 * each window through its own chain of Pad / Reshape / strided Slice nodes, and onnxruntime's
 * strided Slice copies element by element (20 % of SqueezeNet 1.1's HVP graph node time). Here the
 * base [lead…, H, W] is zero-padded to whole s×s phases once, split into them ([lead…, sh, sw, Hc,
 * Wc]: one Transpose), and each window is a unit-step Slice of its phase. A window is any tensor
 * read by a non-chain node that holds, at (a, b), the base's element (r + a·sh, c + b·sw); windows
 * of one base (the deepest tensor all their chains share) are rewritten when there are at least 4
 * with the same strides and they took more than one Slice or Pad each. Values are copied, not
 * computed: bit for bit the same.
 */
export function windowGathers(ctx: PassContext, nodes: PendingNode[]): PendingNode[] {
  const { producer } = usage(ctx, nodes);
  const isChain = (t: string) => {
    const p = producer.get(t);
    return !!p && !p.domain && CHAIN_OPS.has(p.opType);
  };
  // chain outputs read by a non-chain node, grouped by the non-chain tensor their chains start from
  const bySource = new Map<string, { leaf: string; path: string[]; copies: number }[]>();
  const seen = new Set<string>();
  for (const nd of nodes) {
    if (!nd.domain && CHAIN_OPS.has(nd.opType)) continue;
    for (const x of nd.inputs) {
      if (!x || seen.has(x) || !isChain(x)) continue;
      seen.add(x);
      const path = [x];
      let copies = 0;
      for (let p = producer.get(x); p && !p.domain && CHAIN_OPS.has(p.opType); p = producer.get(path.at(-1)!)) {
        if (p.opType === 'Slice' || p.opType === 'Pad') copies++;
        path.push(p.inputs[0]!);
      }
      const src = path.at(-1)!;
      bySource.set(src, [...(bySource.get(src) ?? []), { leaf: x, path, copies }]);
    }
  }
  const added: PendingNode[] = [];
  const rewritten = new Map<string, string>();
  for (const group of bySource.values()) {
    if (group.length < 4) continue;
    const shared = group.slice(1).map((g) => new Set(g.path));
    const base = group[0]!.path.find((t) => shared.every((s) => s.has(t)));
    const baseShape = base ? ctx.shapes.get(base) : undefined;
    const dtype = base ? ctx.dtypes.get(base) : undefined;
    if (!base || !baseShape || baseShape.length < 3 || !dtype) continue;
    const lead = baseShape.slice(0, -2);
    const [H, W] = baseShape.slice(-2) as [number, number];
    const evaluate = indexEvaluator(ctx, producer, base, lead, H, W, false);
    const windows: { leaf: string; r: number; c: number; sh: number; sw: number; ho: number; wo: number; copies: number }[] = [];
    for (const g of group) {
      const shape = ctx.shapes.get(g.leaf);
      if (!shape || shape.length !== baseShape.length || lead.some((d, i) => shape[i] !== d)) continue;
      const [ho, wo] = shape.slice(-2) as [number, number];
      const m = evaluate(g.leaf);
      if (!m || m.v.length !== ho * wo || m.v[0]! < 0) continue;
      const f0 = m.v[0]!;
      const r = Math.floor(f0 / W);
      const c = f0 % W;
      const sh = ho > 1 ? (m.v[wo]! - f0) / W : 1;
      const sw = wo > 1 ? m.v[1]! - f0 : 1;
      if (!Number.isInteger(sh) || sh < 1 || sw < 1) continue;
      let ok = true;
      for (let a = 0; a < ho && ok; a++) for (let b = 0; b < wo && ok; b++) ok = m.v[a * wo + b] === (r + a * sh) * W + c + b * sw;
      const copiesToBase = g.path.indexOf(base);
      if (ok) windows.push({ leaf: g.leaf, r, c, sh, sw, ho, wo, copies: copiesToBase < 0 ? g.copies : countCopies(producer, g.path.slice(0, copiesToBase)) });
    }
    const first = windows[0];
    if (!first || windows.length < 4) continue;
    const same = windows.filter((w) => w.sh === first.sh && w.sw === first.sw);
    if (same.length < 4 || same.every((w) => w.copies <= 1)) continue;
    const { sh, sw } = first;
    const L = lead.length;
    const Hc = Math.ceil(H / sh);
    const Wc = Math.ceil(W / sw);
    const t = (shape: number[]) => typed(ctx, shape, dtype);
    let x = base;
    if (Hc * sh !== H || Wc * sw !== W) {
      x = t([...lead, Hc * sh, Wc * sw]);
      const pads = [...lead.map(() => 0), 0, 0, ...lead.map(() => 0), Hc * sh - H, Wc * sw - W];
      added.push({ opType: 'Pad', inputs: [base, ctx.int64s(pads)], outputs: [x], attrs: { mode: 'constant' } });
    }
    let phases = x;
    // square strides on [N, C, H, W]: SpaceToDepth (onnxruntime's transpose optimizer would move
    // a Transpose behind the window slices, making them strided again)
    const s2d = L === 2 && sh === sw && sh > 1;
    if (s2d) {
      phases = t([lead[0]!, lead[1]! * sh * sw, Hc, Wc]);
      added.push({ opType: 'SpaceToDepth', inputs: [x], outputs: [phases], attrs: { blocksize: sh } });
    } else if (sh * sw > 1) {
      const split = t([...lead, Hc, sh, Wc, sw]);
      added.push({ opType: 'Reshape', inputs: [x, ctx.int64s([...lead, Hc, sh, Wc, sw])], outputs: [split], attrs: {} });
      phases = t([...lead, sh, sw, Hc, Wc]);
      added.push({ opType: 'Transpose', inputs: [split], outputs: [phases], attrs: { perm: [...lead.map((_, i) => i), L + 1, L + 3, L, L + 2] } });
    }
    for (const w of same) {
      const [dr, dc] = [Math.floor(w.r / sh), Math.floor(w.c / sw)];
      const out = ctx.shapes.get(w.leaf)!;
      const C = lead[1]!;
      const ch = ((w.r % sh) * sw + (w.c % sw)) * C;
      const win = t(sh * sw > 1 && !s2d ? [...lead, 1, 1, w.ho, w.wo] : out);
      const [starts, ends, axes] = s2d
        ? [
            [ch, dr, dc],
            [ch + C, dr + w.ho, dc + w.wo],
            [1, 2, 3],
          ]
        : sh * sw > 1
          ? [
              [w.r % sh, w.c % sw, dr, dc],
              [(w.r % sh) + 1, (w.c % sw) + 1, dr + w.ho, dc + w.wo],
              [L, L + 1, L + 2, L + 3],
            ]
          : [
              [w.r, w.c],
              [w.r + w.ho, w.c + w.wo],
              [L, L + 1],
            ];
      added.push({ opType: 'Slice', inputs: [phases, ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes)], outputs: [win], attrs: {} });
      let leafNew = win;
      if (sh * sw > 1 && !s2d) {
        leafNew = t(out);
        added.push({ opType: 'Reshape', inputs: [win, ctx.int64s(out)], outputs: [leafNew], attrs: {} });
      }
      rewritten.set(w.leaf, leafNew);
    }
  }
  if (rewritten.size === 0) return nodes;
  const renamed = nodes.map((nd) => (!nd.domain && CHAIN_OPS.has(nd.opType) ? nd : { ...nd, inputs: nd.inputs.map((x) => rewritten.get(x) ?? x) }));
  return topoSort([...renamed, ...added], ctx.available());
}

/** The Slice and Pad nodes producing the tensors of a chain path (leaf first). */
function countCopies(producer: Map<string, PendingNode>, path: string[]): number {
  return path.filter((x) => {
    const op = producer.get(x)?.opType;
    return op === 'Slice' || op === 'Pad';
  }).length;
}
