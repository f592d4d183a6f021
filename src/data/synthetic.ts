/**
 * Synthetic 2-D classification sets for small, fast networks.
 * All seeded; noise is Gaussian with standard deviation `noise`.
 */
import { Rng } from '../core/rng.js';
import type { Dataset } from './dataset.js';

export type SyntheticKind = 'spirals' | 'moons' | 'circles' | 'xor';
export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['spirals', 'moons', 'circles', 'xor'];

export interface SyntheticSpec {
  kind: SyntheticKind;
  /** Total number of samples (split evenly over the classes). */
  n?: number;
  noise?: number;
  seed?: number;
  /** Number of arms (spirals only). */
  classes?: number;
}

export function synthetic(spec: SyntheticSpec): Dataset {
  const n = spec.n ?? 1000;
  const seed = spec.seed ?? 0;
  const rng = new Rng(seed, 'synthetic');
  const classes = spec.kind === 'spirals' ? (spec.classes ?? 3) : 2;
  const noise = spec.noise ?? (spec.kind === 'spirals' ? 0.1 : spec.kind === 'xor' ? 0.1 : 0.08);
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    const t = rng.uniform();
    let a: number;
    let b: number;
    switch (spec.kind) {
      case 'spirals': {
        // arm c: radius grows with t, angle offset 2πc/classes, 1.75 turns
        const r = t;
        const th = 2 * Math.PI * (c / classes + 1.75 * t);
        a = r * Math.cos(th);
        b = r * Math.sin(th);
        break;
      }
      case 'moons': {
        const th = Math.PI * t;
        if (c === 0) {
          a = Math.cos(th);
          b = Math.sin(th);
        } else {
          a = 1 - Math.cos(th);
          b = 0.5 - Math.sin(th);
        }
        break;
      }
      case 'circles': {
        const r = c === 0 ? 1 : 0.5;
        const th = 2 * Math.PI * t;
        a = r * Math.cos(th);
        b = r * Math.sin(th);
        break;
      }
      case 'xor': {
        // quadrant q ∈ {0..3}; class = sign(a)·sign(b) < 0
        const sa = rng.uniform() < 0.5 ? -1 : 1;
        const sb = c === 0 ? sa : -sa;
        a = sa * (0.1 + 0.9 * t);
        b = sb * (0.1 + 0.9 * rng.uniform());
        break;
      }
    }
    x[2 * i] = a + noise * rng.normal();
    x[2 * i + 1] = b + noise * rng.normal();
    y[i] = c;
  }
  return { name: spec.kind, inputShape: [2], x, y, task: 'classification', outputDim: classes };
}
