/** Loss and accuracy of weights on the whole train and test splits (eval mode), as checkpoints record them. */
import type { Dataset } from '../data/dataset.js';
import type { LossEngine } from '../engine/engine.js';
import { JaxEngine } from '../engine/jax/engine.js';
import type { Model } from '../model/model.js';

/** Makes the engine of one split: jax-js by default (the playground's browser has no other). */
export type MetricsEngineFactory = (model: Model, data: Dataset) => Promise<LossEngine>;

export interface Metrics4 {
  train_loss: number;
  train_acc: number;
  test_loss?: number;
  test_acc?: number;
}

/**
 * Full-split metrics (eval mode) with engines compiled once. Runs pass the native engine (train.ts):
 * a ResNet-56 on thousands of images does not fit jax-js's 4 GiB of wasm memory, and is slow there.
 */
export class SplitMetrics {
  private constructor(private readonly engines: [string, LossEngine][]) {}
  static async create(model: Model, train: Dataset, test?: Dataset, make: MetricsEngineFactory = (m, d) => JaxEngine.create(m, d)): Promise<SplitMetrics> {
    const engines: [string, LossEngine][] = [['train', await make(model, train)]];
    try {
      if (test) engines.push(['test', await make(model, test)]);
    } catch (e) {
      engines[0]![1].dispose();
      throw e;
    }
    return new SplitMetrics(engines);
  }
  async at(theta: Float32Array): Promise<Metrics4> {
    const out: Metrics4 = { train_loss: 0, train_acc: 0 };
    for (const [name, e] of this.engines) {
      const m = await e.evaluate(theta);
      out[`${name}_loss` as 'train_loss'] = m.loss;
      out[`${name}_acc` as 'train_acc'] = m.acc;
    }
    return out;
  }
  dispose(): void {
    for (const [, e] of this.engines) e.dispose();
  }
}
