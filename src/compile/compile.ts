/**
 * compileToOnnx: trace a jax-js function with `makeJaxpr` and translate it to ONNX.
 *
 * ```ts
 * const hvp = (params, v, x, y) => jvp((p) => grad(loss)(p, x, y), [params], [v])[1];
 * const c = compileToOnnx(hvp, [params, params, x, y]);
 * // c.inputs: one entry per leaf of the example args (pytrees flatten in insertion order)
 * // c.outputs: one entry per leaf of the result; c.outTree rebuilds the result structure
 * const f = await OrtFunction.create(c.model);
 * ```
 *
 * `exampleArgs` are the positional arguments (pytrees of jax-js Arrays, or `ArgSpec`s when
 * only shape and dtype are known); they are only inspected, not consumed. Arrays the function
 * closes over become constants of the graph (all-zero ones are folded away), so pass data that
 * changes between calls as an argument. The graph has the traced static shapes.
 */

import { type DType, type JsTreeDef, makeJaxpr, tree } from '@jax-js/jax';
import type { SplitModels } from './graph-builder.js';
import { jaxprToOnnx, jaxprToOnnxSplit } from './translate.js';

/** Shape and dtype of an argument, usable in place of an example Array. */
export class ArgSpec {
  readonly weakType = false;
  constructor(
    readonly shape: number[],
    readonly dtype: DType | `${DType}` = 'float32',
  ) {}
}

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: `${DType}`;
}

export interface CompiledOnnx {
  /** Serialized ONNX ModelProto. */
  model: Uint8Array;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Structure of the function's result (unflatten the outputs with `tree.unflatten`). */
  outTree: JsTreeDef;
}

export interface CompileOptions {
  /** Names for the flattened inputs (default in0, in1, …). */
  inputNames?: string[];
  /** Names for the flattened outputs (default out0, out1, …). */
  outputNames?: string[];
  graphName?: string;
  /** See `JaxprToOnnxOptions.distribute` (default true). */
  distribute?: boolean;
  /** See `JaxprToOnnxOptions.nchwcBlock` (default 0: plain ONNX). */
  nchwcBlock?: number;
  /** See `JaxprToOnnxOptions.weightGradGemm` (default false). */
  weightGradGemm?: boolean | number;
  /** compileToOnnxSplit: indices of the flattened inputs that never change for a session (the data; see `GraphBuilder.toSplitModels`). */
  fixed?: number[];
}

export function compileToOnnx(fn: (...args: any[]) => any, exampleArgs: unknown[], opts: CompileOptions = {}): CompiledOnnx {
  const { jaxpr: closed, treedef } = makeJaxpr(fn)(...exampleArgs);
  const nLeaves = tree.leaves(exampleArgs as any).length;
  const binders = closed.jaxpr.inBinders.slice(closed.consts.length);
  if (binders.length !== nLeaves) {
    throw new Error(`compileToOnnx: ${nLeaves} argument leaves but the jaxpr has ${binders.length} inputs`);
  }
  const inputNames = opts.inputNames ?? binders.map((_, i) => `in${i}`);
  const outputNames = opts.outputNames ?? closed.jaxpr.outs.map((_, i) => `out${i}`);
  try {
    const model = jaxprToOnnx(closed, {
      inputNames,
      outputNames,
      graphName: opts.graphName,
      distribute: opts.distribute,
      nchwcBlock: opts.nchwcBlock,
      weightGradGemm: opts.weightGradGemm,
    });
    return {
      model,
      inputs: binders.map((v, i) => ({ name: inputNames[i], shape: [...v.aval.shape], dtype: v.aval.dtype })),
      outputs: closed.jaxpr.outs.map((a, i) => ({
        name: outputNames[i],
        shape: [...a.aval.shape],
        dtype: a.aval.dtype,
      })),
      outTree: treedef,
    };
  } finally {
    closed.dispose();
  }
}

export interface CompiledSplit extends SplitModels {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  outTree: JsTreeDef;
}

/**
 * `compileToOnnx` with loop-invariant hoisting: everything that does not depend on the flat
 * input leaves listed in `vary` (indices) goes into `prefix` (run it once, feed its outputs,
 * named `frontier`, to `rest` together with the inputs named in `restInputs`).
 */
export function compileToOnnxSplit(fn: (...args: any[]) => any, exampleArgs: unknown[], vary: number[], opts: CompileOptions = {}): CompiledSplit {
  const { jaxpr: closed, treedef } = makeJaxpr(fn)(...exampleArgs);
  const nLeaves = tree.leaves(exampleArgs as any).length;
  const binders = closed.jaxpr.inBinders.slice(closed.consts.length);
  if (binders.length !== nLeaves) {
    throw new Error(`compileToOnnx: ${nLeaves} argument leaves but the jaxpr has ${binders.length} inputs`);
  }
  const inputNames = opts.inputNames ?? binders.map((_, i) => `in${i}`);
  const outputNames = opts.outputNames ?? closed.jaxpr.outs.map((_, i) => `out${i}`);
  try {
    const split = jaxprToOnnxSplit(closed, {
      inputNames,
      outputNames,
      graphName: opts.graphName,
      distribute: opts.distribute,
      nchwcBlock: opts.nchwcBlock,
      weightGradGemm: opts.weightGradGemm,
      vary: vary.map((i) => inputNames[i]!),
      fixed: opts.fixed?.map((i) => inputNames[i]!),
    });
    return {
      ...split,
      inputs: binders.map((v, i) => ({ name: inputNames[i]!, shape: [...v.aval.shape], dtype: v.aval.dtype })),
      outputs: closed.jaxpr.outs.map((a, i) => ({ name: outputNames[i]!, shape: [...a.aval.shape], dtype: a.aval.dtype })),
      outTree: treedef,
    };
  } finally {
    closed.dispose();
  }
}
