/**
 * `auto` falls back to jax-js when the compiled path fails: at engine creation, or after it
 * (plane and HVP graphs are compiled and loaded on first use) with one warning line naming the
 * stage and the reason, the failing call repeated on jax-js with jax-js's numbers, and every
 * later call there. A named backend fails in one line instead.
 */
import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { pointWeights } from '../../src/core/plane.js';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { LossEngine } from '../../src/engine/engine.js';
import { FallbackEngine } from '../../src/engine/fallback.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { OrtEngine } from '../../src/engine/ort/engine.js';
import { createEngine } from '../../src/engine/registry.js';
import type { Model } from '../../src/model/model.js';
import { buildModel } from '../../src/model/zoo.js';

/** A zoo MLP whose logits are sorted: jax-js runs it, jaxprToOnnx has no rule for `sort`. */
function sortedLogitsModel(): Model {
  const base = buildModel({ type: 'mlp', hidden: [6], activation: 'tanh' }, [4], 3);
  return {
    ...base,
    apply: (params, x, o) => {
      const r = base.apply(params, x, o);
      return { ...r, out: np.sort(r.out, -1) };
    },
  };
}

function data(n: number): Dataset {
  const rng = new Rng(1, 'default', 7);
  return {
    name: 'random',
    inputShape: [4],
    x: Float32Array.from({ length: 4 * n }, () => rng.normal()),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    task: 'classification',
    outputDim: 3,
  };
}

describe('auto backend: fallback', () => {
  it('at engine creation: one warning line naming the primitive, jax-js numbers', async () => {
    const model = sortedLogitsModel();
    const ds = data(12);
    const theta = model.init(2);
    const warnings: string[] = [];
    const engine = await createEngine(model, ds, {}, (l) => warnings.push(l));
    const jax = await JaxEngine.create(model, ds);
    try {
      expect(warnings).toEqual(['onnxruntime cannot run this model (jaxprToOnnx: unsupported primitive sort {}); using jax-js, which is slower']);
      expect(engine.description).toMatch(/jax-js/);
      expect((await engine.evaluate(theta)).loss).toBe((await jax.evaluate(theta)).loss);
    } finally {
      jax.dispose();
      await engine.dispose();
    }
  });

  it('at the first evaluation of a kind: the call is repeated on jax-js, later calls stay there', async () => {
    const model = buildModel({ type: 'mlp', hidden: [6], activation: 'tanh' }, [4], 3);
    const ds = data(12);
    const theta = model.init(2);
    const ort = await OrtEngine.create(model, ds);
    let disposed = false;
    // the compiled plane graph does not load (as onnxruntime reports a node it rejects)
    const failing: LossEngine = Object.assign(Object.create(ort) as LossEngine, {
      evaluatePlane: () => Promise.reject(new Error('Node () Op (Transpose) [TypeInferenceError] Invalid attribute perm\n  at stack')),
      dispose: async () => {
        disposed = true;
        await ort.dispose();
      },
    });
    const warnings: string[] = [];
    const engine = new FallbackEngine(failing, {
      label: 'onnxruntime',
      nextLabel: 'jax-js',
      warn: (l) => warnings.push(l),
      create: () => JaxEngine.create(model, ds),
    });
    const jax = await JaxEngine.create(model, ds);
    try {
      const before = await engine.evaluate(theta);
      expect(warnings).toEqual([]);
      expect(engine.description).toMatch(/onnxruntime/);
      const d1 = Float32Array.from(theta, (_, i) => Math.sin(i));
      const d2 = Float32Array.from(theta, (_, i) => Math.cos(i));
      const points = Float64Array.from([0, 0, 0.3, -0.2]);
      const [p1, p2] = await Promise.all([engine.evaluatePlane(theta, d1, d2, points), engine.evaluatePlane(theta, d2, d1, points)]);
      expect(warnings).toEqual([
        'onnxruntime cannot run this model (plane graph: Node () Op (Transpose) [TypeInferenceError] Invalid attribute perm); using jax-js, which is slower',
      ]);
      expect(disposed).toBe(true);
      expect(engine.description).toMatch(/jax-js/);
      expect(Array.from(p1.loss)).toEqual(Array.from((await jax.evaluatePlane(theta, d1, d2, points)).loss));
      expect(Array.from(p2.loss)).toEqual(Array.from((await jax.evaluatePlane(theta, d2, d1, points)).loss));
      const after = await engine.evaluate(pointWeights(theta, d1, d2, 0, 0));
      expect(after.loss).toBe((await jax.evaluate(theta)).loss);
      expect(Math.abs(after.loss - before.loss)).toBeLessThan(1e-5 * before.loss);
      expect(warnings).toHaveLength(1);
    } finally {
      jax.dispose();
      await engine.dispose();
    }
  });

  it('a named onnx backend fails in one line naming the primitive', async () => {
    const err = await createEngine(sortedLogitsModel(), data(6), { backend: 'onnx' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe('the onnxruntime engine cannot run this model: jaxprToOnnx: unsupported primitive sort {}');
  });
});
