/**
 * The evaluation data of an engine as flat arrays in its precision, cut into batches: inputs x,
 * targets t (one-hot for classification) and the fixed dropout keep-masks of train-mode
 * evaluation. Both backends evaluate exactly these batches; losses are sums per batch,
 * combined in float64 and divided by the sample count.
 */
import { Rng } from '../core/rng.js';
import { count, type Dataset, sampleSize } from '../data/dataset.js';
import type { Model } from '../model/model.js';

export type FloatArray = Float32Array | Float64Array;

/** One batch of samples: inputs [n, …inputShape], targets [n, outputs], one mask per dropout site. */
export interface DataBatch {
  n: number;
  x: FloatArray;
  t: FloatArray;
  masks: FloatArray[];
}

export interface BatchOptions {
  /** Samples per batch (train-mode batch statistics are per batch). Default: all, at most 1000. */
  batchSize?: number;
  dtype?: 'float32' | 'float64';
  /** Seed of the fixed dropout masks. */
  dropoutSeed?: number;
}

/** One-hot targets (classification) or the regression targets, as floats. */
export function targetMatrix(ds: Dataset): Float32Array {
  if (ds.task === 'regression') return Float32Array.from(ds.y);
  const n = ds.y.length;
  const t = new Float32Array(n * ds.outputDim);
  for (let i = 0; i < n; i++) t[i * ds.outputDim + ds.y[i]!] = 1;
  return t;
}

/** Fixed Bernoulli(1 − p) keep-masks for every dropout site and sample. */
export function dropoutMasks(model: Model, n: number, seed: number): Float32Array[] {
  return model.dropoutSites.map((site, k) => {
    const rng = new Rng(seed, 'eval-dropout', k);
    const per = site.shape.reduce((a, b) => a * b, 1);
    const m = new Float32Array(n * per);
    for (let i = 0; i < m.length; i++) m[i] = rng.uniform() >= site.p ? 1 : 0;
    return m;
  });
}

/** The samples' batch size: `batchSize` clamped to [1, samples], default min(samples, 1000). */
export function batchSizeOf(samples: number, batchSize?: number): number {
  return Math.max(1, Math.min(batchSize ?? Math.min(samples, 1000), samples));
}

/** The data cut into batches of `batchSize` samples (the last may be smaller), in the engine's precision. */
export function dataBatches(model: Model, data: Dataset, opts: BatchOptions = {}): DataBatch[] {
  const samples = count(data);
  const d = sampleSize(data);
  const c = data.outputDim;
  const targets = targetMatrix(data);
  const masks = dropoutMasks(model, samples, opts.dropoutSeed ?? 0);
  const bs = batchSizeOf(samples, opts.batchSize);
  const F = opts.dtype === 'float64' ? Float64Array : Float32Array;
  const batches: DataBatch[] = [];
  for (let s = 0; s < samples; s += bs) {
    const n = Math.min(bs, samples - s);
    batches.push({
      n,
      x: F.from(data.x.subarray(s * d, (s + n) * d)),
      t: F.from(targets.subarray(s * c, (s + n) * c)),
      masks: masks.map((m) => {
        const per = m.length / samples;
        return F.from(m.subarray(s * per, (s + n) * per));
      }),
    });
  }
  return batches;
}
