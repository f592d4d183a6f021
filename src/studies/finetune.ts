/**
 * Fine-tuning with fixed masks (pruned weights stay exactly zero): minibatch
 * steps with the run's optimizer (fresh state), each update followed by
 * w ← w ⊙ m. Same conventions as src/train/train.ts (shuffle per epoch from
 * the seed, dropout masks per step, BN running statistics with momentum),
 * deterministic in the seed.
 */
import { jit, numpy as np, valueAndGrad } from '@jax-js/jax';
import { isLearnable } from '../core/layout.js';
import { Rng } from '../core/rng.js';
import { count, type Dataset, sampleSize } from '../data/dataset.js';
import { targetMatrix } from '../engine/batches.js';
import { lossSum } from '../engine/loss.js';
import { ensureJax } from '../model/jax.js';
import { BN_MOMENTUM } from '../model/layers.js';
import type { Model } from '../model/model.js';
import { applyUpdate, type OptimizerSpec, stateSlots } from '../train/optimizer.js';

type Arr = np.Array;

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
  await ensureJax();
  const { model } = o;
  const layout = model.layout;
  const n = count(o.train);
  const d = sampleSize(o.train);
  const c = o.train.outputDim;
  const bs = Math.min(o.batchSize, n);
  const per = Math.ceil(n / bs);
  const learnable = layout.entries.map((e) => isLearnable(e.role));
  const kind = o.train.task === 'regression' ? 'mse' : 'cross_entropy';
  const targets = targetMatrix(o.train);
  const slots = stateSlots(o.optimizer);
  const masked = layout.entries.map((e) => {
    for (let i = e.offset; i < e.offset + e.size; i++) if (!o.mask[i]) return true;
    return false;
  });

  const lossFn = (params: Arr[], x: Arr, t: Arr, masks: Arr[]): [Arr, Arr[]] => {
    const nb = x.shape[0]!;
    const r = model.apply(params, x, { train: true, dropoutMasks: masks });
    return [lossSum(r.out, t, kind).mul(1 / nb), r.batchStats];
  };
  const step = jit((params: Arr[], state: Arr[], x: Arr, t: Arr, masks: Arr[], lr: Arr, tstep: Arr, keep: Arr[]) => {
    const nb = x.shape[0]!;
    const [[loss, stats], grads] = valueAndGrad(lossFn, { hasAux: true })(
      params.map((p) => p.ref),
      x,
      t,
      masks,
    ) as unknown as [[Arr, Arr[]], Arr[]];
    const [np2, ns] = applyUpdate(o.optimizer, params, grads, state, learnable, lr, tstep);
    model.batchNorms.forEach((bn, i) => {
      const mean = stats[2 * i]!;
      const variance = stats[2 * i + 1]!;
      np2[bn.mean] = np2[bn.mean]!.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM));
      np2[bn.var] = np2[bn.var]!.mul(1 - BN_MOMENTUM).add(variance.mul((BN_MOMENTUM * nb) / Math.max(1, nb - 1)));
    });
    // the masks stay fixed: pruned weights are projected back to zero after every update
    const out = np2.map((p, k) => (masked[k] ? p.mul(keep[k]!.ref) : p));
    keep.forEach((m) => m.dispose());
    return [out, ns, loss];
  });

  let params = layout.entries.map((e) => np.array(o.theta.slice(e.offset, e.offset + e.size)).reshape(e.shape));
  let state: Arr[] = layout.entries.flatMap((e) => Array.from({ length: slots }, () => np.zeros(e.shape)));
  const keep = layout.entries.map((e) => np.array(Float32Array.from(o.mask.subarray(e.offset, e.offset + e.size))).reshape(e.shape));
  const xb = new Float32Array(bs * d);
  const tb = new Float32Array(bs * c);
  const losses: number[] = [];
  for (let s = 0; s < o.steps; s++) {
    const epoch = Math.floor(s / per);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    new Rng(o.seed, 'finetune-shuffle', epoch).shuffle(order);
    const start = (s % per) * bs;
    const nb = Math.min(bs, n - start);
    for (let k = 0; k < nb; k++) {
      const i = order[start + k]!;
      xb.set(o.train.x.subarray(i * d, (i + 1) * d), k * d);
      tb.set(targets.subarray(i * c, (i + 1) * c), k * c);
    }
    const maskRng = new Rng(o.seed, 'finetune-dropout', s);
    const dmasks = model.dropoutSites.map((site) => {
      const per1 = site.shape.reduce((a, q) => a * q, 1);
      const m = new Float32Array(nb * per1);
      for (let i = 0; i < m.length; i++) m[i] = maskRng.uniform() >= site.p ? 1 : 0;
      return np.array(m).reshape([nb, ...site.shape]);
    });
    const [p2, s2, loss] = step(
      params,
      state,
      np.array(xb.slice(0, nb * d)).reshape([nb, ...model.inputShape]),
      np.array(tb.slice(0, nb * c)).reshape([nb, c]),
      dmasks,
      np.array(new Float32Array([o.optimizer.lr])).reshape([]),
      np.array(new Float32Array([s + 1])).reshape([]),
      keep.map((m) => m.ref),
    ) as unknown as [Arr[], Arr[], Arr];
    params = p2;
    state = s2;
    const l = (await loss.data())[0]!;
    if (!Number.isFinite(l)) throw new Error(`fine-tuning diverged at step ${s + 1} (loss ${l}); lower the learning rate`);
    losses.push(l);
    o.onStep?.(s + 1, o.steps, l);
  }
  const theta = new Float32Array(layout.size);
  for (let k = 0; k < params.length; k++) theta.set(await params[k]!.data(), layout.entries[k]!.offset);
  state.forEach((x) => x.dispose());
  keep.forEach((m) => m.dispose());
  step.dispose();
  // exact zeros where pruned (the product with 0 is exact; this guards against -0 and rounding paths)
  for (let i = 0; i < theta.length; i++) if (!o.mask[i]) theta[i] = 0;
  return { theta, losses };
}
