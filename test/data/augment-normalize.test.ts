import { describe, expect, it } from 'vitest';
import { augmentBatch } from '../../src/data/augment.js';
import type { Dataset } from '../../src/data/dataset.js';
import { channelStats, normalizeChannels } from '../../src/data/normalize.js';

/** Two samples of [2, 4, 5]: value = 1000·sample + 100·channel + 10·row + col + 1 (never 0). */
function batch(): Float32Array {
  return Float32Array.from({ length: 2 * 2 * 4 * 5 }, (_, i) => {
    const s = Math.floor(i / 40);
    const c = Math.floor(i / 20) % 2;
    const r = Math.floor(i / 5) % 4;
    return 1000 * s + 100 * c + 10 * r + (i % 5) + 1;
  });
}

describe('augmentation: random crop with padding, horizontal flip', () => {
  it('every sample is its image shifted by (dy, dx) ∈ [−pad, pad]² with zero fill, optionally mirrored, the same for all channels', () => {
    const shape = [2, 4, 5];
    for (let step = 0; step < 20; step++) {
      const x = batch();
      augmentBatch(x, 2, shape, { crop: 2, flip: true }, 7, step);
      for (let s = 0; s < 2; s++) {
        const found = [];
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++)
            for (const flip of [false, true]) {
              let ok = true;
              for (let c = 0; c < 2 && ok; c++)
                for (let r = 0; r < 4 && ok; r++)
                  for (let q = 0; q < 5 && ok; q++) {
                    const sr = r + dy;
                    const sq = (flip ? 4 - q : q) + dx;
                    const want = sr >= 0 && sr < 4 && sq >= 0 && sq < 5 ? 1000 * s + 100 * c + 10 * sr + sq + 1 : 0;
                    ok = x[s * 40 + c * 20 + r * 5 + q] === want;
                  }
              if (ok) found.push([dy, dx, flip]);
            }
        expect(found.length).toBe(1);
      }
    }
  });
  it('is seeded per step: same step, same batch; over many steps both flips and all offsets occur', () => {
    const a = batch();
    const b = batch();
    augmentBatch(a, 2, [2, 4, 5], { crop: 1, flip: true }, 3, 5);
    augmentBatch(b, 2, [2, 4, 5], { crop: 1, flip: true }, 3, 5);
    expect([...a]).toEqual([...b]);
    const firsts = new Set<number>();
    for (let step = 0; step < 200; step++) {
      const x = batch();
      augmentBatch(x, 1, [2, 4, 5], { crop: 1, flip: true }, 3, step);
      firsts.add(x[6]!); // pixel (1, 1) of channel 0
    }
    // source rows 0..2 × source columns 0..2 (unflipped) or 2..4 (flipped): 3 × 5 distinct values
    expect(firsts.size).toBe(15);
  });
});

describe('per-channel normalization', () => {
  it("the training split's channels get mean 0 and standard deviation 1; the test split uses the same statistics", () => {
    const x = batch();
    const ds: Dataset = { name: 't', inputShape: [2, 4, 5], x, y: Int32Array.from([0, 1]), task: 'classification', outputDim: 2 };
    const stats = channelStats(ds);
    // channel 0: values 10r + q + 1 and 1000 + 10r + q + 1
    expect(stats.mean[0]).toBeCloseTo(500 + 15 + 3, 9);
    expect(stats.mean[1]).toBeCloseTo(600 + 15 + 3, 9);
    const z = normalizeChannels(ds, stats);
    const again = channelStats(z);
    for (const c of [0, 1]) {
      expect(again.mean[c]).toBeCloseTo(0, 6);
      expect(again.std[c]).toBeCloseTo(1, 5);
    }
    expect(z.x[0]).toBeCloseTo((1 - stats.mean[0]!) / stats.std[0]!, 5);
  });
});
