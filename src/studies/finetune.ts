/**
 * Fine-tuning with fixed masks (pruned weights stay exactly zero): steps of the training
 * loop (train/loop.ts) with the run's optimizer (fresh state) at its base learning rate, each
 * update followed by w ← w ⊙ m, on the seed streams 'finetune-shuffle' / 'finetune-dropout';
 * deterministic in the seed.
 */
import { LosscapeError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { MinibatchLoop } from '../train/loop.js';
import type { OptimizerSpec } from '../train/optimizer.js';

export interface MaskedFinetuneOptions {
  model: Model;
  train: Dataset;
  theta: Float32Array;
  /** 1 = keep, 0 = pruned; over the flat layout. */
  mask: Uint8Array;
  steps: number;
  batchSize: number;
  optimizer: OptimizerSpec;
  seed: number;
  onStep?(step: number, total: number, loss: number): void;
}

export async function finetuneMasked(o: MaskedFinetuneOptions): Promise<{ theta: Float32Array; losses: number[] }> {
  if (o.steps <= 0) return { theta: Float32Array.from(o.theta), losses: [] };
  const loop = await MinibatchLoop.create({
    model: o.model,
    data: o.train,
    optimizer: o.optimizer,
    batchSize: o.batchSize,
    seed: o.seed,
    streams: { shuffle: 'finetune-shuffle', dropout: 'finetune-dropout' },
    theta: o.theta,
    mask: o.mask,
  });
  try {
    const losses: number[] = [];
    for (let s = 0; s < o.steps; s++) {
      const l = await loop.step(s, o.optimizer.lr);
      if (!Number.isFinite(l)) throw new LosscapeError('failed', `fine-tuning diverged at step ${s + 1} (loss ${l}); lower the learning rate`);
      losses.push(l);
      o.onStep?.(s + 1, o.steps, l);
    }
    const theta = await loop.theta();
    // exact zeros where pruned (the product with 0 is exact; this guards against -0 and rounding paths)
    for (let i = 0; i < theta.length; i++) if (!o.mask[i]) theta[i] = 0;
    return { theta, losses };
  } finally {
    loop.dispose();
  }
}
