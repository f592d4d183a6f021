/** A LossEngine for the quadratic L(θ) = ½ θᵀAθ (A dense, symmetric), in float64: Hessian A everywhere. */
import { makeLayout } from '../../src/core/layout.js';
import type { LossEngine, Metrics, PlaneValues } from '../../src/engine/engine.js';

export function quadraticEngine(a: Float64Array, n: number): LossEngine {
  const mul = (v: ArrayLike<number>): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * v[j]!;
      out[i] = s;
    }
    return out;
  };
  const loss = (t: ArrayLike<number>): number => {
    const at = mul(t);
    let s = 0;
    for (let i = 0; i < n; i++) s += t[i]! * at[i]!;
    return 0.5 * s;
  };
  return {
    // one weight matrix, so that filter normalization and 'biasbn' keep every coordinate
    layout: makeLayout([{ name: 'w', shape: [1, n], role: 'weight' }]),
    samples: 1,
    dtype: 'float64',
    description: 'quadratic',
    evaluate: async (t): Promise<Metrics> => ({ loss: loss(t), acc: Number.NaN }),
    gradient: async (t) => ({ loss: loss(t), grad: mul(t) }),
    hvp: async (_t, v) => mul(v),
    evaluatePlane: async (t, d1, d2, points): Promise<PlaneValues> => {
      const k = points.length / 2;
      const out = { loss: new Float64Array(k), acc: new Float64Array(k).fill(Number.NaN) };
      for (let p = 0; p < k; p++) out.loss[p] = loss(Float64Array.from(t, (x, i) => x + points[2 * p]! * d1[i]! + points[2 * p + 1]! * d2[i]!));
      return out;
    },
    dispose() {},
  };
}
