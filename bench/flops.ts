/**
 * FLOPs of one forward evaluation (loss over the data subset at one θ), counted from the
 * traced jaxpr: 2·M·N·K for every dot, 2·(output elements)·(C/groups·kernel) for every
 * convolution; elementwise work is not counted (the usual convention). Also per HVP.
 */
import { makeJaxpr, type numpy as np } from '@jax-js/jax';
import { ArgSpec } from '../src/compile/compile.js';
import { objective } from '../src/engine/objective.js';
import type { Model } from '../src/model/model.js';

interface EqnLike {
  primitive: string;
  inputs: { aval: { shape: number[] } }[];
  outBinders: { aval: { shape: number[] } }[];
  params: Record<string, unknown>;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function forwardFlops(model: Model, samples: number, classes = model.outputDim): number {
  return tracedFlops(model, samples, classes, 'metrics');
}

/**
 * FLOPs of one Hessian-vector product (jvp of grad, forward-over-reverse) over the data subset,
 * counted the same way from its traced jaxpr: the dots and convolutions of the forward pass, the
 * backward pass and both tangent passes (about 4–5 forward passes).
 */
export function hvpFlops(model: Model, samples: number, classes = model.outputDim): number {
  return tracedFlops(model, samples, classes, 'hvp');
}

function tracedFlops(model: Model, samples: number, classes: number, fn: 'metrics' | 'hvp'): number {
  const obj = objective(model, { kind: 'cross_entropy', train: false, conv: 'lax', classify: true });
  const p = model.layout.entries.map((e) => new ArgSpec(e.shape));
  const args = [
    ...(fn === 'hvp' ? [p, p] : [p]),
    new ArgSpec([samples, ...model.inputShape]),
    new ArgSpec([samples, classes]),
    model.dropoutSites.map((s) => new ArgSpec([samples, ...s.shape])),
  ];
  const { jaxpr } = makeJaxpr(obj[fn] as (...a: unknown[]) => np.Array[])(...args);
  let flops = 0;
  try {
    const flat = jaxpr.jaxpr.flatten() as unknown as { eqns: EqnLike[] };
    for (const e of flat.eqns) {
      const out = e.outBinders[0]?.aval.shape ?? [];
      if (e.primitive === 'dot') {
        const k = e.inputs[0]!.aval.shape.at(-1) ?? 1;
        flops += 2 * prod(out) * k;
      } else if (e.primitive === 'conv') {
        const V = Number(e.params.vmapDims ?? 0);
        const rhs = e.inputs[1]!.aval.shape.slice(V);
        flops += 2 * prod(out) * prod(rhs.slice(1));
      }
    }
  } finally {
    jaxpr.dispose();
  }
  return flops;
}
