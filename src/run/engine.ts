/**
 * Engines built the way a run builds them: the run's backend, threads, device,
 * surface mode, dropout seed and batch size (a caller may override backend,
 * mode and dtype), on the run's data.
 */

import type { Dataset } from '../data/dataset.js';
import type { LossEngine } from '../engine/engine.js';
import { type Backend, type CreateEngineOptions, createEngine } from '../engine/registry.js';
import type { Model } from '../model/model.js';
import type { RunConfig } from './config.js';
import { prepareData, type RunData } from './data.js';
import { resolveModel } from './model.js';

export interface EngineChoice {
  mode?: 'eval' | 'train';
  dtype?: 'float32' | 'float64';
  backend?: Backend;
}

export function runEngineOptions(cfg: RunConfig, o: EngineChoice = {}): CreateEngineOptions {
  return {
    backend: o.backend ?? cfg.engine.backend,
    threads: cfg.engine.threads,
    device: cfg.engine.device,
    mode: o.mode ?? cfg.surface.mode,
    dropoutSeed: cfg.surface.dropoutSeed,
    batchSize: cfg.surface.batchSize,
    dtype: o.dtype,
  };
}

export function runEngine(cfg: RunConfig, model: Model, data: Dataset, o: EngineChoice = {}, warn?: (l: string) => void): Promise<LossEngine> {
  return createEngine(model, data, runEngineOptions(cfg, o), warn);
}

/** The run's data and model (zoo spec or ONNX file). */
export async function runDataAndModel(cfg: RunConfig): Promise<{ data: RunData; model: Model }> {
  const data = await prepareData(cfg.data);
  const { model } = await resolveModel(cfg.model, data.train.inputShape, data.train.outputDim);
  return { data, model };
}

/** An engine on the run's evaluation subset. */
export async function runEvalEngine(cfg: RunConfig, o: EngineChoice = {}, warn?: (l: string) => void): Promise<LossEngine> {
  const { data, model } = await runDataAndModel(cfg);
  return runEngine(cfg, model, data.evalSubset, o, warn);
}
