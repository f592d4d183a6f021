/**
 * jaxprToOnnx: translate a jax-js ClosedJaxpr into an ONNX ModelProto (opset 18, IR 8).
 *
 * ```ts
 * const { jaxpr } = makeJaxpr(f)(...args);
 * const bytes = jaxprToOnnx(jaxpr, { inputNames: ['w', 'x'], outputNames: ['loss'] });
 * ```
 *
 * - Graph inputs are the jaxpr's non-const binders, in order, named by `inputNames`; graph
 *   outputs are `jaxpr.outs`, named by `outputNames`. Shapes are static (the traced ones).
 * - Consts: all-zero consts (the tangents jax-js materializes for symbolic zeros) are folded
 *   away (x·0 = 0, x+0 = x, dot/conv with 0 = 0, …); consts holding one repeated value become
 *   scalars; others become initializers.
 * - Nested `jit` is inlined (`Jaxpr.flatten()`).
 * - Element types follow the jaxpr exactly (float32 / float64 / int32 / uint32 / bool);
 *   literals take the dtype of the op they feed (ONNX does not promote).
 * - `broadcast` stays lazy (a size-1 dim) until an op needs the data; elementwise ops broadcast
 *   natively.
 * - Each primitive is lowered by its rule (rules.ts; the families in rules/: elementwise, shape,
 *   reduce, dot, conv); `coveredPrimitives()` lists them. `dot` always becomes one MatMul, `conv`
 *   Conv / ConvTranspose.
 * - Speed rewrites (all exact up to float rounding): dots and vmapped convs distributed over
 *   plane weights w + a_k d1 + b_k d2 (`distribute`, default on); max(x, 0) → Relu and a
 *   per-channel add after a Conv → the Conv's bias (onnxruntime then fuses Conv+bias+Relu);
 *   pooling written as reshape + max/sum over window axes → MaxPool / AveragePool; interleaved
 *   broadcasts materialized by nearest Resize; and the graph passes of passes/pipeline.ts when
 *   the graph is serialized (sibling Convs on one input fused, …).
 * - An unsupported primitive throws `Error("jaxprToOnnx: unsupported primitive <name> <params>")`
 *   (one line); `random_bits` throws a specific error (pass random masks in as inputs instead).
 */

import type { ClosedJaxpr } from '@jax-js/jax';
import { encodeTensorData } from '../io/onnx-proto.js';
import { type GraphBuilder, onnxDtype, type SplitModels } from './graph-builder.js';
import { type Atom, dtypeOf, type Eqn, isLit, Lowering, shapeOf, type Val, type Var, ZERO } from './lowering.js';
import { lowerEqn } from './rules.js';

export interface JaxprToOnnxOptions {
  /** Names of the graph inputs, one per non-const input binder of the jaxpr. */
  inputNames: string[];
  /** Names of the graph outputs, one per jaxpr output. */
  outputNames: string[];
  graphName?: string;
  /**
   * Distribute dots and vmapped convs over sums whose terms lack the vmap (grid) axis, e.g.
   * X (W + a_k D1 + b_k D2) = XW + a_k XD1 + b_k XD2, when cheaper (default true).
   */
  distribute?: boolean;
  /**
   * onnxruntime's NCHWc block size: convs with fed weights run as its NCHWc kernels (see
   * `GraphBuilder.nchwcBlock`). For graphs run by onnxruntime's CPU provider only.
   */
  nchwcBlock?: number;
  /**
   * Lower weight-gradient convs (kernel larger than the output, as jax-js's transpose rule
   * makes them) as one Gemm per output position over strided windows of the input, which
   * onnxruntime runs several times faster than its Conv (default false). A number: only those
   * with at most that many output positions (the weight's kernel positions, e.g. 9 for 3×3).
   */
  weightGradGemm?: boolean | number;
}

export function jaxprToOnnx(closed: ClosedJaxpr, opts: JaxprToOnnxOptions): Uint8Array {
  return lowerJaxpr(closed, opts).toModel(opts.graphName ?? 'jaxpr');
}

/**
 * Like `jaxprToOnnx`, but hoists everything that does not depend on the inputs named in `vary`
 * into a separate prefix graph (see `GraphBuilder.toSplitModels`): for a plane graph with
 * `vary` = the grid coordinates, the prefix runs once per (θ, d1, d2) and the rest per call;
 * what depends on the inputs named in `fixed` (the data) alone goes to a setup graph.
 */
export function jaxprToOnnxSplit(closed: ClosedJaxpr, opts: JaxprToOnnxOptions & { vary: string[]; fixed?: string[] }): SplitModels {
  return lowerJaxpr(closed, opts, opts.vary).toSplitModels(opts.graphName ?? 'jaxpr', opts.vary, undefined, opts.fixed);
}

function lowerJaxpr(closed: ClosedJaxpr, opts: JaxprToOnnxOptions, vary: string[] = []): GraphBuilder {
  const flat = closed.jaxpr.flatten().simplify();
  const jaxpr = flat as unknown as { inBinders: Var[]; eqns: Eqn[]; outs: Atom[] };
  const nConsts = closed.consts.length;
  const binders = jaxpr.inBinders;
  if (binders.length - nConsts !== opts.inputNames.length) {
    throw new Error(`jaxprToOnnx: ${binders.length - nConsts} inputs in the jaxpr but ${opts.inputNames.length} inputNames`);
  }
  if (jaxpr.outs.length !== opts.outputNames.length) {
    throw new Error(`jaxprToOnnx: ${jaxpr.outs.length} outputs in the jaxpr but ${opts.outputNames.length} outputNames`);
  }
  const L = new Lowering({ distribute: opts.distribute ?? true, vary, nchwcBlock: opts.nchwcBlock, weightGradGemm: opts.weightGradGemm });
  const b = L.b;

  for (let i = 0; i < nConsts; i++) L.vals.set(binders[i], constVal(L, binders[i], closed.consts[i]));
  binders.slice(nConsts).forEach((v, i) => {
    const name = opts.inputNames[i];
    b.addInput(name, dtypeOf(v), shapeOf(v));
    L.vals.set(v, { kind: 'tensor', name, ashape: shapeOf(v) });
    if (vary.includes(name)) L.varying.add(v);
  });

  for (const a of [...jaxpr.eqns.flatMap((e) => e.inputs), ...jaxpr.outs]) {
    if (!isLit(a)) L.uses.set(a as Var, (L.uses.get(a as Var) ?? 0) + 1);
  }
  for (const eqn of jaxpr.eqns) {
    for (const o of eqn.outBinders) L.producers.set(o, eqn);
    if (eqn.inputs.some((a) => !isLit(a) && L.varying.has(a as Var))) for (const o of eqn.outBinders) L.varying.add(o);
    const outs = lowerEqn(L, eqn);
    eqn.outBinders.forEach((o, i) => L.vals.set(o, outs[i]));
  }

  jaxpr.outs.forEach((a, i) => {
    const name = opts.outputNames[i];
    const src = L.fullOfAtom(a);
    b.namedNode('Identity', [src], name);
    b.addOutput(name, dtypeOf(a), shapeOf(a));
  });
  return b;
}

interface ConstLike {
  ref: ConstLike;
  dataSync(): ArrayLike<number>;
  dtype: string;
  shape: number[];
}

function constVal(L: Lowering, v: Var, c: unknown): Val {
  const arr = c as ConstLike;
  if (typeof arr.dataSync !== 'function') {
    throw new Error('jaxprToOnnx: a const of the jaxpr is not a concrete array');
  }
  const data = arr.ref.dataSync();
  const dtype = dtypeOf(v);
  let same = true;
  for (let i = 1; i < data.length && same; i++) same = data[i] === data[0] || (Number.isNaN(data[i]!) && Number.isNaN(data[0]!));
  if (data.length === 0 || (same && data[0] === 0 && !Object.is(data[0], -0))) return ZERO;
  if (same) return { kind: 'tensor', name: L.b.scalar(dtype, data[0]), ashape: [] };
  const name = L.b.addInitializer(dtype, shapeOf(v), encodeTensorData(onnxDtype(dtype), data));
  return { kind: 'tensor', name, ashape: shapeOf(v) };
}
