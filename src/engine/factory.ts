/**
 * Picks an engine for a model and a data subset. jax-js always works; the
 * onnxruntime engine (native speed) is used where available and requested.
 */
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { LossEngine } from './engine.js';
import { JaxEngine, type EngineOptions } from './jax-engine.js';

export type Backend = 'auto' | 'jax' | 'onnx';

export interface FactoryOptions extends EngineOptions {
  backend?: Backend;
  threads?: number;
  device?: 'cpu' | 'cuda';
}

export async function createEngine(model: Model, data: Dataset, opts: FactoryOptions = {}): Promise<LossEngine> {
  const backend = opts.backend ?? 'auto';
  if (backend === 'onnx') throw new Error('the onnxruntime engine is not available in this build; use --backend jax');
  return JaxEngine.create(model, data, opts);
}
