/** Build small ONNX ModelProtos in tests (there is no torch here): a minimal graph builder over onnx-buf. */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  type AttributeProto,
  AttributeProtoSchema,
  TensorProto_DataType as DT,
  GraphProtoSchema,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import type { ParamLayout } from '../../src/core/layout.js';
import { makeTensor, makeValueInfo, serializeModel } from '../../src/io/onnx-proto.js';

export type Attr = number | number[] | string | { float: number } | { floats: number[] } | TensorProto;

function attribute(name: string, v: Attr): AttributeProto {
  if (typeof v === 'number') return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(v) });
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AT.INTS, ints: v.map(BigInt) });
  if ('float' in v) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: v.float });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: v.floats });
  return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: v });
}

export class GraphBuilder {
  nodes: NodeProto[] = [];
  inits: TensorProto[] = [];
  inputs: ValueInfoProto[] = [];
  outputs: ValueInfoProto[] = [];
  private n = 0;

  input(name: string, dims: (number | string)[]): this {
    this.inputs.push(makeValueInfo(name, DT.FLOAT, dims));
    return this;
  }
  output(name: string, dims: (number | string)[] | null = null): this {
    this.outputs.push(makeValueInfo(name, DT.FLOAT, dims));
    return this;
  }
  init(name: string, shape: number[], values: ArrayLike<number>, type: DT = DT.FLOAT): string {
    this.inits.push(makeTensor(name, type, shape, values));
    return name;
  }
  ints(name: string, values: number[]): string {
    return this.init(name, [values.length], values, DT.INT64);
  }
  /** Add a node; returns its first output name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[], name?: string): string {
    const k = this.n++;
    const outs = outputs ?? [`t${k}_${op}`];
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: op,
        name: name ?? `/${op}_${k}`,
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([a, v]) => attribute(a, v)),
      }),
    );
    return outs[0]!;
  }
  bytes(opset = 13, producer = 'losscape-test'): Uint8Array {
    const m = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: producer,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
      graph: create(GraphProtoSchema, {
        name: 'g',
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return serializeModel(m);
  }
}

/** Deterministic pseudo-random floats in [-s, s]. */
export function randoms(n: number, seed: number, s = 1): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = ((x / 4294967296) * 2 - 1) * s;
  }
  return out;
}

/** Initializers for every layout entry, values from θ, in layout order. */
export function addLayoutInits(g: GraphBuilder, layout: ParamLayout, theta: Float32Array): void {
  for (const e of layout.entries) g.init(e.name, e.shape, theta.subarray(e.offset, e.offset + e.size));
}

/**
 * ONNX twin of the zoo CNN `{ type: 'cnn', channels, kernel, padding: 'valid', pool, dense: [], batchNorm }`:
 * (Conv → [BN] → Relu → 2×2 pool) per layer → Flatten → Gemm.
 */
export function zooCnnGraph(
  layout: ParamLayout,
  theta: Float32Array,
  inputShape: number[],
  channels: number[],
  batchNorm: boolean,
  pool: 'max' | 'avg',
): Uint8Array {
  const g = new GraphBuilder().input('x', ['N', ...inputShape]).output('logits');
  addLayoutInits(g, layout, theta);
  let h = g.node('Reshape', ['x', g.ints('img_shape', [0, 1, 28, 28])]);
  channels.forEach((_, i) => {
    h = g.node('Conv', [h, `conv${i + 1}.weight`, `conv${i + 1}.bias`], {}, undefined, `/conv${i + 1}/Conv`);
    if (batchNorm) {
      const b = `bn${i + 1}`;
      h = g.node('BatchNormalization', [h, `${b}.weight`, `${b}.bias`, `${b}.running_mean`, `${b}.running_var`], { epsilon: { float: 1e-5 } });
    }
    h = g.node('Relu', [h]);
    h = g.node(pool === 'max' ? 'MaxPool' : 'AveragePool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  });
  h = g.node('Flatten', [h], { axis: 1 });
  g.node('Gemm', [h, 'fc1.weight', 'fc1.bias'], { transB: 1 }, ['logits']);
  return g.bytes();
}

/**
 * ONNX twin of the zoo ResNet `{ type: 'resnet', width, blocks, skip: true, batchNorm: true }` on
 * [1, 28, 28] images: stride-2 convs where the zoo subsamples, torch-style flatten
 * (Shape → Gather → Unsqueeze → Concat → Reshape).
 */
export function zooResnetGraph(layout: ParamLayout, theta: Float32Array, width: number, blocks: number[]): Uint8Array {
  const g = new GraphBuilder().input('x', ['N', 784]).output('logits');
  addLayoutInits(g, layout, theta);
  const bn = (h: string, p: string) =>
    g.node('BatchNormalization', [h, `${p}.weight`, `${p}.bias`, `${p}.running_mean`, `${p}.running_var`], {
      epsilon: { float: 1e-5 },
      momentum: { float: 0.9 },
    });
  const conv = (h: string, w: string, k: number, stride: number) =>
    g.node('Conv', [h, w], { kernel_shape: [k, k], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], strides: [stride, stride] });
  let h = g.node('Reshape', ['x', g.ints('img', [-1, 1, 28, 28])]);
  h = g.node('Relu', [bn(conv(h, 'stem.weight', 3, 1), 'stem.bn')]);
  let c = width;
  blocks.forEach((n, s) => {
    for (let k = 0; k < n; k++) {
      const stride = s > 0 && k === 0 ? 2 : 1;
      const out = s > 0 && k === 0 ? c * 2 : c;
      const p = `layer${s + 1}.${k}`;
      let m = g.node('Relu', [bn(conv(h, `${p}.conv1.weight`, 3, stride), `${p}.bn1`)]);
      m = bn(conv(m, `${p}.conv2.weight`, 3, 1), `${p}.bn2`);
      const sc = stride === 1 && out === c ? h : bn(conv(h, `${p}.downsample.0.weight`, 1, stride), `${p}.downsample.1`);
      h = g.node('Relu', [g.node('Add', [m, sc])]);
      c = out;
    }
  });
  h = g.node('GlobalAveragePool', [h]);
  // torch: x.view(x.size(0), -1)
  const shape = g.node('Shape', [h]);
  const n0 = g.node('Gather', [shape, g.node('Constant', [], { value: makeTensor('c0', DT.INT64, [], [0]) })], { axis: 0 });
  const n1 = g.node('Unsqueeze', [n0, g.ints('ax0', [0])]);
  const target = g.node('Concat', [n1, g.ints('minus1', [-1])], { axis: 0 });
  h = g.node('Reshape', [h, target]);
  g.node('Gemm', [h, 'fc.weight', 'fc.bias'], { transB: 1, alpha: { float: 1 }, beta: { float: 1 } }, ['logits']);
  return g.bytes();
}
