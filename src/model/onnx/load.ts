/**
 * Bring your own model: load an ONNX file (e.g. from `torch.onnx.export`) as a
 * losscape `Model`. The trained weights become the flat parameter vector θ (in
 * the file's initializer order, which for torch exports is `net.parameters()` /
 * state_dict order), and the graph runs in jax-js with the weights as inputs, so
 * losses, gradients, HVPs and surfaces work exactly as for zoo models.
 *
 * `graphBytes` is the same graph with the parameter initializers turned into graph
 * inputs (data input first, then the parameters in layout order), loadable by
 * onnxruntime-node to evaluate any perturbed θ.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { numpy as np } from '@jax-js/jax';
import { type GraphProto, type ModelProto, ModelProtoSchema, type NodeProto, TensorProto_DataLocation, type ValueInfoProto } from 'onnx-buf';
import { makeLayout, type ParamLayout, type ParamRole, type ParamSpec } from '../../core/layout.js';
import { Rng } from '../../core/rng.js';
import {
  baseDirOf,
  type DecodedTensor,
  DT,
  decodeTensor,
  dtypeName,
  FLOAT_TYPES,
  makeTensor,
  makeValueInfo,
  opsetOf,
  parseModel,
  serializeModel,
  shortestFloat32,
  valueInfoDims,
  valueInfoElemType,
} from '../../io/onnx-proto.js';
import { ensureJax } from '../jax.js';
import type { ApplyOptions, ApplyResult, BatchNormSite, DropoutSite, Model } from '../model.js';
import { compileNodes, type Program, runProgram } from './interpreter.js';
import { isSupportedOp } from './ops.js';
import { untieParameters } from './untie.js';
import { isStatic, Static } from './values.js';

export interface LoadOnnxOptions {
  /** Name used in messages (default: the path, or "ONNX model" for bytes). */
  label?: string;
  /** Per-sample input shape, needed when the graph input has symbolic dims besides the batch. */
  inputShape?: number[];
  /** The data input, when the graph has several non-initializer inputs. */
  inputName?: string;
  /** The graph output to use (default: the first). */
  outputName?: string;
  /** Exactly these initializers are the parameters, in this order (default: inferred). */
  params?: string[];
  /** Keep a final Softmax (default: drop it, since the losses expect logits; LogSoftmax is always kept). */
  keepSoftmax?: boolean;
}

export interface OnnxImport {
  model: Model;
  /** Trained weights, flat in layout order (float32). */
  theta: Float32Array;
  /** The graph with the parameters as inputs (data input first, then the parameters in layout order). */
  graphBytes: Uint8Array;
  inputName: string;
  outputName: string;
  opset: number;
  /** Things the importer decided that a user may want to know (e.g. a dropped Softmax). */
  notes: string[];
  /** Things about the file that likely make the results not what the user meant (one line each; e.g. folded batch norm). */
  warnings: string[];
}

/** Inputs that are shapes, indices or other non-learnable operands (never parameters). */
const STATIC_SLOTS: Record<string, number[]> = {
  Reshape: [1],
  Slice: [1, 2, 3, 4],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Upsample: [1],
  Expand: [1],
  Tile: [1],
  Unsqueeze: [1],
  Squeeze: [1],
  ConstantOfShape: [0],
  Gather: [1],
  Range: [0, 1, 2],
  Split: [1],
  TopK: [1],
  Dropout: [1, 2],
  Clip: [1, 2],
  ReduceMean: [1],
  ReduceSum: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  CumSum: [1],
  OneHot: [0, 1, 2],
};
/** Ops whose tensor operands are layer parameters even when they hold a single value. */
const LAYER_OPS = new Set(['Gemm', 'Conv', 'ConvTranspose', 'MatMul', 'BatchNormalization', 'PRelu', 'LayerNormalization', 'InstanceNormalization']);
const BN_ROLES: Record<number, ParamRole> = { 1: 'bn_scale', 2: 'bn_shift', 3: 'running_mean', 4: 'running_var' };

/** The nodes that read each tensor, with the input slot. */
type Consumers = Map<string, { node: NodeProto; slot: number }[]>;

function consumersOf(graph: GraphProto): Consumers {
  const m: Consumers = new Map();
  for (const node of graph.node) {
    node.input.forEach((name, slot) => {
      if (!name) return;
      const l = m.get(name) ?? [];
      l.push({ node, slot });
      m.set(name, l);
    });
  }
  return m;
}

function nodeName(n: NodeProto, k: number): string {
  return n.name || `#${k} ${n.opType}`;
}

/** Load an ONNX model from a path or from bytes. Errors are one line, naming the file. */
export async function loadOnnxModel(source: string | Uint8Array, opts: LoadOnnxOptions = {}): Promise<OnnxImport> {
  const path = typeof source === 'string' ? source : null;
  const label = opts.label ?? path ?? 'ONNX model';
  const fileBytes = path ? readModelFile(path, label) : (source as Uint8Array);
  const proto = parseModel(fileBytes, label);
  const graph = proto.graph!;
  const opset = opsetOf(proto);
  const notes = untieParameters(graph);
  const bytes = notes.length > 0 ? serializeModel(proto) : fileBytes;
  checkSupportedOps(graph, label);
  const baseDir = baseDirOf(path);
  const inits = decodeInitializers(graph, label, baseDir);
  const input = dataInput(graph, inits, opts.inputName, label);
  const inputName = input.name;
  const outputName = logitsOutput(graph, checkedOutput(graph, inits, opts.outputName, label), opts.keepSoftmax, notes);
  const consumers = consumersOf(graph);
  const paramNames = parameterNames(graph, inits, consumers, opts.params, label);
  const { layout, theta } = parameterLayout(inits, consumers, paramNames);
  const warnings = foldedBatchNorm(graph, paramNames);
  const program: Program = {
    label,
    opset,
    nodes: compileNodes(graph, new Set([outputName])),
    paramNames,
    dataInput: inputName,
    output: outputName,
    constants: constantsOf(inits, paramNames),
  };
  const inputShape = perSampleInputShape(input, opts.inputShape, label);
  const bnSite = batchNormSites(graph, paramNames);
  await ensureJax();
  const probe = probeModel(program, layout, theta, inputShape, input, notes);
  const graphBytes = weightsAsInputs(bytes, paramNames, inputName, outputName, baseDir, label);
  const producerTag = [proto.producerName, proto.producerVersion].filter(Boolean).join(' ');
  const model: Model = {
    name: `onnx ${path ? basename(path) : 'model'}${producerTag ? ` (${producerTag}, opset ${opset})` : ` (opset ${opset})`}`,
    layout,
    inputShape,
    outputDim: probe.outputDim,
    dropoutSites: probe.dropoutSites,
    batchNorms: bnSite.filter((s): s is BatchNormSite => s !== null),
    init: (seed) => initLike(layout, graph, seed),
    apply: (params, x, o: ApplyOptions = {}) => applyProgram(program, bnSite, probe.outputDim, params, x, o),
  };
  return { model, theta, graphBytes, inputName, outputName, opset, notes, warnings };
}

function readModelFile(path: string, label: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`${label}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Every op supported (one line naming the op and the node). */
function checkSupportedOps(graph: GraphProto, label: string): void {
  graph.node.forEach((n, k) => {
    if (!isSupportedOp(n.domain, n.opType)) {
      const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      throw new Error(`${label}: unsupported ONNX op "${op}" (node "${nodeName(n, k)}")`);
    }
  });
}

function decodeInitializers(graph: GraphProto, label: string, baseDir: string | null): Map<string, DecodedTensor> {
  const inits = new Map<string, DecodedTensor>();
  for (const t of graph.initializer) inits.set(t.name, decodeTensor(t, label, baseDir));
  if (graph.sparseInitializer.length > 0) throw new Error(`${label}: sparse initializers are not supported`);
  return inits;
}

/** The one graph input that is not an initializer (or the one named). */
function dataInput(graph: GraphProto, inits: Map<string, DecodedTensor>, inputName: string | undefined, label: string): ValueInfoProto {
  const dataInputs = graph.input.filter((i) => !inits.has(i.name));
  if (inputName) {
    const input = dataInputs.find((i) => i.name === inputName);
    if (!input) throw new Error(`${label}: no graph input "${inputName}" (inputs: ${dataInputs.map((i) => i.name).join(', ') || 'none'})`);
    return input;
  }
  if (dataInputs.length !== 1) {
    throw new Error(
      `${label}: the model has ${dataInputs.length} data inputs (${dataInputs.map((i) => i.name).join(', ')}); losscape needs exactly one (pick one with inputName)`,
    );
  }
  return dataInputs[0]!;
}

/** The output to use (the named one, or the first), checked to exist; the graph checked to be complete and sorted. */
function checkedOutput(graph: GraphProto, inits: Map<string, DecodedTensor>, outputName: string | undefined, label: string): string {
  const name = outputName ?? graph.output[0]?.name;
  if (!name) throw new Error(`${label}: the graph has no outputs`);
  if (outputName && !graph.output.some((o) => o.name === outputName) && !graph.node.some((n) => n.output.includes(outputName))) {
    throw new Error(`${label}: no tensor "${outputName}" in the graph`);
  }
  const defined = new Set<string>([...inits.keys(), ...graph.input.map((i) => i.name)]);
  graph.node.forEach((n, k) => {
    for (const i of n.input) {
      if (i && !defined.has(i)) {
        throw new Error(`${label}: node "${nodeName(n, k)}" reads "${i}", which nothing produces before it (truncated or unsorted graph?)`);
      }
    }
    for (const o of n.output) if (o) defined.add(o);
  });
  if (!defined.has(name)) throw new Error(`${label}: graph output "${name}" is never produced (truncated file?)`);
  return name;
}

/** The logits: the input of a final Softmax unless `keepSoftmax` (the losses want logits). */
function logitsOutput(graph: GraphProto, outputName: string, keepSoftmax: boolean | undefined, notes: string[]): string {
  const producer = graph.node.find((n) => n.output.includes(outputName));
  if (producer?.opType !== 'Softmax' || keepSoftmax) return outputName;
  notes.push(`dropped the final Softmax ("${producer.name}"): the output is now the logits "${producer.input[0]}"`);
  return producer.input[0]!;
}

/**
 * The parameters: the initializers asked for, or every float initializer some op reads as a
 * tensor operand (not a shape or an index) that has more than one value or feeds a layer op.
 */
function parameterNames(graph: GraphProto, inits: Map<string, DecodedTensor>, consumers: Consumers, asked: string[] | undefined, label: string): string[] {
  if (asked) {
    for (const n of asked) {
      const t = inits.get(n);
      if (!t) throw new Error(`${label}: no initializer "${n}" (asked for as a parameter)`);
      if (!FLOAT_TYPES.has(t.dataType)) throw new Error(`${label}: initializer "${n}" is ${dtypeName(t.dataType)}, not a float tensor`);
    }
  }
  const names = asked ? [...asked] : graph.initializer.map((t) => t.name).filter((n) => looksLikeWeight(inits.get(n)!, consumers.get(n) ?? []));
  if (names.length === 0) throw new Error(`${label}: no float initializers that look like weights; nothing to perturb`);
  return names;
}

function looksLikeWeight(t: DecodedTensor, uses: { node: NodeProto; slot: number }[]): boolean {
  if (!FLOAT_TYPES.has(t.dataType) || t.shape.length === 0 || t.data.length === 0) return false;
  if (uses.length === 0) return false;
  if (uses.every((u) => (STATIC_SLOTS[u.node.opType] ?? []).includes(u.slot))) return false;
  return t.data.length > 1 || uses.some((u) => LAYER_OPS.has(u.node.opType));
}

/** How to export a PyTorch model so that batch norm stays its own node. */
export const KEEP_BATCH_NORM_EXPORT = 'torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)';

/**
 * A warning when batch norm looks folded into the convolutions (torch's default eval export):
 * no BatchNormalization node, and convolution weights under the exporter's generated names
 * ("onnx::Conv_107") instead of torch's. The parameters are then the folded weights.
 */
function foldedBatchNorm(graph: GraphProto, paramNames: string[]): string[] {
  if (graph.node.some((n) => n.opType === 'BatchNormalization')) return [];
  const params = new Set(paramNames);
  const folded = graph.node.filter((n) => n.opType === 'Conv' && params.has(n.input[1] ?? '') && /^onnx::Conv_/.test(n.input[1]!));
  if (folded.length === 0) return [];
  return [
    `batch norm looks folded into the convolutions (no BatchNormalization nodes; ${folded.length} conv weights named like "${folded[0]!.input[1]}"): directions, filter normalization and the Hessian refer to the folded weights, not to the model's conv and batch-norm tensors; to keep batch norm, export with ${KEEP_BATCH_NORM_EXPORT}`,
  ];
}

/** The parameters' layout (roles from the ops that read them) and their values as θ. */
function parameterLayout(inits: Map<string, DecodedTensor>, consumers: Consumers, paramNames: string[]): { layout: ParamLayout; theta: Float32Array } {
  const roleOf = (name: string): ParamRole => {
    for (const u of consumers.get(name) ?? []) {
      if (u.node.opType === 'BatchNormalization' && BN_ROLES[u.slot]) return BN_ROLES[u.slot]!;
    }
    return inits.get(name)!.shape.length >= 2 ? 'weight' : 'bias';
  };
  const specs: ParamSpec[] = paramNames.map((name) => ({ name, shape: inits.get(name)!.shape, role: roleOf(name) }));
  const layout = makeLayout(specs);
  const theta = new Float32Array(layout.size);
  layout.entries.forEach((e) => theta.set(inits.get(e.name)!.data, e.offset));
  return { layout, theta };
}

/** The initializers that are not parameters, as constants of the program. */
function constantsOf(inits: Map<string, DecodedTensor>, paramNames: string[]): Map<string, Static> {
  const paramSet = new Set(paramNames);
  const constants = new Map<string, Static>();
  for (const [name, t] of inits) {
    if (paramSet.has(name)) continue;
    const kind = FLOAT_TYPES.has(t.dataType) ? 'float' : t.dataType === DT.BOOL ? 'bool' : 'int';
    constants.set(name, new Static(Float64Array.from(t.data), t.shape, kind));
  }
  return constants;
}

/** The per-sample input shape: the one given (checked against the declared one), or the declared one; a float input. */
function perSampleInputShape(input: ValueInfoProto, given: number[] | undefined, label: string): number[] {
  const dims = valueInfoDims(input);
  const declared = dims ? dims.slice(1) : null;
  let inputShape: number[];
  if (given) {
    inputShape = [...given];
    if (declared && (declared.length !== inputShape.length || declared.some((d, i) => typeof d === 'number' && d !== inputShape[i]))) {
      throw new Error(`${label}: inputShape [${inputShape}] does not fit the model input "${input.name}" [${dims!.map((d) => d ?? '?')}]`);
    }
  } else {
    if (!declared || declared.some((d) => typeof d !== 'number')) {
      throw new Error(
        `${label}: the model input "${input.name}" has shape [${dims ? dims.map((d) => d ?? '?') : 'unknown'}]; give the per-sample input shape (inputShape)`,
      );
    }
    inputShape = declared as number[];
  }
  const inElem = valueInfoElemType(input);
  if (inElem !== DT.UNDEFINED && inElem !== DT.FLOAT && inElem !== DT.DOUBLE && inElem !== DT.FLOAT16) {
    throw new Error(`${label}: the model input "${input.name}" is ${dtypeName(inElem)}; losscape feeds float inputs`);
  }
  return inputShape;
}

/** Per BatchNormalization node: its running statistics' parameter indices, or null when they are constants. */
function batchNormSites(graph: GraphProto, paramNames: string[]): (BatchNormSite | null)[] {
  const indexOf = new Map(paramNames.map((n, i) => [n, i]));
  return graph.node
    .filter((n) => n.opType === 'BatchNormalization')
    .map((n) => {
      const m = indexOf.get(n.input[3] ?? '');
      const v = indexOf.get(n.input[4] ?? '');
      return m !== undefined && v !== undefined ? { mean: m, var: v } : null;
    });
}

/** One sample through the program: the output size and the dropout sites (ratio, per-sample shape). */
function probeModel(
  program: Program,
  layout: ParamLayout,
  theta: Float32Array,
  inputShape: number[],
  input: ValueInfoProto,
  notes: string[],
): { outputDim: number; dropoutSites: DropoutSite[] } {
  const inputName = input.name;
  const dropoutSites: DropoutSite[] = [];
  const params = layout.entries.map((e) => np.array(theta.slice(e.offset, e.offset + e.size), { shape: e.shape }));
  const x = np.zeros([1, ...inputShape]);
  const batchDim = valueInfoDims(input)?.[0];
  if (typeof batchDim === 'number') {
    notes.push(
      `the input "${inputName}" has a fixed batch size of ${batchDim} (export with dynamic_axes={"${inputName}": {0: "batch"}}); other batch sizes are fed anyway`,
    );
  }
  let r: ReturnType<typeof runProgram>;
  try {
    r = runProgram(program, params, x, {
      onNode(cn, inputs) {
        if (cn.node.opType !== 'Dropout') return;
        const ratioIn = inputs[1];
        const p = ratioIn && isStatic(ratioIn) ? shortestFloat32(ratioIn.data[0]!) : typeof cn.attrs.ratio === 'number' ? (cn.attrs.ratio as number) : 0.5;
        const shape = inputs[0] ? (isStatic(inputs[0]) ? inputs[0].shape : (inputs[0].shape as number[])) : [];
        if (p > 0) dropoutSites.push({ p, shape: shape.slice(1) });
      },
    });
  } catch (e) {
    if (typeof batchDim === 'number' && batchDim !== 1) {
      throw new Error(
        `${(e as Error).message} (the model was exported with a fixed batch size of ${batchDim}; export it with dynamic_axes={"${inputName}": {0: "batch"}})`,
      );
    }
    throw e;
  }
  const shape = r.out.shape as number[];
  r.out.dispose();
  r.batchStats.forEach((a) => a.dispose());
  if (shape.length < 1 || shape[0] !== 1) {
    throw new Error(`${program.label}: output "${program.output}" has shape [${shape}] for one sample; expected [1, outputs]`);
  }
  return { outputDim: shape.slice(1).reduce((a, b) => a * b, 1), dropoutSites };
}

/** The model's forward pass: the program's output as [N, outputDim], the batch statistics of the batch norms with parameter statistics. */
function applyProgram(program: Program, bnSite: (BatchNormSite | null)[], outputDim: number, params: np.Array[], x: np.Array, o: ApplyOptions): ApplyResult {
  const r = runProgram(program, params, x, { train: o.train, conv: o.conv, dropoutMasks: o.dropoutMasks });
  let out = r.out;
  if (out.ndim !== 2) out = out.reshape([out.shape[0]!, outputDim]);
  const batchStats: np.Array[] = [];
  for (let k = 0; k < r.batchStats.length / 2; k++) {
    const [m, v] = [r.batchStats[2 * k]!, r.batchStats[2 * k + 1]!];
    if (bnSite[k]) batchStats.push(m, v);
    else {
      m.dispose();
      v.dispose();
    }
  }
  return { out, batchStats };
}

/**
 * Turn the parameter initializers into graph inputs (after the data input, in
 * layout order); external data of the remaining initializers is inlined. The one
 * graph output is `outputName`.
 */
function weightsAsInputs(bytes: Uint8Array, paramNames: string[], inputName: string, outputName: string, baseDir: string | null, label: string): Uint8Array {
  const m: ModelProto = fromBinary(ModelProtoSchema, bytes);
  const g = m.graph!;
  const params = new Set(paramNames);
  const byName = new Map(g.initializer.map((t) => [t.name, t]));
  const initNames = new Set(g.initializer.map((t) => t.name));
  const dataIn = g.input.find((i) => i.name === inputName)!;
  const others = g.input.filter((i) => i !== dataIn && !initNames.has(i.name));
  g.input = [
    dataIn!,
    ...paramNames.map((n) => {
      const t = byName.get(n)!;
      return makeValueInfo(n, t.dataType, t.dims.map(Number));
    }),
    ...others,
  ];
  g.initializer = g.initializer
    .filter((t) => !params.has(t.name))
    .map((t) => {
      if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) return t;
      const d = decodeTensor(t, label, baseDir);
      const type = d.dataType === DT.FLOAT || d.dataType === DT.DOUBLE || d.dataType === DT.INT64 || d.dataType === DT.INT32 ? d.dataType : DT.FLOAT;
      return makeTensor(t.name, type, d.shape, d.data);
    });
  const out = g.output.find((o) => o.name === outputName);
  g.output = [out ?? makeValueInfo(outputName, DT.FLOAT, null)];
  return serializeModel(m);
}

/**
 * Fresh parameters in PyTorch's default style: weights and their layer's bias
 * U(−1/√fan_in, 1/√fan_in); batch-norm scale 1, shift 0, running mean 0, running var 1.
 */
function initLike(layout: ParamLayout, graph: GraphProto, seed: number): Float32Array {
  const theta = new Float32Array(layout.size);
  const rng = new Rng(seed, 'init');
  const consumers = consumersOf(graph);
  const shapes = new Map(layout.entries.map((e) => [e.name, e.shape]));
  const producers = new Map<string, NodeProto>();
  for (const n of graph.node) for (const o of n.output) producers.set(o, n);
  const fanInOfWeight = (name: string): number | null => {
    const s = shapes.get(name);
    if (!s || s.length < 2) return null;
    for (const u of consumers.get(name) ?? []) {
      const transB = u.node.attribute.find((a) => a.name === 'transB');
      if (u.node.opType === 'MatMul' && u.slot === 1) return s[0]!;
      if (u.node.opType === 'Gemm' && u.slot === 1 && !(transB && Number(transB.i))) return s[0]!;
    }
    return s.slice(1).reduce((a, b) => a * b, 1);
  };
  const fanInOfBias = (name: string): number | null => {
    for (const u of consumers.get(name) ?? []) {
      const n = u.node;
      if ((n.opType === 'Gemm' || n.opType === 'Conv' || n.opType === 'ConvTranspose') && u.slot === 2) return fanInOfWeight(n.input[1]!);
      if (n.opType === 'Add') {
        const other = producers.get(n.input[1 - u.slot] ?? '');
        if (other && (other.opType === 'MatMul' || other.opType === 'Conv')) return fanInOfWeight(other.input[1]!);
      }
    }
    return null;
  };
  for (const e of layout.entries) {
    const out = theta.subarray(e.offset, e.offset + e.size);
    const norm = (consumers.get(e.name) ?? []).find((u) => u.node.opType === 'LayerNormalization' || u.node.opType === 'InstanceNormalization');
    if (e.role === 'bn_scale' || e.role === 'running_var' || norm?.slot === 1) out.fill(1);
    else if (e.role === 'bn_shift' || e.role === 'running_mean' || norm?.slot === 2) out.fill(0);
    else {
      const fan = e.role === 'weight' ? fanInOfWeight(e.name) : fanInOfBias(e.name);
      if (fan === null) out.fill(0);
      else {
        const b = 1 / Math.sqrt(fan);
        for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * b;
      }
    }
  }
  return theta;
}
