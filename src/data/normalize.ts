/**
 * Per-channel standardization, as torchvision's Normalize with the training split's statistics:
 * x ← (x − mean_c) / std_c for every channel c of [C, H, W] samples (one channel for flat ones),
 * the mean and (population) standard deviation over all training pixels of that channel.
 */
import { count, type Dataset, sampleSize } from './dataset.js';

export interface ChannelStats {
  mean: number[];
  std: number[];
}

function channelsOf(ds: Dataset): number {
  return ds.inputShape.length === 3 ? ds.inputShape[0]! : 1;
}

/** Mean and standard deviation of every channel over all samples and pixels (float64 sums). */
export function channelStats(ds: Dataset): ChannelStats {
  const c = channelsOf(ds);
  const per = sampleSize(ds) / c;
  const n = count(ds);
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const o = (i * c + k) * per;
      for (let j = 0; j < per; j++) {
        const v = ds.x[o + j]!;
        sum[k]! += v;
        sq[k]! += v * v;
      }
    }
  }
  const m = n * per;
  const mean = Array.from(sum, (s) => s / m);
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / m - mean[k]! ** 2, 0)) || 1);
  return { mean, std };
}

/** The data set standardized with `stats` (a copy). */
export function normalizeChannels(ds: Dataset, stats: ChannelStats): Dataset {
  const c = channelsOf(ds);
  const per = sampleSize(ds) / c;
  const x = new Float32Array(ds.x.length);
  for (let o = 0; o < x.length; o += per) {
    const k = (o / per) % c;
    const mu = stats.mean[k]!;
    const inv = 1 / stats.std[k]!;
    for (let j = o; j < o + per; j++) x[j] = (ds.x[j]! - mu) * inv;
  }
  return { ...ds, x };
}

/** Images [C, H, W] shrunk k-fold by averaging k×k blocks (H, W cropped to multiples of k); a copy. */
export function downsample(ds: Dataset, k: number): Dataset {
  if (k === 1) return ds;
  if (ds.inputShape.length !== 3) throw new Error(`data "${ds.name}": downsampling needs image samples [C, H, W]; got [${ds.inputShape}]`);
  const [c, h, w] = ds.inputShape as [number, number, number];
  const ho = Math.floor(h / k);
  const wo = Math.floor(w / k);
  const n = count(ds);
  const x = new Float32Array(n * c * ho * wo);
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    for (let r = 0; r < ho; r++) {
      for (let q = 0; q < wo; q++) {
        let s = 0;
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += ds.x[p * h * w + (r * k + i) * w + q * k + j]!;
        x[o++] = s / (k * k);
      }
    }
  }
  return { ...ds, inputShape: [c, ho, wo], x };
}
