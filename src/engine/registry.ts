/**
 * Picks an engine for a model and a data subset. jax-js always works; the
 * onnxruntime engine (native speed) is used where available and requested.
 */
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { LossEngine } from './engine.js';
import { type EngineOptions, JaxEngine } from './jax/engine.js';
import { cudaAvailable } from './ort/device.js';
import { OrtEngine } from './ort/engine.js';

export type Backend = 'auto' | 'jax' | 'onnx';

export interface FactoryOptions extends EngineOptions {
  backend?: Backend;
  threads?: number;
  device?: 'cpu' | 'cuda';
  /** Worker threads for plane evaluation (onnxruntime engine only). */
  workers?: number;
}

/**
 * auto: onnxruntime (native speed), falling back to jax-js with a warning when the
 * model's graph cannot be translated; jax / onnx: exactly that engine.
 */
export async function createEngine(model: Model, data: Dataset, opts: FactoryOptions = {}, warn: (line: string) => void = () => {}): Promise<LossEngine> {
  const backend = opts.backend ?? 'auto';
  if (opts.device === 'cuda') {
    if (backend === 'jax') throw new Error('--device cuda needs the onnxruntime engine (backend auto or onnx), not jax');
    const cuda = await cudaAvailable();
    if (!cuda.ok) throw new Error(cuda.message);
  }
  if (backend === 'jax') return JaxEngine.create(model, data, opts);
  try {
    return await OrtEngine.create(model, data, opts);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    if (backend === 'onnx') throw new Error(`the onnxruntime engine cannot run this model: ${why}`);
    warn(`onnxruntime cannot run this model (${why}); using jax-js, which is slower`);
    return JaxEngine.create(model, data, opts);
  }
}
