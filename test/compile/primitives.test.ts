import { type Array, defaultDevice, grad, init, jvp, lax, makeJaxpr, nn, numpy as np, random, vmap } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { jaxprToOnnx } from '../../src/compile/translate.js';
import { compareWithJit, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm', 'cpu');
});

/**
 * float64 references run on jax-js's cpu backend: its wasm backend evaluates float64 exp / log /
 * tanh only to ~1e-8 relative, which would hide real float64 errors.
 */
async function onDevice<T>(dtype: string | undefined, f: () => Promise<T>): Promise<T> {
  if (dtype !== 'float64') return f();
  defaultDevice('cpu');
  try {
    return await f();
  } finally {
    defaultDevice('wasm');
  }
}

type Case = [name: string, f: (...a: Array[]) => any, shapes: number[][], opts?: { dtype?: 'float32' | 'float64'; positive?: boolean }];

const sumAll = (x: Array) => np.sum(x);

const cases: Case[] = [
  [
    'elementwise',
    (x, y) => np.add(np.multiply(np.subtract(x.ref, y.ref), np.divide(x.ref, np.add(np.abs(y.ref), 1))), np.maximum(np.minimum(x, 0.5), y)),
    [
      [3, 4],
      [3, 4],
    ],
  ],
  [
    'unary',
    (x) =>
      np.stack([
        np.exp(x.ref),
        np.log(np.add(np.abs(x.ref), 1)),
        np.sqrt(np.abs(x.ref)),
        np.tanh(x.ref),
        nn.sigmoid(x.ref),
        np.sign(x.ref),
        np.square(x.ref),
        np.power(np.abs(x.ref), 1.5),
        lax.erf(x.ref),
        np.reciprocal(np.add(np.abs(x.ref), 1)),
        np.floor(x.ref),
        np.ceil(x.ref),
        np.sin(x.ref),
        np.cos(x),
      ]),
    [[5, 6]],
  ],
  ['rsqrt and erfc', (x) => np.add(np.reciprocal(np.sqrt(np.add(np.abs(x.ref), 1))), lax.erfc(x)), [[7]]],
  [
    'compare and where',
    (x, y) =>
      np.where(
        np.less(x.ref, y.ref),
        np.where(np.greaterEqual(x.ref, 0), x.ref, y.ref),
        np.where(np.equal(x.ref, y.ref), 1, np.where(np.notEqual(x, 0.1), 2, y)),
      ),
    [
      [4, 5],
      [4, 5],
    ],
  ],
  [
    'reductions',
    (x) => np.concatenate([np.sum(x.ref, 0), np.max(x.ref, 0), np.min(x.ref, 0), np.prod(np.add(np.abs(x.ref), 0.5), 0), np.mean(x, 0)]),
    [[6, 4]],
  ],
  ['broadcast + reduce over broadcast', (x, y) => np.sum(np.add(x.reshape([3, 1, 4]), y.reshape([1, 5, 1])), [0, 1]), [[3, 4], [5]]],
  ['transpose / reshape / flip', (x) => np.flip(np.transpose(x.reshape([2, 3, 4]), [2, 0, 1]), [0, 2]).reshape([4, 6]), [[6, 4]]],
  [
    'slice / pad / negative pad',
    (x) =>
      np
        .pad(x.ref.slice([1, 4], []), [
          [2, 1],
          [0, 3],
        ])
        .slice([], [1])
        .ref.reshape([-1]),
    [[5, 3]],
  ],
  [
    'lax.pad negative via conv padding',
    (x, k) =>
      lax.convGeneralDilated(
        x,
        k,
        [1, 1],
        [
          [-1, 2],
          [1, -1],
        ],
      ),
    [
      [2, 3, 6, 7],
      [4, 3, 3, 2],
    ],
  ],
  [
    'conv with lhs dilation and stride (zero insertion)',
    (x, k) =>
      lax.convGeneralDilated(
        x,
        k,
        [2, 1],
        [
          [1, 2],
          [0, 1],
        ],
        { lhsDilation: [2, 3] },
      ),
    [
      [2, 2, 5, 4],
      [3, 2, 3, 2],
    ],
  ],
  [
    'strided conv, odd sizes, asymmetric padding',
    (x, k) =>
      lax.convGeneralDilated(
        x,
        k,
        [2, 3],
        [
          [1, 0],
          [2, 1],
        ],
      ),
    [
      [2, 2, 7, 8],
      [3, 2, 3, 3],
    ],
  ],
  [
    'transposed conv (lax.convTranspose)',
    (x, k) => lax.convTranspose(x, k, [2, 2], 'SAME'),
    [
      [2, 3, 4, 5],
      [2, 3, 3, 3],
    ],
  ],
  [
    'concatenate / split',
    (x, y) => {
      const parts = np.split(np.concatenate([x, y], 1), [2, 5], 1);
      return np.add(np.multiply(parts[0], 2), np.sum(parts[2], 1, { keepdims: true }));
    },
    [
      [3, 4],
      [3, 3],
    ],
  ],
  [
    'gather (take / integer-array slice)',
    (x) => {
      const idx = np.array([3, 0, 2, 2], { dtype: np.int32 });
      return np.add(np.take(x.ref, idx.ref, 0), np.transpose(np.take(x, idx, 1)));
    },
    [[5, 5]],
  ],
  ['arange / cast / int ops', (x) => np.add(x, np.arange(0, 12).astype(np.float32).reshape([3, 4])), [[3, 4]]],
  [
    'argmax and accuracy',
    (x, y) => np.sum(np.equal(np.argmax(x, -1), np.argmax(y, -1)).astype(np.float32)),
    [
      [20, 5],
      [20, 5],
    ],
  ],
  [
    'matmul variants',
    (a, b, c) => np.add(np.matmul(a.ref, b), np.matmul(np.transpose(a), c)),
    [
      [4, 4],
      [4, 6],
      [4, 6],
    ],
  ],
  [
    'batched matmul',
    (a, b) => np.matmul(a, b),
    [
      [3, 4, 5],
      [3, 5, 2],
    ],
  ],
  [
    'batched matmul with broadcast batch',
    (a, b) => np.matmul(a, b),
    [
      [3, 1, 4, 5],
      [2, 5, 2],
    ],
  ],
  ['dot broadcasting vector', (a, v) => np.dot(a, v), [[4, 7], [7]]],
  [
    'float64 elementwise + matmul',
    (a, b) => np.tanh(np.matmul(a, b)),
    [
      [5, 6],
      [6, 3],
    ],
    { dtype: 'float64' },
  ],
  ['avg pool (reduceWindow, non-overlapping)', (x) => lax.reduceWindow(x, (w: Array) => np.mean(w), [2, 2], [2, 2]), [[2, 3, 6, 8]]],
  ['max pool 3x3 stride 2 (reduceWindow, overlapping)', (x) => lax.reduceWindow(x, (w: Array) => np.max(w), [3, 3], [2, 2]), [[2, 3, 9, 7]]],
];

describe('single primitives vs jax-js jit', () => {
  for (const [name, f, shapes, o] of cases) {
    it(name, async () => {
      const r = rng(name.length * 31 + 7);
      const c = await onDevice(o?.dtype, () =>
        compareWithJit(
          f,
          shapes.map((s) => randn(r, s, 1, o?.dtype ?? 'float32')),
        ),
      );
      const tol = o?.dtype === 'float64' ? 1e-10 : 1e-5;
      for (const e of c.errors) expect(e).toBeLessThan(tol);
    });
  }

  // Gradients exercise the transpose rules (pad/slice/concatenate/gather/pool_transpose/flip).
  for (const [name, f, shapes, o] of cases) {
    if (/argmax|arange|compare|gather/.test(name)) continue;
    it(`grad of ${name}`, async () => {
      const r = rng(name.length * 17 + 3);
      const g = (...a: Array[]) =>
        grad((...b: Array[]) => {
          const out = f(...b);
          return sumAll(np.multiply(out.ref, out));
        })(...a);
      const c = await onDevice(o?.dtype, () =>
        compareWithJit(
          g,
          shapes.map((s) => randn(r, s, 1, o?.dtype ?? 'float32')),
        ),
      );
      const tol = o?.dtype === 'float64' ? 1e-10 : 2e-5;
      for (const e of c.errors) expect(e).toBeLessThan(tol);
    });
  }

  it('gather gradient (scatter) reports an unsupported primitive', () => {
    const x = np.zeros([5, 5]);
    const f = (x: Array) => grad((y: Array) => np.sum(np.take(y, np.array([1, 2], { dtype: np.int32 }), 0)))(x);
    const { jaxpr } = makeJaxpr(f)(x);
    expect(() => jaxprToOnnx(jaxpr, { inputNames: ['x'], outputNames: ['g'] })).toThrow(/unsupported primitive scatter/);
  });
});

describe('errors', () => {
  it('random_bits is rejected with a clear message', () => {
    const f = (x: Array) => np.add(x, random.uniform(random.key(0), [3]));
    const { jaxpr } = makeJaxpr(f)(np.zeros([3]));
    expect(() => jaxprToOnnx(jaxpr, { inputNames: ['x'], outputNames: ['y'] })).toThrow(/random_bits .*pass them in as inputs/);
  });

  it('unsupported primitives name the primitive and params on one line', () => {
    const { jaxpr } = makeJaxpr((x: Array) => np.sort(x))(np.zeros([4]));
    let msg = '';
    try {
      jaxprToOnnx(jaxpr, { inputNames: ['x'], outputNames: ['y'] });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^jaxprToOnnx: unsupported primitive sort /);
    expect(msg).not.toContain('\n');
  });
});

describe('vmap and jvp of small functions', () => {
  it('vmap over a batched conv (vmapDims) with batched lhs and rhs', async () => {
    const r = rng(5);
    const x = randn(r, [3, 2, 2, 7, 7]);
    const k = randn(r, [3, 4, 2, 3, 3]);
    const f = (x: Array, k: Array) => vmap((a: Array, b: Array) => lax.convGeneralDilated(a, b, [1, 1], 'SAME'))(x, k);
    const c = await compareWithJit(f, [x, k]);
    expect(c.errors[0]).toBeLessThan(1e-5);
  });

  it('vmap over the kernel only', async () => {
    const r = rng(6);
    const x = randn(r, [2, 2, 7, 7]);
    const k = randn(r, [3, 4, 2, 3, 3]);
    const f = (x: Array, k: Array) => vmap((b: Array) => lax.convGeneralDilated(x.ref, b, [2, 2], 'VALID'))(k);
    const c = await compareWithJit(f, [x, k]);
    expect(c.errors[0]).toBeLessThan(1e-5);
  });

  it('vmap over the input only', async () => {
    const r = rng(7);
    const x = randn(r, [3, 2, 2, 7, 7]);
    const k = randn(r, [4, 2, 3, 3]);
    const f = (x: Array, k: Array) => vmap((a: Array) => lax.convGeneralDilated(a, k.ref, [1, 1], 'SAME'))(x);
    const c = await compareWithJit(f, [x, k]);
    expect(c.errors[0]).toBeLessThan(1e-5);
  });

  it('jvp through tanh / sigmoid / erf', async () => {
    const r = rng(8);
    const x = randn(r, [10]);
    const t = randn(r, [10]);
    const f = (x: Array, t: Array) => jvp((z: Array) => np.add(np.tanh(z.ref), np.multiply(nn.sigmoid(z.ref), lax.erf(z))), [x], [t])[1];
    const c = await compareWithJit(f, [x, t]);
    expect(c.errors[0]).toBeLessThan(1e-5);
  });
});
