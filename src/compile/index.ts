/**
 * Native-speed evaluation of jax-js functions: trace with `makeJaxpr`, translate the jaxpr to an
 * ONNX graph (opset 18) and run it with onnxruntime-node.
 *
 * ```ts
 * import { compileToOnnx, OrtFunction } from './engine/onnx/index.js';
 * const hvp = (p, v, x, y) => jvp((q) => grad(loss)(q, x, y), [p], [v])[1];
 * const c = compileToOnnx(hvp, [params, params, x, y]);   // c.inputs / c.outputs: flat leaves
 * const f = await OrtFunction.create(c.model, { threads: 1 });
 * const hv = await f.run([...paramArrays, ...vArrays, xData, yData]);   // Float32Array[]
 * ```
 *
 * - translate.ts  jaxprToOnnx(closedJaxpr, { inputNames, outputNames, graphName?, distribute? });
 *                 jaxprToOnnxSplit(…, vary) -> { prefix, rest, frontier, … } (hoisting)
 * - compile.ts    compileToOnnx(fn, exampleArgs, opts?) -> { model, inputs, outputs, outTree };
 *                 compileToOnnxSplit(fn, exampleArgs, varyLeaves, opts?): prefix (what does not
 *                 depend on the `vary` inputs, run once) + rest (run per call)
 * - graph-builder.ts  nodes, constants, serialization and the prefix/rest split; it runs
 *                 passes/ (conv.ts: sibling, summed-transposed and NCHWc convs, convs over
 *                 hoisted patches; elementwise.ts: pooling before ReLU, invariant factors)
 * - nchwc.ts      nchwcBlockSize(): onnxruntime's NCHWc block here (compile option nchwcBlock)
 * - combo.ts      joining a bias add into a first layer's stacked linear combination
 * - runner.ts     OrtFunction.create(model, { threads?, device? }) -> run(typedArrays) / dispose()
 * - inspect.ts    summarizeModel(model) -> op counts and a node listing
 * - examples.ts   the reference MLP / CNN in jax-js and `overPlane` (vmap over grid points)
 */

export { ArgSpec, type CompiledOnnx, type CompiledSplit, type CompileOptions, compileToOnnx, compileToOnnxSplit, type TensorSpec } from './compile.js';
export type { SplitModels } from './graph-builder.js';
export { type ModelSummary, summarizeModel } from './inspect.js';
export { type JaxprToOnnxOptions, jaxprToOnnx, jaxprToOnnxSplit } from './translate.js';
