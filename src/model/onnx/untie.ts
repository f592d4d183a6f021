/**
 * Parameters the exporter tied: torch.onnx.export stores equal tensors once in eval exports
 * (e.g. two batch-norm biases that happen to be equal), either as one initializer read by
 * several layers or as an `Identity` from that initializer to the other parameter's name. In
 * the PyTorch model they are separate parameters (`net.parameters()` lists both, a direction
 * file has a tensor for each, training moves them apart), so the importer gives each its own
 * initializer again: named as torch names it (the Identity's output, or the module path that
 * torch writes into node names plus the slot's name: `/layer2/layer2.0/downsample/downsample.1/
 * BatchNormalization` input 2 → `layer2.0.downsample.1.bias`), placed in the initializer order
 * next to the same layer's other parameters (so the order stays state_dict order).
 */
import { clone } from '@bufbuild/protobuf';
import { type GraphProto, type NodeProto, type TensorProto, TensorProtoSchema } from 'onnx-buf';

/** torch's names of the parameter slots of layer ops. */
const SLOT_NAMES: Record<string, Record<number, string>> = {
  BatchNormalization: { 1: 'weight', 2: 'bias', 3: 'running_mean', 4: 'running_var' },
  Conv: { 1: 'weight', 2: 'bias' },
  ConvTranspose: { 1: 'weight', 2: 'bias' },
  Gemm: { 1: 'weight', 2: 'bias' },
  LayerNormalization: { 1: 'weight', 2: 'bias' },
  InstanceNormalization: { 1: 'weight', 2: 'bias' },
  PRelu: { 1: 'weight' },
};

/** The module path torch writes into a node name ("/layer2/layer2.0/conv1/Conv" → "layer2.0.conv1"), or null. */
export function modulePath(nodeName: string): string | null {
  if (!nodeName.startsWith('/')) return null;
  const parts = nodeName.split('/').slice(1, -1);
  if (parts.length === 0) return null;
  let path: string[] = [];
  for (const p of parts) {
    const last = path.at(-1);
    // "downsample" then "downsample.1": the child of a Sequential replaces its parent's segment
    if (last !== undefined && p.startsWith(`${last}.`)) path = [...path.slice(0, -1), ...p.split('.')];
    else path.push(...p.split('.'));
  }
  return path.join('.');
}

/** torch's name of the parameter read by `node` at `slot`, or null when it cannot be told. */
export function parameterNameAt(node: NodeProto, slot: number): string | null {
  const what = SLOT_NAMES[node.opType]?.[slot];
  const path = modulePath(node.name);
  return what && path ? `${path}.${what}` : null;
}

function copyTensor(t: TensorProto, name: string): TensorProto {
  const c = clone(TensorProtoSchema, t);
  c.name = name;
  return c;
}

/** Insert `t` after the initializer of the same node's highest smaller slot (else before its next one, else last). */
function insertNextToSiblings(g: GraphProto, t: TensorProto, node: NodeProto, slot: number): void {
  const pos = (name: string) => g.initializer.findIndex((x) => x.name === name);
  let at = -1;
  for (let s = slot - 1; s >= 1 && at < 0; s--) {
    const k = pos(node.input[s] ?? '');
    if (k >= 0) at = k + 1;
  }
  for (let s = slot + 1; s < node.input.length && at < 0; s++) {
    const k = pos(node.input[s] ?? '');
    if (k >= 0) at = k;
  }
  if (at < 0) g.initializer.push(t);
  else g.initializer.splice(at, 0, t);
}

/** Unties the exporter's tied float parameters in place; returns one note per untied tensor. */
export function untieParameters(g: GraphProto): string[] {
  const notes: string[] = [];
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const produced = new Set(g.node.flatMap((n) => n.output));
  // Identity aliases: initializer → Identity → a parameter-like name
  for (const node of [...g.node]) {
    const src = inits.get(node.input[0] ?? '');
    const out = node.output[0] ?? '';
    if (node.opType !== 'Identity' || !src || !out || out.startsWith('/') || out.startsWith('onnx::') || inits.has(out)) continue;
    if (g.output.some((o) => o.name === out)) continue;
    const readers = g.node.flatMap((n) => n.input.map((name, slot) => ({ n, name, slot }))).filter((r) => r.name === out);
    const copy = copyTensor(src, out);
    const first = readers[0];
    if (first) insertNextToSiblings(g, copy, first.n, first.slot);
    else g.initializer.push(copy);
    inits.set(out, copy);
    g.node.splice(g.node.indexOf(node), 1);
    notes.push(`"${out}" was exported as an alias of "${src.name}" (equal values); it is its own parameter again`);
  }
  // one initializer read by several layers whose node names give it different torch names
  for (const t of [...g.initializer]) {
    const uses = g.node.flatMap((n) => n.input.map((name, slot) => ({ n, name, slot }))).filter((u) => u.name === t.name);
    if (uses.length < 2) continue;
    const named = uses.map((u) => ({ ...u, torch: parameterNameAt(u.n, u.slot) }));
    if (named.some((u) => u.torch === null) || !named.some((u) => u.torch === t.name)) continue;
    for (const u of named) {
      if (u.torch === t.name || inits.has(u.torch!) || produced.has(u.torch!)) continue;
      const copy = copyTensor(t, u.torch!);
      insertNextToSiblings(g, copy, u.n, u.slot);
      inits.set(copy.name, copy);
      u.n.input[u.slot] = copy.name;
      notes.push(`"${copy.name}" was exported as "${t.name}" (equal values); it is its own parameter again`);
    }
  }
  return notes;
}
