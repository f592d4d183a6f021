/**
 * A small ONNX graph builder: nodes with memoized (CSE) creation, typed
 * initializers, cached scalar / int64 constants, dead-node pruning and
 * serialization to ModelProto bytes (opset 18).
 *
 * Tensor names are generated (`t0`, `t1`, …); the caller names graph inputs
 * and outputs. Everything here is independent of jax-js.
 */

import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

/** Element types this translator handles (jax-js dtype names, plus int64 for ONNX shapes). */
export type ElemType = 'float32' | 'float64' | 'float16' | 'int32' | 'uint32' | 'bool' | 'int64';

export const ONNX_OPSET = 18;

const ONNX_DTYPE: Record<ElemType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  float16: TensorProto_DataType.FLOAT16,
  int32: TensorProto_DataType.INT32,
  uint32: TensorProto_DataType.UINT32,
  bool: TensorProto_DataType.BOOL,
  int64: TensorProto_DataType.INT64,
};

export function onnxDtype(t: ElemType): TensorProto_DataType {
  const d = ONNX_DTYPE[t];
  if (d === undefined) throw new Error(`jaxprToOnnx: unsupported dtype ${t}`);
  return d;
}

/** Attribute values: numbers are INT unless listed in `floats`; arrays of numbers are INTS. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** Encode `values` (a scalar or array) as little-endian raw bytes of `dtype`. */
export function encodeRaw(dtype: ElemType, values: ArrayLike<number> | ArrayLike<bigint>): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'float32':
      return bytesOf(Float32Array.from(values as ArrayLike<number>));
    case 'float64':
      return bytesOf(Float64Array.from(values as ArrayLike<number>));
    case 'int32':
      return bytesOf(Int32Array.from(values as ArrayLike<number>));
    case 'uint32':
      return bytesOf(Uint32Array.from(values as ArrayLike<number>));
    case 'int64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(values[i] as number | bigint);
      return bytesOf(a);
    }
    case 'bool': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = values[i] ? 1 : 0;
      return a;
    }
    case 'float16': {
      const a = new Uint16Array(n);
      for (let i = 0; i < n; i++) a[i] = toHalf(Number(values[i]));
      return bytesOf(a);
    }
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  let exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >> (1 - exp);
    return sign | ((mant + 0x1000) >> 13);
  }
  const h = sign | (exp << 10) | (mant >> 13);
  return (mant & 0x1000) !== 0 ? h + 1 : h;
}

interface PendingNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  domain?: string;
}

export class GraphBuilder {
  #nodes: PendingNode[] = [];
  #initializers = new Map<string, TensorProto>();
  #inputs: ValueInfoProto[] = [];
  #outputs: ValueInfoProto[] = [];
  #memo = new Map<string, string[]>();
  #constCache = new Map<string, string>();
  #counter = 0;
  /**
   * onnxruntime's NCHWc block size (8 with AVX2, 16 with AVX-512; see `nchwcBlockSize`), or 0.
   * When set, convolutions whose weights are computed or fed (not constants) run as
   * com.microsoft.nchwc Convs with the weights reordered inside the graph (`#nchwcConvs`).
   * Such graphs only load in onnxruntime's CPU provider: never set it for models users export.
   */
  nchwcBlock = 0;
  /** Static shapes of every tensor the builder knows (inputs, initializers, node outputs set by the caller). */
  readonly shapes = new Map<string, number[]>();
  readonly dtypes = new Map<string, ElemType>();

  fresh(prefix = 't'): string {
    return `${prefix}${this.#counter++}`;
  }

  addInput(name: string, dtype: ElemType, shape: number[]): void {
    this.#inputs.push(valueInfo(name, dtype, shape));
    this.shapes.set(name, shape);
    this.dtypes.set(name, dtype);
  }

  addOutput(name: string, dtype: ElemType, shape: number[]): void {
    this.#outputs.push(valueInfo(name, dtype, shape));
  }

  /** Add an initializer with raw data; returns its name. */
  addInitializer(dtype: ElemType, shape: number[], raw: Uint8Array, name?: string): string {
    const n = name ?? this.fresh('c');
    this.#initializers.set(
      n,
      create(TensorProtoSchema, {
        name: n,
        dataType: onnxDtype(dtype),
        dims: shape.map(BigInt),
        rawData: copyBytes(raw),
      }),
    );
    this.shapes.set(n, shape);
    this.dtypes.set(n, dtype);
    return n;
  }

  /** A cached constant tensor (scalar when `shape` is []), filled with `values`. */
  constant(dtype: ElemType, values: number[], shape: number[] = values.length === 1 ? [] : [values.length]): string {
    const raw = encodeRaw(dtype, values);
    // Key on the encoded bytes so that e.g. 0.1 as float32 and its rounded double agree.
    const key = `${dtype}|${shape.join(',')}|${Buffer.from(raw).toString('base64')}`;
    let n = this.#constCache.get(key);
    if (n === undefined) {
      n = this.addInitializer(dtype, shape, raw);
      this.#constCache.set(key, n);
    }
    return n;
  }

  scalar(dtype: ElemType, value: number): string {
    return this.constant(dtype, [value], []);
  }

  int64s(values: number[]): string {
    return this.constant('int64', values, [values.length]);
  }

  /**
   * Add a node (or reuse an identical earlier one) and return its output names.
   * `outShape`/`outDtype` record the static type of the first output for later lowering steps.
   */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOutputs = 1, domain?: string): string[] {
    const key = `${domain ?? ''}:${opType}(${inputs.join(',')})${JSON.stringify(attrs)}#${nOutputs}`;
    const hit = this.#memo.get(key);
    if (hit) return hit;
    const outputs = Array.from({ length: nOutputs }, () => this.fresh());
    this.#nodes.push({ opType, inputs, outputs, attrs, ...(domain ? { domain } : {}) });
    this.#memo.set(key, outputs);
    return outputs;
  }

  /** Single-output node with its static shape and dtype recorded. */
  op(opType: string, inputs: string[], shape: number[], dtype: ElemType, attrs: Record<string, AttrValue> = {}): string {
    const [out] = this.node(opType, inputs, attrs);
    this.shapes.set(out, shape);
    this.dtypes.set(out, dtype);
    return out;
  }

  /** Node writing to a caller-chosen output name (graph outputs). Not memoized. */
  namedNode(opType: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): void {
    this.#nodes.push({ opType, inputs, outputs: [output], attrs });
  }

  /**
   * Convs / ConvTransposes (group 1, no bias) that read the same input with the same attributes
   * run as one over concatenated weights, followed by a Split: the input is unfolded (im2col)
   * once. In an HVP the weight-gradient convs of the primal and the tangent share their input.
   */
  #fuseSiblingConvs(nodes: PendingNode[]): PendingNode[] {
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
      const wShapes = members.map((m) => this.shapes.get(m.inputs[1]));
      const yShapes = members.map((m) => this.shapes.get(m.outputs[0]));
      const dtype = this.dtypes.get(members[0].outputs[0]);
      if (!dtype || wShapes.some((w) => !w) || yShapes.some((y) => !y)) continue;
      const w0 = wShapes[0]!;
      if (wShapes.some((w) => w!.length !== w0.length || w!.some((d, i) => i !== wAxis && d !== w0[i]))) continue;
      const sizes = yShapes.map((y) => y![1]);
      const wcat = this.fresh();
      const ycat = this.fresh();
      const wShape = w0.map((d, i) => (i === wAxis ? wShapes.reduce((acc, w) => acc + w![wAxis], 0) : d));
      const yShape = yShapes[0]!.map((d, i) => (i === 1 ? sizes.reduce((a, b) => a + b, 0) : d));
      this.shapes.set(wcat, wShape);
      this.shapes.set(ycat, yShape);
      added.push(
        { opType: 'Concat', inputs: members.map((m) => m.inputs[1]), outputs: [wcat], attrs: { axis: wAxis } },
        { opType: members[0].opType, inputs: [members[0].inputs[0], wcat], outputs: [ycat], attrs: members[0].attrs },
        { opType: 'Split', inputs: [ycat, this.int64s(sizes)], outputs: members.map((m) => m.outputs[0]), attrs: { axis: 1 } },
      );
      for (const m of members) removed.add(m);
    }
    if (added.length === 0) return nodes;
    return [...nodes.filter((n) => !removed.has(n)), ...added];
  }

  /** Live nodes (those some graph output depends on), sibling convs fused, in topological order. */
  #finalNodes(): PendingNode[] {
    const needed = new Set<string>(this.#outputs.map((o) => o.name));
    const live: PendingNode[] = [];
    for (let i = this.#nodes.length - 1; i >= 0; i--) {
      const nd = this.#nodes[i];
      if (nd.outputs.some((o) => needed.has(o))) {
        live.push(nd);
        for (const x of nd.inputs) if (x) needed.add(x);
      }
    }
    live.reverse();
    const nodes = this.#nchwcSums(this.#nchwcConvs(this.#poolBeforeRelu(this.#mergeSummedConvTransposes(this.#fuseSiblingConvs(live)))));
    return topoSort(nodes, [...this.#inputs.map((i) => i.name), ...this.#initializers.keys()]);
  }

  /**
   * 2-D Convs (group 1) whose weights are not initializers → onnxruntime's NCHWc Conv
   * (com.microsoft.nchwc), which runs ~2× faster than the NCHW Conv at the small channel counts
   * of the zoo's CNNs (ORT only applies it by itself to constant weights, but the kernel reads
   * its filter as an input, so feeding it the reordered weights works). With block size B:
   * output channels are zero-padded to a multiple of B (filter and bias); inputs with fewer than
   * B channels stay NCHW and the filter is laid out OIHWBo ([O/B, I, kh, kw, B]); inputs with a
   * multiple of B channels are reordered to NCHWc and the filter is OIHWBiBo
   * ([O/B, I/B, kh, kw, Bi, Bo]); the output is reordered back to NCHW. Other convs stay.
   */
  #nchwcConvs(nodes: PendingNode[]): PendingNode[] {
    const B = this.nchwcBlock;
    if (!B) return nodes;
    const dom = 'com.microsoft.nchwc';
    const out: PendingNode[] = [];
    let changed = false;
    const { readers, producer } = this.#usage(nodes);
    const drop = new Set<PendingNode>();
    for (const nd of nodes) {
      const x = this.shapes.get(nd.inputs[0] ?? '');
      const w = this.shapes.get(nd.inputs[1] ?? '');
      const eligible =
        nd.opType === 'Conv' &&
        !nd.domain &&
        (nd.inputs.length === 2 || nd.inputs.length === 3) &&
        (nd.attrs.group ?? 1) === 1 &&
        nd.attrs.auto_pad === undefined &&
        x?.length === 4 &&
        w?.length === 4 &&
        this.dtypes.get(nd.inputs[1]) === 'float32' &&
        !this.#initializers.has(nd.inputs[1]) &&
        w[0] >= B &&
        w[2] <= 8 &&
        w[3] <= 8;
      if (!eligible) {
        out.push(nd);
        continue;
      }
      changed = true;
      const [O, I0, kh, kw] = w;
      const Op = Math.ceil(O / B) * B;
      // input channels: fewer than B stay NCHW; more are zero-padded to a multiple of B
      const I = I0 < B ? I0 : Math.ceil(I0 / B) * B;
      const y = this.shapes.get(nd.outputs[0]!);
      // every new tensor gets its static type (the prefix/rest split needs them at its frontier)
      const tensor = (shape: number[] | undefined): string => this.#typed(shape, 'float32');
      const padded = (t: string, shape: number[], axis: number, to: number): string => {
        if (shape[axis] === to) return t;
        const pads = new Array<number>(2 * shape.length).fill(0);
        pads[shape.length + axis] = to - shape[axis]!;
        const p = tensor(shape.map((d, i) => (i === axis ? to : d)));
        out.push({ opType: 'Pad', inputs: [t, this.int64s(pads)], outputs: [p], attrs: {} });
        return p;
      };
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
        [blocked, perm] = Op === B ? [[I / B, B * B, kh * kw], [0, 2, 1]] : [[I / B, B, Op / B, B, kh * kw], [2, 0, 4, 1, 3]];
      } else {
        src = padded(padded(nd.inputs[1]!, w, 0, Op), [Op, I0, kh, kw], 1, I);
        blocked = I < B ? [Op / B, B, I, kh, kw] : [Op / B, B, I / B, B, kh, kw];
        perm = I < B ? [0, 2, 3, 4, 1] : [0, 2, 4, 5, 3, 1];
      }
      const w1 = tensor(blocked);
      const w2 = tensor(perm.map((a) => blocked[a]!));
      const wr = tensor([Op, I, kh, kw]);
      out.push(
        { opType: 'Reshape', inputs: [src, this.int64s(blocked)], outputs: [w1], attrs: {} },
        { opType: 'Transpose', inputs: [w1], outputs: [w2], attrs: { perm } },
        { opType: 'Reshape', inputs: [w2, this.int64s([Op, I, kh, kw])], outputs: [wr], attrs: {} },
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

  /**
   * Two NCHWc convs whose NCHW results are added → the second accumulates into the first
   * (its optional `Sum` input: y = conv + Sum in the kernel) and one ReorderOutput: the sum of
   * an HVP's tangent pair h'·W + h·V without a second reorder and the Add.
   */
  #nchwcSums(nodes: PendingNode[]): PendingNode[] {
    if (!this.nchwcBlock) return nodes;
    const { readers, producer } = this.#usage(nodes);
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
      const s1 = this.shapes.get(c1.outputs[0]!);
      const s2 = this.shapes.get(c2.outputs[0]!);
      if (!s1 || !s2 || s1.join() !== s2.join() || r1.attrs.channels !== r2.attrs.channels) continue;
      const acc = this.#typed(s2, 'float32');
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

  /** A fresh tensor name with its static type recorded (the shape when known). */
  #typed(shape: number[] | undefined, dtype: ElemType): string {
    const t = this.fresh();
    if (shape) this.shapes.set(t, shape);
    this.dtypes.set(t, dtype);
    return t;
  }

  /**
   * How many nodes read each tensor (graph outputs count as two extra readers, so they are never
   * a rewrite's "only reader"), and the node producing each tensor.
   */
  #usage(nodes: PendingNode[]): { readers: Map<string, number>; producer: Map<string, PendingNode> } {
    const readers = new Map<string, number>();
    for (const nd of nodes) for (const x of nd.inputs) readers.set(x, (readers.get(x) ?? 0) + 1);
    for (const o of this.#outputs) readers.set(o.name, (readers.get(o.name) ?? 0) + 2);
    const producer = new Map<string, PendingNode>();
    for (const nd of nodes) for (const o of nd.outputs) producer.set(o, nd);
    return { readers, producer };
  }

  /**
   * ConvT(a, W₁) + ConvT(b, W₂) → ConvT([a, b], [W₁; W₂]) (inputs concatenated along channels,
   * weights along their input-channel axis): one transposed convolution with twice the input
   * channels and one col2im instead of two. In an HVP, the input gradient's tangent
   * ConvT(g', W) + ConvT(g, V) is such a sum (measured ~25 % faster for the zoo CNN). Only for
   * group-1, bias-free ConvTransposes with the same attributes whose results nothing else reads.
   */
  #mergeSummedConvTransposes(nodes: PendingNode[]): PendingNode[] {
    const { readers, producer } = this.#usage(nodes);
    const replace = new Map<PendingNode, PendingNode[]>();
    for (const add of nodes) {
      if (add.opType !== 'Add' || add.domain || add.inputs.length !== 2) continue;
      const [p, q] = add.inputs.map((x) => producer.get(x));
      const ok = (c: PendingNode | undefined): c is PendingNode =>
        c?.opType === 'ConvTranspose' && !c.domain && c.inputs.length === 2 && (c.attrs.group ?? 1) === 1 && readers.get(c.outputs[0]!) === 1 && !replace.has(c);
      if (!ok(p) || !ok(q) || p === q || JSON.stringify(p.attrs) !== JSON.stringify(q.attrs)) continue;
      const [xa, xb, wa, wb] = [p.inputs[0]!, q.inputs[0]!, p.inputs[1]!, q.inputs[1]!].map((t) => this.shapes.get(t));
      const y = this.shapes.get(add.outputs[0]!);
      const dtype = this.dtypes.get(p.outputs[0]!);
      if (!xa || !xb || !wa || !wb || !y || !dtype || xa.length !== 4 || wa.length !== 4) continue;
      if (xa.some((d, i) => i !== 1 && d !== xb[i]) || wa.some((d, i) => i !== 0 && d !== wb[i])) continue;
      const x = this.fresh();
      const w = this.fresh();
      this.shapes.set(x, [xa[0]!, xa[1]! + xb[1]!, xa[2]!, xa[3]!]);
      this.shapes.set(w, [wa[0]! + wb[0]!, wa[1]!, wa[2]!, wa[3]!]);
      this.dtypes.set(x, dtype);
      this.dtypes.set(w, dtype);
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
   * A Conv whose input x [1, C, H, W] does not vary per call but whose kernel w [O, C, kh, kw]
   * does, with a small output (oh·ow ≤ kh·kw): the weight gradient of a first convolution in an
   * HVP (x = the data with batch and channels swapped, w = the tangent of the output gradient).
   * onnxruntime unfolds x (im2col, C·kh·kw·oh·ow values) at every call; here the prefix unfolds
   * it once into P [C, kh·kw, oh·ow] and each call is a GEMM: y = Σ_c w[:, c]·P[c]. When w is
   * Transpose(s, [1,0,2,3]) (s [C, O, kh, kw]), the GEMMs read s directly, batched over c.
   * Unit strides and dilations, no padding, group 1, no bias, P at most 2²⁶ values.
   */
  #hoistedPatchConvs(nodes: PendingNode[], vary: readonly string[]): PendingNode[] {
    const varying = varyingOf(nodes, vary);
    const { readers, producer } = this.#usage(nodes);
    const ones = (v: AttrValue | undefined, n: number, one: number) => v === undefined || (Array.isArray(v) && v.length === n && v.every((d) => d === one));
    const out: PendingNode[] = [];
    const drop = new Set<PendingNode>();
    for (const nd of nodes) {
      const [xn, wn] = nd.inputs as [string, string];
      const x = this.shapes.get(xn ?? '');
      const w = this.shapes.get(wn ?? '');
      const y = this.shapes.get(nd.outputs[0]!);
      const dtype = this.dtypes.get(nd.outputs[0]!);
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
      const tensor = (shape: number[]): string => this.#typed(shape, dtype);
      // prefix: P[c, k, p] = x[0, c, p + k], one Slice per output position
      const cols: string[] = [];
      for (let py = 0; py < oh; py++) {
        for (let px = 0; px < ow; px++) {
          const sl = tensor([1, C, kh, kw]);
          const col = tensor([C, K, 1]);
          out.push(
            { opType: 'Slice', inputs: [xn, this.int64s([py, px]), this.int64s([py + kh, px + kw]), this.int64s([2, 3])], outputs: [sl], attrs: {} },
            { opType: 'Reshape', inputs: [sl, this.int64s([C, K, 1])], outputs: [col], attrs: {} },
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
              JSON.stringify(this.#int64Values(r.inputs[1] ?? '')) === '[0,2,3]' &&
              !drop.has(r),
          )
        : undefined;
      const cols1 = bias ? Pn + 1 : Pn;
      const P = tensor([C, K, cols1]);
      if (bias) {
        const ones = tensor([C, K, 1]);
        out.push({ opType: 'Expand', inputs: [this.scalar(dtype, 1), this.int64s([C, K, 1])], outputs: [ones], attrs: {} });
        cols.push(ones);
      }
      out.push({ opType: 'Concat', inputs: cols, outputs: [P], attrs: { axis: 2 } });
      if (swapped) {
        if (readers.get(wn) === 1) drop.add(t);
        const sr = tensor([C, O, K]);
        const per = tensor([C, O, cols1]);
        const sum = bias ? tensor([O, cols1]) : yFlat;
        out.push(
          { opType: 'Reshape', inputs: [t.inputs[0]!, this.int64s([C, O, K])], outputs: [sr], attrs: {} },
          { opType: 'MatMul', inputs: [sr, P], outputs: [per], attrs: {} },
          { opType: 'ReduceSum', inputs: [per, this.int64s([0])], outputs: [sum], attrs: { keepdims: 0 } },
        );
        if (bias) {
          drop.add(bias);
          const last = tensor([O, 1]);
          out.push(
            { opType: 'Slice', inputs: [sum, this.int64s([0]), this.int64s([Pn]), this.int64s([1])], outputs: [yFlat], attrs: {} },
            { opType: 'Slice', inputs: [sum, this.int64s([Pn]), this.int64s([Pn + 1]), this.int64s([1])], outputs: [last], attrs: {} },
            { opType: 'Reshape', inputs: [last, this.int64s([O])], outputs: bias.outputs, attrs: {} },
          );
        }
      } else {
        const wr = tensor([O, C * K]);
        const Pr = tensor([C * K, Pn]);
        out.push(
          { opType: 'Reshape', inputs: [wn, this.int64s([O, C * K])], outputs: [wr], attrs: {} },
          { opType: 'Reshape', inputs: [P, this.int64s([C * K, Pn])], outputs: [Pr], attrs: {} },
          { opType: 'MatMul', inputs: [wr, Pr], outputs: [yFlat], attrs: {} },
        );
      }
      out.push({ opType: 'Reshape', inputs: [yFlat, this.int64s(y)], outputs: nd.outputs, attrs: {} });
    }
    if (!drop.size && out.length === nodes.length) return nodes;
    // a folded bias gradient is now produced at the conv's place: restore the order
    return topoSort(
      out.filter((n) => !drop.has(n)),
      [...this.#inputs.map((i) => i.name), ...this.#initializers.keys()],
    );
  }

  /** The values of an int64 initializer (e.g. a ReduceSum's axes), or null. */
  #int64Values(name: string): number[] | null {
    const t = this.#initializers.get(name);
    if (!t || t.dataType !== onnxDtype('int64') || t.rawData.length % 8 !== 0) return null;
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  }

  /**
   * (v·m₁)·m₂ → v·(m₁·m₂) where v varies per call and m₁, m₂ do not (also through a Reshape
   * between the two Muls, when m₂ has the Reshape's full shape): the product of the factors
   * (e.g. a ReLU mask and a max-pool selection mask in an HVP's tangent) is then computed once
   * by the prefix, and the per-call graph makes one pass over v instead of two. Only where the
   * inner product has no other reader and all shapes are known.
   */
  #foldInvariantFactors(nodes: PendingNode[], vary: readonly string[]): PendingNode[] {
    const varying = varyingOf(nodes, vary);
    const { readers, producer } = this.#usage(nodes);
    const same = (a?: number[], b?: number[]) => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
    /** The (varying, invariant) operands of a two-input Mul, or null. */
    const split = (nd: PendingNode | undefined): [string, string] | null => {
      if (!nd || nd.opType !== 'Mul' || nd.domain || nd.inputs.length !== 2) return null;
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
      const dtype = this.dtypes.get(nd.outputs[0]!);
      const innerOut = inner?.outputs[0];
      if (!outer || !inner || !innerOps || !innerOut || readers.get(innerOut) !== 1 || !dtype) {
        keep(nd);
        continue;
      }
      const [a, m] = outer;
      const shapeA = this.shapes.get(a);
      const innerShape = this.shapes.get(innerOut);
      if (!innerShape || !same(shapeA, this.shapes.get(nd.outputs[0]!)) || (reshape && !same(this.shapes.get(m), shapeA))) {
        keep(nd);
        continue;
      }
      const m2Shape = reshape ? innerShape : this.shapes.get(m);
      const kShape = broadcastOf(this.shapes.get(innerOps[1]), m2Shape);
      if (!kShape) {
        keep(nd);
        continue;
      }
      const tensor = (shape: number[]): string => this.#typed(shape, dtype);
      const added: PendingNode[] = [];
      let m2 = m;
      if (reshape) {
        m2 = tensor(innerShape);
        added.push({ opType: 'Reshape', inputs: [m, this.int64s(innerShape)], outputs: [m2], attrs: {} });
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
      if (this.#outputs.some((o) => o.name === gone)) keep({ opType: 'Identity', inputs: [a], outputs: [gone], attrs: {} });
    }
    if (!rename.size) return nodes;
    const renamed = out.map((n) => (n.inputs.some((x) => rename.has(x)) ? { ...n, inputs: n.inputs.map((x) => rename.get(x) ?? x) } : n));
    return topoSort(renamed, [...this.#inputs.map((i) => i.name), ...this.#initializers.keys()]);
  }

  /**
   * MaxPool(Relu(x)) → Relu(MaxPool(x)) (also through a Reshape in between): the same values
   * (both are monotone), with the Relu on the pooled, smaller tensor. Only where the Relu (and
   * Reshape) output has no other reader.
   */
  #poolBeforeRelu(nodes: PendingNode[]): PendingNode[] {
    const { readers, producer } = this.#usage(nodes);
    const replace = new Map<PendingNode, PendingNode[]>();
    for (const pool of nodes) {
      if (pool.opType !== 'MaxPool' || pool.outputs.length !== 1) continue;
      let src = producer.get(pool.inputs[0]);
      let reshape: PendingNode | undefined;
      if (src?.opType === 'Reshape' && readers.get(src.outputs[0]) === 1) {
        reshape = src;
        src = producer.get(src.inputs[0]);
      }
      if (!src || src.opType !== 'Relu' || readers.get(src.outputs[0]) !== 1 || replace.has(src)) continue;
      const dtype = this.dtypes.get(pool.outputs[0]) ?? this.dtypes.get(src.outputs[0]);
      const pooled = this.fresh();
      const added: PendingNode[] = [];
      let poolIn = src.inputs[0];
      if (reshape) {
        const r = this.fresh();
        added.push({ ...reshape, inputs: [src.inputs[0], reshape.inputs[1]], outputs: [r] });
        const sh = this.shapes.get(reshape.outputs[0]);
        if (sh) this.shapes.set(r, sh);
        if (dtype) this.dtypes.set(r, dtype);
        poolIn = r;
      }
      added.push({ ...pool, inputs: [poolIn], outputs: [pooled] });
      const sh = this.shapes.get(pool.outputs[0]);
      if (sh) this.shapes.set(pooled, sh);
      if (dtype) this.dtypes.set(pooled, dtype);
      added.push({ opType: 'Relu', inputs: [pooled], outputs: [pool.outputs[0]], attrs: {} });
      replace.set(src, []);
      if (reshape) replace.set(reshape, []);
      replace.set(pool, added);
    }
    if (replace.size === 0) return nodes;
    return nodes.flatMap((n) => replace.get(n) ?? [n]);
  }

  #serialize(graphName: string, nodes: PendingNode[], inputs: ValueInfoProto[], outputs: ValueInfoProto[], producer: string): Uint8Array {
    const used = new Set(nodes.flatMap((n) => n.inputs));
    const graph = create(GraphProtoSchema, {
      name: graphName,
      node: nodes.map(toNodeProto),
      initializer: [...this.#initializers.values()].filter((t) => used.has(t.name)),
      input: inputs,
      output: outputs,
    });
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: producer,
      opsetImport: [
        create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ONNX_OPSET) }),
        // onnxruntime's contrib domains (e.g. com.microsoft.nchwc) are all at version 1.
        ...[...new Set(nodes.flatMap((n) => (n.domain ? [n.domain] : [])))].map((domain) =>
          create(OperatorSetIdProtoSchema, { domain, version: 1n }),
        ),
      ],
      graph,
    });
    return toBinary(ModelProtoSchema, model);
  }

  /** Serialize, dropping nodes and initializers that no graph output depends on. */
  toModel(graphName: string, producer = 'losscape'): Uint8Array {
    return this.#serialize(graphName, this.#finalNodes(), this.#inputs, this.#outputs, producer);
  }

  /**
   * Serialize as two graphs: `prefix` computes everything that does not depend on the graph
   * inputs named in `vary` (loop-invariant code, e.g. the first layer's X·W, X·D1, X·D2 of a
   * plane graph, which only changes with θ and the directions); `rest` computes the outputs from
   * the varying inputs, the invariant inputs it still needs and the prefix's outputs (`frontier`),
   * which it takes as inputs of the same names. Nodes computing constants only stay in `rest`
   * (onnxruntime folds them). `prefix` is null when nothing is worth hoisting.
   */
  toSplitModels(graphName: string, vary: readonly string[], producer = 'losscape'): SplitModels {
    const nodes = this.#hoistedPatchConvs(this.#foldInvariantFactors(this.#finalNodes(), vary), vary);
    const varying = new Set(vary);
    const constant = new Set<string>(this.#initializers.keys());
    constant.add('');
    const outputNames = new Set(this.#outputs.map((o) => o.name));
    const kind = new Map<PendingNode, 'const' | 'inv' | 'var'>();
    for (const nd of nodes) {
      let k: 'const' | 'inv' | 'var';
      if (nd.outputs.some((o) => outputNames.has(o)) || nd.inputs.some((x) => varying.has(x))) k = 'var';
      else if (nd.inputs.every((x) => constant.has(x))) k = 'const';
      else k = 'inv';
      kind.set(nd, k);
      for (const o of nd.outputs) (k === 'var' ? varying : k === 'const' ? constant : null)?.add(o);
    }
    const invNodes = nodes.filter((n) => kind.get(n) === 'inv');
    const invOutputs = new Set(invNodes.flatMap((n) => n.outputs));
    const restCore = nodes.filter((n) => kind.get(n) === 'var');
    // frontier: invariant node outputs the varying nodes read
    const frontier: string[] = [];
    const seen = new Set<string>();
    for (const nd of restCore) {
      for (const x of nd.inputs) {
        if (invOutputs.has(x) && !seen.has(x)) {
          seen.add(x);
          frontier.push(x);
        }
      }
    }
    const inputOf = (name: string) => this.#inputs.find((i) => i.name === name)!;
    /** Nodes `roots` need, among `pool` (in order). */
    const closure = (pool: PendingNode[], roots: Iterable<string>): PendingNode[] => {
      const need = new Set(roots);
      const out: PendingNode[] = [];
      for (let i = pool.length - 1; i >= 0; i--) {
        const nd = pool[i];
        if (nd.outputs.some((o) => need.has(o))) {
          out.push(nd);
          for (const x of nd.inputs) need.add(x);
        }
      }
      return out.reverse();
    };
    const constNodes = nodes.filter((n) => kind.get(n) === 'const');
    const restNodes = [...closure(constNodes, restCore.flatMap((n) => n.inputs)), ...restCore];
    const restUses = new Set(restNodes.flatMap((n) => n.inputs));
    const restInputs = this.#inputs.filter((i) => restUses.has(i.name)).map((i) => i.name);
    if (frontier.length === 0 || frontier.some((f) => !this.shapes.has(f) || !this.dtypes.has(f))) {
      return { prefix: null, prefixInputs: [], frontier: [], rest: this.toModel(graphName, producer), restInputs: this.#inputs.map((i) => i.name) };
    }
    const prefixNodes = closure([...constNodes, ...invNodes].sort((a, b) => nodes.indexOf(a) - nodes.indexOf(b)), frontier);
    const prefixUses = new Set(prefixNodes.flatMap((n) => n.inputs));
    const prefixInputs = this.#inputs.filter((i) => prefixUses.has(i.name)).map((i) => i.name);
    const frontierSpecs = frontier.map((name) => ({ name, dtype: this.dtypes.get(name)!, shape: this.shapes.get(name)! }));
    const fInfos = frontierSpecs.map((f) => valueInfo(f.name, f.dtype, f.shape));
    const prefix = this.#serialize(`${graphName}.prefix`, topoSort(prefixNodes, [...prefixInputs, ...this.#initializers.keys()]), prefixInputs.map(inputOf), fInfos, producer);
    const rest = this.#serialize(
      graphName,
      topoSort(restNodes, [...restInputs, ...frontier, ...this.#initializers.keys()]),
      [...restInputs.map(inputOf), ...fInfos],
      this.#outputs,
      producer,
    );
    return { prefix, prefixInputs, frontier: frontierSpecs, rest, restInputs: [...restInputs, ...frontier] };
  }
}

export interface SplitModels {
  /** The invariant part (null when there is none); its outputs are `frontier`, in order. */
  prefix: Uint8Array | null;
  /** Graph inputs the prefix reads, in order. */
  prefixInputs: string[];
  frontier: { name: string; dtype: ElemType; shape: number[] }[];
  /** The per-call part. */
  rest: Uint8Array;
  /** Inputs of `rest`, in order: the original inputs it reads, then the frontier. */
  restInputs: string[];
}

/** The tensors that depend on the inputs named in `vary` (nodes in topological order). */
function varyingOf(nodes: PendingNode[], vary: readonly string[]): Set<string> {
  const varying = new Set(vary);
  for (const nd of nodes) if (nd.inputs.some((x) => varying.has(x))) for (const o of nd.outputs) varying.add(o);
  return varying;
}

/** The broadcast of two static shapes (numpy rules), or null when unknown or incompatible. */
function broadcastOf(a: number[] | undefined, b: number[] | undefined): number[] | null {
  if (!a || !b) return null;
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Stable topological order (nodes keep their relative order where dependencies allow). */
function topoSort(nodes: PendingNode[], available: string[]): PendingNode[] {
  const have = new Set(available);
  have.add('');
  const out: PendingNode[] = [];
  let rest = nodes;
  while (rest.length > 0) {
    const next: PendingNode[] = [];
    for (const nd of rest) {
      if (nd.inputs.every((x) => have.has(x))) {
        out.push(nd);
        for (const o of nd.outputs) have.add(o);
      } else {
        next.push(nd);
      }
    }
    if (next.length === rest.length) throw new Error('GraphBuilder: the graph has a cycle or an undefined input');
    rest = next;
  }
  return out;
}

function copyBytes(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(raw.byteLength);
  out.set(raw);
  return out;
}

function valueInfo(name: string, dtype: ElemType, shape: number[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: onnxDtype(dtype),
          shape: create(TensorShapeProtoSchema, {
            // a negative size: unknown (a named, free dimension)
            dim: shape.map((d, i) =>
              create(TensorShapeProto_DimensionSchema, {
                value: d < 0 ? { case: 'dimParam', value: `${name}_${i}` } : { case: 'dimValue', value: BigInt(d) },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

function toNodeProto(nd: PendingNode): NodeProto {
  const attribute: AttributeProto[] = Object.entries(nd.attrs).map(([name, v]) => {
    if (typeof v === 'number') {
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) });
    }
    if (typeof v === 'string') {
      return create(AttributeProtoSchema, {
        name,
        type: AttributeProto_AttributeType.STRING,
        s: new TextEncoder().encode(v) as Uint8Array<ArrayBuffer>,
      });
    }
    if (Array.isArray(v)) {
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map(BigInt) });
    }
    if ('float' in v) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v.float });
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: v.floats });
  });
  return create(NodeProtoSchema, {
    opType: nd.opType,
    input: nd.inputs,
    output: nd.outputs,
    attribute,
    domain: nd.domain ?? '',
  });
}
