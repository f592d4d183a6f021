/**
 * The lowering-rule registry (src/compile/rules.ts): what it covers, and the one-line errors for
 * primitives without a rule.
 */
import { type Array, init, jit, makeJaxpr, numpy as np } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { Lowering } from '../../src/compile/lowering.js';
import { coveredPrimitives, lowerEqn } from '../../src/compile/rules.js';
import { jaxprToOnnx } from '../../src/compile/translate.js';

beforeAll(async () => {
  await init('wasm', 'cpu');
});

/** The primitives the translator has lowered since its first complete version (`jit` is inlined before lowering). */
const EXPECTED = (
  'add mul idiv mod min max neg reciprocal floor ceil stop_gradient cast sin cos asin atan exp log erf erfc sqrt reduce dot conv pool ' +
  'pool_transpose compare where concatenate split gather transpose broadcast reshape flip shrink pad bit_combine'
).split(' ');

/** An equation of a primitive with no inputs or outputs: enough to reach the registry's lookup. */
function eqnOf(primitive: string, params: Record<string, unknown>) {
  return { primitive, params, inputs: [], outBinders: [] };
}

describe('lowering rules', () => {
  it('cover every primitive of the list, and list each once, sorted', () => {
    const covered = coveredPrimitives();
    for (const p of EXPECTED) expect(covered).toContain(p);
    expect(covered).toEqual([...new Set(covered)].sort());
    expect(covered).not.toContain('random_bits');
  });

  it('nested jit is inlined', () => {
    const inner = jit((x: Array) => np.multiply(x, 2));
    const { jaxpr } = makeJaxpr((x: Array) => np.add(inner(x.ref), x))(np.zeros([3]));
    expect(jaxpr.jaxpr.eqns.map((e) => String(e.primitive))).toContain('jit');
    expect(jaxprToOnnx(jaxpr, { inputNames: ['x'], outputNames: ['y'] }).length).toBeGreaterThan(0);
  });

  it('a primitive without a rule throws one line with its name and params', () => {
    for (const name of ['frobnicate', 'constructor', 'toString']) {
      expect(() => lowerEqn(new Lowering(), eqnOf(name, { axis: [1], n: 2 }))).toThrow(
        new Error(`jaxprToOnnx: unsupported primitive ${name} {"axis":[1],"n":2}`),
      );
    }
  });

  it('random_bits says to pass random numbers in', () => {
    expect(() => lowerEqn(new Lowering(), eqnOf('random_bits', { shape: [3] }))).toThrow(
      new Error(
        'jaxprToOnnx: random_bits {"shape":[3]} cannot be compiled to ONNX; generate random numbers (e.g. dropout masks) outside and pass them in as inputs',
      ),
    );
  });
});
