/**
 * Dense references for tiny models: the full Hessian of the mean loss by
 * jax-js `hessian` (= jacfwd(grad)) in float64 on jax-js's cpu backend (its
 * wasm backend computes float64 exp/log/tanh to only ~1e-8 relative), and a
 * cyclic Jacobi eigen-solver.
 */
import { defaultDevice, hessian, init, numpy as np } from '@jax-js/jax';
import { Rng } from '../../src/core/rng.js';
import { count, type Dataset, sampleSize } from '../../src/data/dataset.js';
import { targetMatrix } from '../../src/engine/batches.js';
import { lossSum } from '../../src/engine/loss.js';
import { ensureJax } from '../../src/model/jax.js';
import type { Model } from '../../src/model/model.js';

type Arr = np.Array;

export interface DenseOptions {
  train?: boolean;
  kind?: 'cross_entropy' | 'mse';
}

/** H (row-major P × P, P = all layout coordinates) of the mean loss over all samples, one batch. */
export async function denseHessian(model: Model, data: Dataset, theta: ArrayLike<number>, o: DenseOptions = {}): Promise<Float64Array> {
  await ensureJax();
  await init('wasm', 'cpu');
  defaultDevice('cpu');
  try {
    const n = count(data);
    const P = model.layout.size;
    const kind = o.kind ?? (data.task === 'regression' ? 'mse' : 'cross_entropy');
    const x = np
      .array(Float32Array.from(data.x), { shape: [n, sampleSize(data)] })
      .astype(np.float64)
      .reshape([n, ...model.inputShape]);
    const t = np.array(targetMatrix(data), { shape: [n, data.outputDim] }).astype(np.float64);
    const cuts = model.layout.entries.slice(1).map((e) => e.offset);
    const f = (flat: Arr): Arr => {
      const parts = cuts.length ? np.split(flat, cuts) : [flat];
      const params = parts.map((p, k) => p.reshape(model.layout.entries[k]!.shape));
      const r = model.apply(params, x.ref, { train: o.train ?? false, conv: 'lax' });
      r.batchStats.forEach((s) => s.dispose());
      return lossSum(r.out, t.ref, kind).div(n);
    };
    // float64 from float32 data (np.array(Float64Array) needs the Float16Array shim; both work)
    const flat = np.array(Float64Array.from(theta)).astype(np.float64);
    const H = hessian(f)(flat) as Arr;
    const out = Float64Array.from((await H.data()) as Float64Array);
    x.dispose();
    t.dispose();
    if (out.length !== P * P) throw new Error(`dense Hessian has ${out.length} entries, expected ${P * P}`);
    // symmetrize (jacfwd(grad) is symmetric only up to rounding)
    for (let i = 0; i < P; i++)
      for (let j = 0; j < i; j++) {
        const s = 0.5 * (out[i * P + j]! + out[j * P + i]!);
        out[i * P + j] = s;
        out[j * P + i] = s;
      }
    return out;
  } finally {
    defaultDevice('wasm');
  }
}

/** The principal submatrix of rows/columns `idx`. */
export function submatrix(a: Float64Array, n: number, idx: readonly number[]): Float64Array {
  const m = idx.length;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i * m + j] = a[idx[i]! * n + idx[j]!]!;
  return out;
}

export function matvec(a: Float64Array, n: number, v: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j]! * v[j]!;
    y[i] = s;
  }
  return y;
}

/** Eigenvalues of a symmetric matrix (ascending) by cyclic Jacobi rotations. */
export function jacobiEigenvalues(a0: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(a0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        total += a[i * n + j]! ** 2;
        if (i !== j) off += a[i * n + j]! ** 2;
      }
    if (off <= 1e-30 * total) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i * n + i]!).sort();
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** A small random classification (or regression) data set. */
export function randomData(n: number, inputShape: number[], classes: number, seed: number, task: 'classification' | 'regression' = 'classification'): Dataset {
  const rng = new Rng(seed);
  const d = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const y =
    task === 'classification'
      ? Int32Array.from({ length: n }, (_, i) => (i < classes ? i : Math.floor(rng.uniform() * classes)))
      : Float32Array.from({ length: n * classes }, () => rng.normal());
  return { name: `random-${seed}`, inputShape, x, y, task, outputDim: classes };
}
