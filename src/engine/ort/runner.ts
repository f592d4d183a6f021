/**
 * OrtFunction: an onnxruntime-node session over a model made by `compileToOnnx` /
 * `jaxprToOnnx`, taking and returning flat typed arrays in graph input/output order.
 *
 * ```ts
 * const f = await OrtFunction.create(compiled.model, { threads: 1 });
 * const [loss] = await f.run([w1, b1, w2, b2, x, y]); // Float32Array views, not copied
 * await f.dispose();
 * ```
 *
 * Sessions use graph optimization level 'all', sequential execution and `threads` intra-op
 * threads (default: os.availableParallelism()). Create one per compiled function and reuse it.
 * Inputs are wrapped without copying; each must have exactly prod(shape) elements of the input's
 * element type (float32 → Float32Array, float64 → Float64Array, int32 → Int32Array,
 * uint32 → Uint32Array, bool → Uint8Array, int64 → BigInt64Array).
 * `device: 'cuda'` asks for the CUDA execution provider (needs onnxruntime-node's CUDA add-on,
 * which this project's install skips); CPU is the fallback for nodes CUDA cannot run.
 */

import { availableParallelism } from 'node:os';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType, type ValueInfoProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;

export interface OrtFunctionOptions {
  /** Intra-op threads (default: os.availableParallelism()). */
  threads?: number;
  device?: 'cpu' | 'cuda';
  /**
   * Let idle intra-op threads spin between ops (onnxruntime's default, true). false frees the
   * cores between ops: a long graph of large ops on several threads (a training step) then
   * costs less CPU time and suffers less when other processes share the cores.
   */
  spinning?: boolean;
}

export interface OrtIO {
  name: string;
  shape: number[];
  type: ort.Tensor.Type;
}

const ORT_TYPE: Partial<Record<TensorProto_DataType, ort.Tensor.Type>> = {
  [TensorProto_DataType.FLOAT]: 'float32',
  [TensorProto_DataType.DOUBLE]: 'float64',
  [TensorProto_DataType.INT32]: 'int32',
  [TensorProto_DataType.UINT32]: 'uint32',
  [TensorProto_DataType.INT64]: 'int64',
  [TensorProto_DataType.BOOL]: 'bool',
  [TensorProto_DataType.FLOAT16]: 'float16',
};

const ARRAY_CTOR: Partial<Record<ort.Tensor.Type, { new (length: number): TypedArray; name: string }>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
};

function describe(v: ValueInfoProto): OrtIO {
  const tt = v.type?.value;
  if (tt?.case !== 'tensorType') throw new Error(`OrtFunction: ${v.name} is not a tensor`);
  const type = ORT_TYPE[tt.value.elemType as TensorProto_DataType];
  if (!type) throw new Error(`OrtFunction: ${v.name} has an unsupported element type ${tt.value.elemType}`);
  const shape = (tt.value.shape?.dim ?? []).map((d) => {
    if (d.value.case !== 'dimValue') throw new Error(`OrtFunction: ${v.name} has a symbolic dim`);
    return Number(d.value.value);
  });
  return { name: v.name, shape, type };
}

export class OrtFunction {
  readonly inputs: OrtIO[];
  readonly outputs: OrtIO[];
  #session: ort.InferenceSession;
  #sizes: number[];
  #outputNames: string[];

  private constructor(session: ort.InferenceSession, inputs: OrtIO[], outputs: OrtIO[]) {
    this.#session = session;
    this.inputs = inputs;
    this.outputs = outputs;
    this.#sizes = inputs.map((i) => i.shape.reduce((a, b) => a * b, 1));
    this.#outputNames = outputs.map((o) => o.name);
  }

  static async create(model: Uint8Array, opts: OrtFunctionOptions = {}): Promise<OrtFunction> {
    const proto = fromBinary(ModelProtoSchema, model);
    const graph = proto.graph;
    if (!graph) throw new Error('OrtFunction: model has no graph');
    const inits = new Set(graph.initializer.map((t) => t.name));
    const inputs = graph.input.filter((v) => !inits.has(v.name)).map(describe);
    const outputs = graph.output.map(describe);
    const threads = opts.threads ?? availableParallelism();
    const session = await ort.InferenceSession.create(model, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionProviders: opts.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    });
    return new OrtFunction(session, inputs, outputs);
  }

  /** Run with one typed array per graph input; resolves to one typed array per output. */
  async run(inputs: readonly TypedArray[]): Promise<TypedArray[]> {
    const results = await this.#session.run(this.feeds(inputs));
    return this.#outputNames.map((n) => results[n].data as TypedArray);
  }

  /**
   * Run with preallocated outputs: onnxruntime writes each output into the given typed array
   * (exactly prod(shape) elements of the output's type), so state carried between calls
   * (weights, optimizer moments) stays in buffers the caller owns.
   */
  async runInto(inputs: readonly TypedArray[], outputs: readonly TypedArray[]): Promise<void> {
    if (outputs.length !== this.outputs.length) throw new Error(`OrtFunction: expected ${this.outputs.length} outputs, got ${outputs.length}`);
    const fetches: Record<string, ort.Tensor> = {};
    this.outputs.forEach((o, i) => {
      fetches[o.name] = new ort.Tensor(o.type, outputs[i] as ort.Tensor.DataTypeMap[typeof o.type], o.shape);
    });
    await this.#session.run(this.feeds(inputs), fetches);
  }

  /** Build the feeds for `run` (checks lengths and element types). */
  feeds(inputs: readonly TypedArray[]): Record<string, ort.Tensor> {
    if (inputs.length !== this.inputs.length) {
      throw new Error(`OrtFunction: expected ${this.inputs.length} inputs, got ${inputs.length}`);
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < inputs.length; i++) {
      const spec = this.inputs[i];
      const data = inputs[i];
      const ctor = ARRAY_CTOR[spec.type];
      if (ctor && !(data instanceof ctor)) {
        throw new Error(`OrtFunction: input ${i} (${spec.name}) must be a ${ctor.name} for ${spec.type}, got ${data.constructor.name}`);
      }
      if (data.length !== this.#sizes[i]) {
        throw new Error(`OrtFunction: input ${i} (${spec.name}) has ${data.length} elements, expected ${this.#sizes[i]} for shape [${spec.shape}]`);
      }
      feeds[spec.name] = new ort.Tensor(spec.type, data as ort.Tensor.DataTypeMap[typeof spec.type], spec.shape);
    }
    return feeds;
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}
