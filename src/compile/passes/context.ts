/**
 * What the graph passes (conv.ts, elementwise.ts; run in order by pipeline.ts) work on: the
 * builder's pending nodes, the static types it knows, and a few of its services (fresh names,
 * cached constants), plus the helpers the passes share.
 */
import type { AttrValue, ElemType } from '../graph-builder.js';

export interface PendingNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  domain?: string;
}

export interface PassContext {
  /** Static shapes and dtypes by tensor name (passes record those of the tensors they add). */
  readonly shapes: Map<string, number[]>;
  readonly dtypes: Map<string, ElemType>;
  /** onnxruntime's NCHWc block size, or 0 (see GraphBuilder.nchwcBlock). */
  readonly nchwcBlock: number;
  /** Names of the graph outputs. */
  readonly outputs: string[];
  /** Names of the graph inputs that change per call when the graph is split for hoisting, else empty. */
  readonly vary: readonly string[];
  /** Names available before any node: graph inputs and initializers. */
  available(): string[];
  isInitializer(name: string): boolean;
  /** The values of an int64 initializer, or null. */
  int64Values(name: string): number[] | null;
  fresh(): string;
  /** Cached constants. */
  int64s(values: number[]): string;
  scalar(dtype: ElemType, value: number): string;
  constant(dtype: ElemType, values: number[], shape: number[]): string;
}

/** A fresh tensor name with its static type recorded (the shape when known). */
export function typed(ctx: PassContext, shape: number[] | undefined, dtype: ElemType): string {
  const t = ctx.fresh();
  if (shape) ctx.shapes.set(t, shape);
  ctx.dtypes.set(t, dtype);
  return t;
}

/**
 * How many nodes read each tensor (graph outputs count as two extra readers, so they are never
 * a rewrite's "only reader"), and the node producing each tensor.
 */
export function usage(ctx: PassContext, nodes: PendingNode[]): { readers: Map<string, number>; producer: Map<string, PendingNode> } {
  const readers = new Map<string, number>();
  for (const nd of nodes) for (const x of nd.inputs) readers.set(x, (readers.get(x) ?? 0) + 1);
  for (const o of ctx.outputs) readers.set(o, (readers.get(o) ?? 0) + 2);
  const producer = new Map<string, PendingNode>();
  for (const nd of nodes) for (const o of nd.outputs) producer.set(o, nd);
  return { readers, producer };
}

/** The tensors that depend on the inputs named in `vary` (nodes in topological order). */
export function varyingOf(nodes: PendingNode[], vary: readonly string[]): Set<string> {
  const varying = new Set(vary);
  for (const nd of nodes) if (nd.inputs.some((x) => varying.has(x))) for (const o of nd.outputs) varying.add(o);
  return varying;
}

/** The broadcast of two static shapes (numpy rules), or null when unknown or incompatible. */
export function broadcastOf(a: number[] | undefined, b: number[] | undefined): number[] | null {
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

/** The nodes among `nodes` that the tensors named in `roots` depend on, in their order. */
export function neededBy(nodes: PendingNode[], roots: Iterable<string>): PendingNode[] {
  const need = new Set(roots);
  const out: PendingNode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const nd = nodes[i];
    if (nd.outputs.some((o) => need.has(o))) {
      out.push(nd);
      for (const x of nd.inputs) need.add(x);
    }
  }
  return out.reverse();
}

/** Stable topological order (nodes keep their relative order where dependencies allow). */
export function topoSort(nodes: PendingNode[], available: string[]): PendingNode[] {
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

export const prod = (a: number[]): number => a.reduce((p, q) => p * q, 1);

/** Row-major (C order) strides of a shape, in elements. */
export function rowMajorStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}
