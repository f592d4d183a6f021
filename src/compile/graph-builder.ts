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
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from 'onnx-buf';
import { type PassContext, type PendingNode, topoSort } from './passes/context.js';
import { fuseSiblingConvs, hoistedPatchConvs, mergeSummedConvTransposes, nchwcConvs, nchwcSums } from './passes/conv.js';
import { foldInvariantFactors, poolBeforeRelu } from './passes/elementwise.js';

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
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
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
   * com.microsoft.nchwc Convs with the weights reordered inside the graph (passes/conv.ts `nchwcConvs`).
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
    const c = this.#ctx();
    const nodes = nchwcSums(c, nchwcConvs(c, poolBeforeRelu(c, mergeSummedConvTransposes(c, fuseSiblingConvs(c, live)))));
    return topoSort(nodes, [...this.#inputs.map((i) => i.name), ...this.#initializers.keys()]);
  }

  /** What the graph passes (./passes) see of this builder. */
  #ctx(): PassContext {
    return {
      shapes: this.shapes,
      dtypes: this.dtypes,
      nchwcBlock: this.nchwcBlock,
      outputs: this.#outputs.map((o) => o.name),
      available: () => [...this.#inputs.map((i) => i.name), ...this.#initializers.keys()],
      isInitializer: (name) => this.#initializers.has(name),
      int64Values: (name) => this.#int64Values(name),
      fresh: () => this.fresh(),
      int64s: (values) => this.int64s(values),
      scalar: (dtype, value) => this.scalar(dtype, value),
    };
  }

  /** The values of an int64 initializer (e.g. a ReduceSum's axes), or null. */
  #int64Values(name: string): number[] | null {
    const t = this.#initializers.get(name);
    if (!t || t.dataType !== onnxDtype('int64') || t.rawData.length % 8 !== 0) return null;
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
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
        ...[...new Set(nodes.flatMap((n) => (n.domain ? [n.domain] : [])))].map((domain) => create(OperatorSetIdProtoSchema, { domain, version: 1n })),
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
   *
   * Inputs named in `fixed` (the data) never change for a session: what depends on them alone
   * (e.g. the data's unfolded patches) goes to a third graph, `setup`, run once per data batch;
   * its outputs (`fixedOutputs`) are inputs of the same names of `prefix` and `rest`.
   */
  toSplitModels(graphName: string, vary: readonly string[], producer = 'losscape', fixed: readonly string[] = []): SplitModels {
    const c = this.#ctx();
    const nodes = hoistedPatchConvs(c, foldInvariantFactors(c, this.#finalNodes(), vary), vary);
    const varying = new Set(vary);
    const constant = new Set<string>(this.#initializers.keys());
    constant.add('');
    const fixedValues = new Set(fixed.filter((f) => !varying.has(f)));
    const outputNames = new Set(this.#outputs.map((o) => o.name));
    const kind = new Map<PendingNode, 'const' | 'data' | 'inv' | 'var'>();
    for (const nd of nodes) {
      let k: 'const' | 'data' | 'inv' | 'var';
      if (nd.outputs.some((o) => outputNames.has(o)) || nd.inputs.some((x) => varying.has(x))) k = 'var';
      else if (nd.inputs.every((x) => constant.has(x))) k = 'const';
      else if (nd.inputs.every((x) => constant.has(x) || fixedValues.has(x))) k = 'data';
      else k = 'inv';
      kind.set(nd, k);
      for (const o of nd.outputs) (k === 'var' ? varying : k === 'const' ? constant : k === 'data' ? fixedValues : null)?.add(o);
    }
    const of = (k: string) => nodes.filter((n) => kind.get(n) === k);
    const constNodes = of('const');
    const dataNodes = of('data');
    const invNodes = of('inv');
    const restCore = of('var');
    const dataOutputs = new Set(dataNodes.flatMap((n) => n.outputs));
    const invOutputs = new Set(invNodes.flatMap((n) => n.outputs));
    /** Outputs in `produced` that `readers` read, in first-read order. */
    const readBy = (readers: PendingNode[], produced: Set<string>): string[] => {
      const out = new Set<string>();
      for (const nd of readers) for (const x of nd.inputs) if (produced.has(x)) out.add(x);
      return [...out];
    };
    // frontier: invariant node outputs the varying nodes read
    const frontier = readBy(restCore, invOutputs);
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
    const position = new Map(nodes.map((n, i) => [n, i]));
    const inOrder = (a: PendingNode[]) => a.sort((p, q) => position.get(p)! - position.get(q)!);
    const known = (names: string[]) => names.every((f) => this.shapes.has(f) && this.dtypes.has(f));
    if (frontier.length === 0 || !known(frontier)) {
      return {
        setup: null,
        setupInputs: [],
        fixedOutputs: [],
        prefix: null,
        prefixInputs: [],
        frontier: [],
        rest: this.toModel(graphName, producer),
        restInputs: this.#inputs.map((i) => i.name),
      };
    }
    const restNodes = [
      ...closure(
        constNodes,
        restCore.flatMap((n) => n.inputs),
      ),
      ...restCore,
    ];
    const prefixNodes = closure(inOrder([...constNodes, ...invNodes]), frontier);
    // the setup graph's outputs: data-only values the prefix or the rest reads
    let fixedOut = readBy([...prefixNodes, ...restNodes], dataOutputs);
    let setupNodes = closure(inOrder([...constNodes, ...dataNodes]), fixedOut);
    if (!known(fixedOut)) {
      // shapes unknown: no setup graph, its nodes stay in the prefix
      const pre = closure(inOrder([...constNodes, ...dataNodes, ...invNodes]), frontier);
      prefixNodes.splice(0, prefixNodes.length, ...pre);
      fixedOut = [];
      setupNodes = [];
    }
    const usedInputs = (ns: PendingNode[]) => {
      const uses = new Set(ns.flatMap((n) => n.inputs));
      return this.#inputs.filter((i) => uses.has(i.name)).map((i) => i.name);
    };
    const infos = (names: string[]) => names.map((name) => ({ name, dtype: this.dtypes.get(name)!, shape: this.shapes.get(name)! }));
    const fixedSpecs = infos(fixedOut);
    const fixedInfos = fixedSpecs.map((f) => valueInfo(f.name, f.dtype, f.shape));
    const fixedUsedBy = (ns: PendingNode[]) => readBy(ns, new Set(fixedOut));
    const setupInputs = usedInputs(setupNodes);
    const setup = fixedOut.length
      ? this.#serialize(
          `${graphName}.setup`,
          topoSort(setupNodes, [...setupInputs, ...this.#initializers.keys()]),
          setupInputs.map(inputOf),
          fixedInfos,
          producer,
        )
      : null;
    const infoOf = (name: string) => fixedInfos[fixedOut.indexOf(name)] ?? inputOf(name);
    const prefixInputs = [...usedInputs(prefixNodes), ...fixedUsedBy(prefixNodes)];
    const frontierSpecs = infos(frontier);
    const fInfos = frontierSpecs.map((f) => valueInfo(f.name, f.dtype, f.shape));
    const prefix = this.#serialize(
      `${graphName}.prefix`,
      topoSort(prefixNodes, [...prefixInputs, ...this.#initializers.keys()]),
      prefixInputs.map(infoOf),
      fInfos,
      producer,
    );
    const restInputs = [...usedInputs(restNodes), ...fixedUsedBy(restNodes)];
    const rest = this.#serialize(
      graphName,
      topoSort(restNodes, [...restInputs, ...frontier, ...this.#initializers.keys()]),
      [...restInputs.map(infoOf), ...fInfos],
      this.#outputs,
      producer,
    );
    return { setup, setupInputs, fixedOutputs: fixedSpecs, prefix, prefixInputs, frontier: frontierSpecs, rest, restInputs: [...restInputs, ...frontier] };
  }
}

export interface SplitModels {
  /** The part that depends on the `fixed` inputs only (null when there is none); its outputs are `fixedOutputs`. */
  setup: Uint8Array | null;
  /** Graph inputs the setup reads, in order. */
  setupInputs: string[];
  fixedOutputs: { name: string; dtype: ElemType; shape: number[] }[];
  /** The invariant part (null when there is none); its outputs are `frontier`, in order. */
  prefix: Uint8Array | null;
  /** Graph inputs and setup outputs the prefix reads, in order. */
  prefixInputs: string[];
  frontier: { name: string; dtype: ElemType; shape: number[] }[];
  /** The per-call part. */
  rest: Uint8Array;
  /** Inputs of `rest`, in order: the original inputs and setup outputs it reads, then the frontier. */
  restInputs: string[];
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
