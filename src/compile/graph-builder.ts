/**
 * A small ONNX graph builder: nodes with memoized (CSE) creation, typed initializers, cached
 * scalar / int64 constants, and serialization to ModelProto bytes (opset 18), as one graph
 * (`toModel`) or split for hoisting (`toSplitModels`, split.ts). Serializing runs the graph
 * passes of passes/pipeline.ts first (dead nodes dropped, convs fused, …).
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
  type ValueInfoProto,
} from 'onnx-buf';
import { decodeTensor, encodeTensorData, makeValueInfo } from '../io/onnx-proto.js';
import { type PassContext, type PendingNode, topoSort } from './passes/context.js';
import { runPasses } from './passes/pipeline.js';
import { planSplit } from './split.js';

/** Element types this translator handles (jax-js dtype names, plus int64 for ONNX shapes). */
export type ElemType = 'float32' | 'float64' | 'float16' | 'int32' | 'uint32' | 'bool' | 'int64';

const ONNX_OPSET = 18;

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
        rawData: raw.slice(),
      }),
    );
    this.shapes.set(n, shape);
    this.dtypes.set(n, dtype);
    return n;
  }

  /** A cached constant tensor (scalar when `shape` is []), filled with `values`. */
  constant(dtype: ElemType, values: number[], shape: number[] = values.length === 1 ? [] : [values.length]): string {
    const raw = encodeTensorData(onnxDtype(dtype), values);
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

  /** What the graph passes (./passes) see of this builder. */
  #ctx(vary: readonly string[]): PassContext {
    return {
      shapes: this.shapes,
      dtypes: this.dtypes,
      nchwcBlock: this.nchwcBlock,
      outputs: this.#outputs.map((o) => o.name),
      vary,
      available: () => [...this.#inputs.map((i) => i.name), ...this.#initializers.keys()],
      isInitializer: (name) => this.#initializers.has(name),
      int64Values: (name) => this.#int64Values(name),
      fresh: () => this.fresh(),
      int64s: (values) => this.int64s(values),
      scalar: (dtype, value) => this.scalar(dtype, value),
      constant: (dtype, values, shape) => this.constant(dtype, values, shape),
    };
  }

  /** The values of an int64 initializer (e.g. a ReduceSum's axes), or null. */
  #int64Values(name: string): number[] | null {
    const t = this.#initializers.get(name);
    if (!t || t.dataType !== onnxDtype('int64')) return null;
    return Array.from(decodeTensor(t, 'GraphBuilder').data);
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

  /** Serialize after the graph passes (which drop the nodes no graph output depends on). */
  toModel(graphName: string, producer = 'losscape'): Uint8Array {
    return this.#serialize(graphName, runPasses(this.#ctx([]), this.#nodes, false), this.#inputs, this.#outputs, producer);
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
    const nodes = runPasses(this.#ctx(vary), this.#nodes, true);
    const inputNames = this.#inputs.map((i) => i.name);
    const known = (name: string) => this.shapes.has(name) && this.dtypes.has(name);
    const plan = planSplit(
      nodes,
      { inputs: inputNames, initializers: new Set(this.#initializers.keys()), outputs: this.#outputs.map((o) => o.name), known },
      vary,
      fixed,
    );
    if (!plan) {
      return {
        setup: null,
        setupInputs: [],
        fixedOutputs: [],
        prefix: null,
        prefixInputs: [],
        frontier: [],
        rest: this.toModel(graphName, producer),
        restInputs: inputNames,
      };
    }
    const specs = (names: string[]) => names.map((name) => ({ name, dtype: this.dtypes.get(name)!, shape: this.shapes.get(name)! }));
    const fixedOutputs = specs(plan.fixedOut);
    const frontier = specs(plan.frontier);
    const fixedInfos = fixedOutputs.map((f) => valueInfo(f.name, f.dtype, f.shape));
    const frontierInfos = frontier.map((f) => valueInfo(f.name, f.dtype, f.shape));
    const infoOf = (name: string) => fixedInfos[plan.fixedOut.indexOf(name)] ?? this.#inputs.find((i) => i.name === name)!;
    const initializers = [...this.#initializers.keys()];
    const graph = (name: string, ns: PendingNode[], inputs: string[], given: ValueInfoProto[], outputs: ValueInfoProto[]) =>
      this.#serialize(name, topoSort(ns, [...inputs, ...given.map((i) => i.name), ...initializers]), [...inputs.map(infoOf), ...given], outputs, producer);
    return {
      setup: plan.fixedOut.length ? graph(`${graphName}.setup`, plan.setupNodes, plan.setupInputs, [], fixedInfos) : null,
      setupInputs: plan.setupInputs,
      fixedOutputs,
      prefix: graph(`${graphName}.prefix`, plan.prefixNodes, plan.prefixInputs, [], frontierInfos),
      prefixInputs: plan.prefixInputs,
      frontier,
      rest: graph(graphName, plan.restNodes, plan.restInputs, frontierInfos, this.#outputs),
      restInputs: [...plan.restInputs, ...plan.frontier],
    };
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

/** A graph input / output; a negative size is unknown (a named, free dimension). */
function valueInfo(name: string, dtype: ElemType, shape: number[]): ValueInfoProto {
  return makeValueInfo(
    name,
    onnxDtype(dtype),
    shape.map((d, i) => (d < 0 ? `${name}_${i}` : d)),
  );
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
