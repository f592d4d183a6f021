/**
 * Optimizers with PyTorch's semantics, as pure jax-js updates over lists of
 * parameter arrays (jitted together with the gradient in the train step).
 *   SGD:  g ← g + λw;  b ← μb + g;  w ← w − η·b            (torch.optim.SGD, dampening 0)
 *         nesterov: w ← w − η·(g + μb)                    (torch.optim.SGD(nesterov=True))
 *   Adam: g ← g + λw;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 *         w ← w − η·m̂/(√v̂ + ε), m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)   (torch.optim.Adam)
 * Adam's bias corrections 1 − βᵗ are computed in float64 outside the traced step (in float32,
 * 1 − 0.999ᵗ loses ~1e-5 relative to cancellation, and eager jax-js's power was off by 1 %).
 */
import { numpy as np } from '@jax-js/jax';
import { z } from 'zod';

type Arr = np.Array;

export const OptimizerSpec = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('sgd'),
      lr: z.number().positive().default(0.05),
      momentum: z.number().min(0).lt(1).default(0.9),
      weightDecay: z.number().min(0).default(0),
      /** Nesterov momentum, as Li et al. train (optional, so configs without it keep their hash). */
      nesterov: z.boolean().optional(),
    })
    .strict()
    .refine((s) => !s.nesterov || s.momentum > 0, 'nesterov needs a momentum > 0'),
  z
    .object({
      type: z.literal('adam'),
      lr: z.number().positive().default(1e-3),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      eps: z.number().positive().default(1e-8),
      weightDecay: z.number().min(0).default(0),
    })
    .strict(),
]);
export type OptimizerSpec = z.infer<typeof OptimizerSpec>;

/** Number of state arrays per parameter array. */
export function stateSlots(spec: OptimizerSpec): number {
  return spec.type === 'sgd' ? 1 : 2;
}

/** Adam's bias corrections [1 − β1ᵗ, 1 − β2ᵗ] at the 1-based step t (SGD: [1, 1]). */
export function biasCorrections(spec: OptimizerSpec, t: number): [number, number] {
  if (spec.type === 'sgd') return [1, 1];
  return [1 - spec.beta1 ** t, 1 - spec.beta2 ** t];
}

/**
 * One update. `learnable[k]` says whether tensor k is trained (running statistics
 * are not). Consumes params, grads and state; returns [params', state'].
 * `bias` holds `biasCorrections` of this step ([2]), `lr` is the learning rate.
 */
export function applyUpdate(spec: OptimizerSpec, params: Arr[], grads: Arr[], state: Arr[], learnable: boolean[], lr: Arr, bias: Arr): [Arr[], Arr[]] {
  const newParams: Arr[] = [];
  const newState: Arr[] = [];
  const slots = stateSlots(spec);
  params.forEach((w, k) => {
    const g0 = grads[k]!;
    const s = state.slice(k * slots, (k + 1) * slots);
    if (!learnable[k]) {
      g0.dispose();
      newParams.push(w);
      newState.push(...s);
      return;
    }
    const g = spec.weightDecay > 0 ? g0.add(w.ref.mul(spec.weightDecay)) : g0;
    if (spec.type === 'sgd') {
      if (spec.momentum === 0) s[0]!.dispose();
      const b = spec.momentum > 0 ? s[0]!.mul(spec.momentum).add(g.ref) : g.ref;
      let step = b.ref;
      if (spec.nesterov) {
        step.dispose();
        step = g.add(b.ref.mul(spec.momentum));
      } else g.dispose();
      newParams.push(w.sub(step.mul(lr.ref)));
      newState.push(b);
    } else {
      const m = s[0]!.mul(spec.beta1).add(g.ref.mul(1 - spec.beta1));
      const v = s[1]!.mul(spec.beta2).add(np.square(g).mul(1 - spec.beta2));
      const c1 = bias.ref.slice(0);
      const c2 = bias.ref.slice(1);
      const mhat = m.ref.div(c1);
      const vhat = v.ref.div(c2);
      newParams.push(w.sub(mhat.div(np.sqrt(vhat).add(spec.eps)).mul(lr.ref)));
      newState.push(m, v);
    }
  });
  lr.dispose();
  bias.dispose();
  return [newParams, newState];
}
