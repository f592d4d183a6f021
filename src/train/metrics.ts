/** Loss and accuracy of weights on the whole train and test splits (eval mode), as checkpoints record them. */
import type { Dataset } from '../data/dataset.js';
import { JaxEngine } from '../engine/jax/engine.js';
import type { Model } from '../model/model.js';

export interface Metrics4 {
  train_loss: number;
  train_acc: number;
  test_loss?: number;
  test_acc?: number;
}

/** Full-split metrics (eval mode) with engines compiled once. */
export class SplitMetrics {
  private constructor(private readonly engines: [string, JaxEngine][]) {}
  static async create(model: Model, train: Dataset, test?: Dataset): Promise<SplitMetrics> {
    const engines: [string, JaxEngine][] = [['train', await JaxEngine.create(model, train)]];
    if (test) engines.push(['test', await JaxEngine.create(model, test)]);
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
