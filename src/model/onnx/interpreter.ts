/**
 * The ONNX graph interpreter: runs a graph node by node in jax-js with the
 * parameters (weights) and the data as inputs, so the whole forward pass is
 * traceable by grad / jvp / jit. Ops come from our table (./ops.ts); any other
 * op that @jax-js/onnx implements is delegated to it as a one-node model.
 */
import { create } from '@bufbuild/protobuf';
import { numpy as np } from '@jax-js/jax';
import { ONNXModel } from '@jax-js/onnx';
import { type GraphProto, GraphProtoSchema, ModelProtoSchema, type NodeProto, NodeProtoSchema, OperatorSetIdProtoSchema, type TensorProto } from 'onnx-buf';
import { type AttrValue, DT, makeTensor, makeValueInfo, parseAttributes, serializeModel } from '../../io/onnx-proto.js';
import type { ConvImpl } from '../layers.js';
import { OPS, type OpContext } from './ops.js';
import { type FloatDType, isStatic, own, Static, shapeOf, type Val } from './values.js';

type Arr = np.Array;

export interface CompiledNode {
  node: NodeProto;
  label: string;
  attrs: Record<string, AttrValue>;
  /** For each output: consumed later or a graph output. */
  used: boolean[];
}

export interface Program {
  label: string;
  opset: number;
  nodes: CompiledNode[];
  /** Graph-input names of the parameters, in layout order. */
  paramNames: string[];
  dataInput: string;
  output: string;
  /** Initializers that are not parameters, as static tensors (materialized when used by an array op). */
  constants: Map<string, Static>;
}

export interface RunOptions {
  train?: boolean;
  conv?: ConvImpl;
  dropoutMasks?: Arr[];
  /** Called after each node (probe runs record shapes here). */
  onNode?(n: CompiledNode, inputs: (Val | undefined)[], outputs: Val[]): void;
  /** Intermediate tensors to return as well (owned copies). */
  extraOutputs?: string[];
}

export interface RunResult {
  out: Arr;
  /** Train mode: [mean, var] of every BatchNormalization node, in node order (flat). */
  batchStats: Arr[];
  extra: Record<string, Val>;
}

export function nodeLabel(n: NodeProto, index: number): string {
  return n.name ? `"${n.name}"` : `#${index} (${n.opType})`;
}

export function compileNodes(graph: GraphProto, outputs: Set<string>): CompiledNode[] {
  const consumed = new Set<string>();
  for (const n of graph.node) for (const i of n.input) if (i) consumed.add(i);
  return graph.node.map((node, k) => ({
    node,
    label: nodeLabel(node, k),
    attrs: parseAttributes(node),
    used: node.output.map((o) => o !== '' && (consumed.has(o) || outputs.has(o))),
  }));
}

/** Run the program. `params` and `x` are consumed (each exactly once). */
export function runProgram(p: Program, params: Arr[], x: Arr, opts: RunOptions = {}): RunResult {
  if (params.length !== p.paramNames.length) {
    throw new Error(`expected ${p.paramNames.length} parameter arrays, got ${params.length}`);
  }
  const vars = new Map<string, Val>();
  const dtype: FloatDType = x.dtype === np.float64 ? 'float64' : 'float32';
  const batchStats: Arr[] = [];
  let dropoutIndex = 0;
  const extra: Record<string, Val> = {};
  try {
    for (const [name, s] of p.constants) vars.set(name, s);
    p.paramNames.forEach((name, k) => vars.set(name, params[k]!));
    vars.set(p.dataInput, x);
    for (const cn of p.nodes) {
      const { node } = cn;
      const inputs = node.input.map((name) => {
        if (name === '') return undefined;
        const v = vars.get(name);
        if (v === undefined) throw new Error(`${p.label}: node ${cn.label} (${node.opType}) reads "${name}", which no earlier node produces`);
        return v;
      });
      const fail = (e: unknown): never => {
        const msg = (e as Error).message ?? String(e);
        if (msg.startsWith(`${p.label}:`)) throw e;
        throw new Error(`${p.label}: node ${cn.label} (${node.opType}): ${msg}`);
      };
      const c: OpContext = {
        node,
        opType: node.opType,
        opset: p.opset,
        inputs,
        attrs: cn.attrs,
        dtype,
        train: opts.train ?? false,
        conv: opts.conv ?? 'im2col',
        outputUsed: (k) => cn.used[k] ?? false,
        batchStats: (m, v) => batchStats.push(m, v),
        dropoutMask: () => opts.dropoutMasks?.[dropoutIndex++] ?? null,
        A: (i) => {
          const v = inputs[i];
          if (v === undefined) throw new Error(`input ${i} is missing`);
          return own(v, dtype);
        },
        S: (i, what = `input ${i}`) => toStatic(inputs[i], what),
        has: (i) => inputs[i] !== undefined,
        delegate: () => delegate(p, node, inputs, dtype, cn.used),
      };
      const fn = Object.hasOwn(OPS, node.opType) ? OPS[node.opType] : undefined;
      let outs: Val[];
      try {
        outs = fn !== undefined && (node.domain === '' || node.domain === 'ai.onnx') ? fn(c) : c.delegate();
      } catch (e) {
        fail(e);
        throw e;
      }
      node.output.forEach((name, k) => {
        const v = outs[k];
        if (!name) {
          if (v && !isStatic(v)) v.dispose();
          return;
        }
        if (v === undefined) {
          if (cn.used[k]) throw new Error(`${p.label}: node ${cn.label} (${node.opType}) does not produce output ${k} ("${name}")`);
          return;
        }
        const old = vars.get(name);
        if (old && !isStatic(old)) old.dispose();
        vars.set(name, v);
      });
      for (let k = node.output.length; k < outs.length; k++) {
        const v = outs[k]!;
        if (!isStatic(v)) v.dispose();
      }
      opts.onNode?.(cn, inputs, outs);
    }
    const o = vars.get(p.output);
    if (o === undefined) throw new Error(`${p.label}: graph output "${p.output}" is never produced`);
    for (const name of opts.extraOutputs ?? []) {
      const v = vars.get(name);
      if (v !== undefined) extra[name] = isStatic(v) ? v : v.ref;
    }
    return { out: own(o, dtype), batchStats, extra };
  } finally {
    for (const v of vars.values()) if (!isStatic(v)) v.dispose();
  }
}

function toStatic(v: Val | undefined, what: string): Static {
  if (v === undefined) throw new Error(`${what} is missing`);
  if (isStatic(v)) return v;
  // A concrete (not traced) array can be read back; a traced one depends on the data.
  let js: unknown;
  try {
    js = v.ref.js();
  } catch {
    throw new Error(`${what} must be a constant (or computed from shapes), but it depends on the data`);
  }
  const flat = (a: unknown): number[] => (Array.isArray(a) ? a.flatMap(flat) : [Number(a)]);
  const kind = v.dtype === np.float32 || v.dtype === np.float64 || v.dtype === np.float16 ? 'float' : v.dtype === np.bool ? 'bool' : 'int';
  return new Static(Float64Array.from(flat(js)), v.shape as number[], kind);
}

/**
 * Run one node through @jax-js/onnx: statics become initializers (so it sees them
 * as constants), arrays become graph inputs.
 */
function delegate(p: Program, node: NodeProto, inputs: (Val | undefined)[], dtype: FloatDType, used: boolean[]): Val[] {
  const feed: Record<string, Arr> = {};
  const initializer: TensorProto[] = [];
  const inNames = inputs.map((v, i) => {
    if (v === undefined) return '';
    const name = `in${i}`;
    if (isStatic(v)) {
      const t = v.kind === 'float' ? (dtype === 'float64' ? DT.DOUBLE : DT.FLOAT) : v.kind === 'bool' ? DT.BOOL : DT.INT64;
      initializer.push(makeTensor(name, t, v.shape, v.data));
    } else feed[name] = v.ref;
    return name;
  });
  const outNames = node.output.map((o, k) => (o && used[k] ? `out${k}` : ''));
  const one = create(NodeProtoSchema, { ...node, input: inNames, output: node.output.map((o, k) => (o ? `out${k}` : '')) });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(p.opset) })],
    graph: create(GraphProtoSchema, {
      name: 'delegate',
      node: [one],
      input: Object.keys(feed).map((n) => makeValueInfo(n, DT.UNDEFINED, null)),
      initializer,
      output: outNames.filter((n) => n).map((n) => makeValueInfo(n, DT.UNDEFINED, null)),
    }),
  });
  let m: ONNXModel;
  try {
    m = new ONNXModel(serializeModel(model) as Uint8Array<ArrayBuffer>);
  } catch (e) {
    for (const a of Object.values(feed)) a.dispose();
    throw e;
  }
  const r = m.run(feed);
  // The one-node model's own constants are not disposed: a jit trace may have captured them.
  return outNames.map((n) => (n ? r[n]! : (undefined as unknown as Val)));
}

export { shapeOf };
