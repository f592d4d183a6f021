/**
 * The functions every engine runs, written once in jax-js over per-tensor
 * parameter arrays and one batch (x, targets t, dropout masks):
 *   metrics(p, x, t, m)        → [per-sample losses [N], correct count]
 *   lossGrad(p, x, t, m)       → ∇ Σ_n ℓ_n
 *   hvp(p, v, x, t, m)         → H v of Σ_n ℓ_n (forward-over-reverse: jvp of grad)
 *   plane(p, d1, d2, a, b, …)  → metrics at K points p + (a_k·d1 + b_k·d2) (vmap over k)
 * jax-js jits them (JaxEngine); onnxruntime runs their traced graphs (OrtEngine).
 * Sums, not means, so batches combine exactly; engines divide by N in float64.
 */
import { grad, jvp, numpy as np, vmap } from '@jax-js/jax';
import type { ConvImpl } from '../model/layers.js';
import type { Model } from '../model/model.js';
import type { LossKind } from './engine.js';
import { correctCount, lossSum, sampleLosses } from './loss.js';

type Arr = np.Array;

export interface ObjectiveOptions {
  kind: LossKind;
  train: boolean;
  conv: ConvImpl;
  /** Count correct predictions (classification). */
  classify: boolean;
}

export interface Objective {
  metrics(p: Arr[], x: Arr, t: Arr, masks: Arr[]): Arr[];
  lossGrad(p: Arr[], x: Arr, t: Arr, masks: Arr[]): Arr[];
  hvp(p: Arr[], v: Arr[], x: Arr, t: Arr, masks: Arr[]): Arr[];
  plane(p: Arr[], d1: Arr[], d2: Arr[], a: Arr, b: Arr, x: Arr, t: Arr, masks: Arr[]): Arr[];
}

export function objective(model: Model, o: ObjectiveOptions): Objective {
  const forward = (params: Arr[], x: Arr, masks: Arr[]): Arr => {
    const r = model.apply(params, x, { train: o.train, dropoutMasks: masks, conv: o.conv });
    r.batchStats.forEach((s) => s.dispose());
    return r.out;
  };
  const total = (params: Arr[], x: Arr, t: Arr, masks: Arr[]): Arr => lossSum(forward(params, x, masks), t, o.kind);
  const metrics = (params: Arr[], x: Arr, t: Arr, masks: Arr[]): Arr[] => {
    const out = forward(params, x, masks);
    const losses = sampleLosses(out.ref, t.ref, o.kind);
    if (o.classify) return [losses, correctCount(out, t)];
    out.dispose();
    t.dispose();
    return [losses, np.zeros([])];
  };
  return {
    metrics,
    lossGrad: (p, x, t, masks) => grad(total)(p, x, t, masks) as Arr[],
    hvp(p, v, x, t, masks) {
      const g = (q: Arr[]) =>
        grad(total)(
          q,
          x.ref,
          t.ref,
          masks.map((m) => m.ref),
        ) as Arr[];
      const [primal, tangent] = jvp(g, [p], [v]);
      (primal as Arr[]).forEach((a) => a.dispose());
      x.dispose();
      t.dispose();
      masks.forEach((m) => m.dispose());
      return tangent as Arr[];
    },
    plane(p, d1, d2, a, b, x, t, masks) {
      // w_k = p + (a_k·d1 + b_k·d2), the reference code's order of operations
      const at = (ak: Arr, bk: Arr) => {
        const w = p.map((pi, i) => pi.ref.add(d1[i]!.ref.mul(ak.ref).add(d2[i]!.ref.mul(bk.ref))));
        ak.dispose();
        bk.dispose();
        return metrics(
          w,
          x.ref,
          t.ref,
          masks.map((m) => m.ref),
        );
      };
      const r = vmap(at)(a, b) as Arr[];
      [...p, ...d1, ...d2, x, t, ...masks].forEach((z) => z.dispose());
      return r;
    },
  };
}
