/** The model a run config names: a zoo spec or an ONNX file. */
import type { Model } from '../model/model.js';
import { buildModel } from '../model/zoo.js';
import type { RunConfig } from './config.js';

export interface RunModel {
  model: Model;
  /** Initial weights when the model brings its own (ONNX with init 'file'). */
  theta?: Float32Array;
}

export async function resolveModel(spec: RunConfig['model'], inputShape: number[], outputDim: number): Promise<RunModel> {
  if (spec.type !== 'onnx') return { model: buildModel(spec, inputShape, outputDim) };
  const { loadOnnxModel } = await import('../model/onnx/load.js');
  const imp = await loadOnnxModel(spec.path, { inputShape: spec.inputShape ?? inputShape });
  if (imp.model.outputDim !== outputDim) {
    throw new Error(`${spec.path}: the model has ${imp.model.outputDim} outputs but the data has ${outputDim} classes`);
  }
  return { model: imp.model, theta: spec.init === 'file' ? imp.theta : undefined };
}
