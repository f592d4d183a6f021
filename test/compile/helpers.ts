/** Shared helpers for the ONNX engine tests: seeded data, reference evaluation, error metrics. */

import { type Array as JArray, jit, numpy as np, tree } from '@jax-js/jax';
import { expect } from 'vitest';
import { type CompileOptions, compileToOnnx } from '../../src/compile/compile.js';
import { type ModelSummary, summarizeModel } from '../../src/compile/inspect.js';
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { OrtFunction, type TypedArray } from '../../src/engine/ort/runner.js';

/** Deterministic uniform [0, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard-normal-ish array (sum of uniforms) scaled by `scale`. */
export function randn(r: () => number, shape: number[], scale = 1, dtype: 'float32' | 'float64' = 'float32'): JArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() + r() + r() - 1.5) * 2 * scale;
  // float64 arrays are built from float32 data (jax-js's array() needs Float16Array for float64 input on Node 20).
  const a = np.array(data, { shape });
  return dtype === 'float64' ? a.astype(np.float64) : a;
}

/** One-hot float labels [n, classes]. */
export function oneHotLabels(r: () => number, n: number, classes: number, dtype: 'float32' | 'float64' = 'float32'): JArray {
  const data = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) data[i * classes + Math.floor(r() * classes)] = 1;
  const a = np.array(data, { shape: [n, classes] });
  return dtype === 'float64' ? a.astype(np.float64) : a;
}

/** ‖a − b‖₂ / max(‖b‖₂, floor). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-30): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Number(a[i]) - Number(b[i]);
    num += d * d;
    den += Number(b[i]) * Number(b[i]);
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), floor);
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Number(a[i]) * Number(a[i]);
  return Math.sqrt(s);
}

export async function leavesData(t: unknown): Promise<TypedArray[]> {
  const leaves = tree.leaves(t as any) as JArray[];
  return Promise.all(leaves.map(async (a) => (await a.data()) as TypedArray));
}

export interface Comparison {
  /**
   * Per output: ‖ort − ref‖ / ‖ref‖, or ‖ort − ref‖ / ‖all outputs‖ for outputs that are zero up
   * to rounding (‖ref‖ < 1e-4 ‖all outputs‖, e.g. the gradient of a bias followed by batch norm).
   */
  errors: number[];
  /** Relative L2 error of all outputs concatenated. */
  flatError: number;
  ref: TypedArray[];
  ort: TypedArray[];
  fn: OrtFunction;
  summary: ModelSummary;
  model: Uint8Array;
}

/**
 * Evaluate `f(...args)` with jax-js `jit` and with the ONNX translation in onnxruntime.
 * `args` are not consumed.
 */
export async function compareWithJit(
  f: (...args: any[]) => any,
  args: unknown[],
  opts: CompileOptions & { threads?: number; keep?: boolean } = {},
): Promise<Comparison> {
  const inputs = await leavesData(tree.ref(args as any));
  const jf = jit(f);
  const refOut = jf(...(tree.ref(args as any) as unknown[]));
  const ref = await leavesData(refOut);
  jf.dispose();
  const c = compileToOnnx(f, args, opts);
  const fn = await OrtFunction.create(c.model, { threads: opts.threads ?? 1 });
  const ort = await fn.run(inputs);
  const total = Math.hypot(...ref.map((r) => norm(r as ArrayLike<number>)));
  const errors = ref.map((r, i) => {
    const a = ort[i] as ArrayLike<number>;
    const b = r as ArrayLike<number>;
    // Outputs that are zero up to rounding (‖ref‖ < 1e-4 of the total) are measured against the total.
    return norm(b) < 1e-4 * total ? relErr(a, b, total) : relErr(a, b);
  });
  let num = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = ort[i] as ArrayLike<number>;
    const b = ref[i] as ArrayLike<number>;
    for (let j = 0; j < b.length; j++) num += (Number(a[j]) - Number(b[j])) ** 2;
  }
  const flatError = Math.sqrt(num) / Math.max(total, 1e-30);
  if (process.env.ONNX_TEST_VERBOSE) console.log({ errors, flatError, norms: ref.map((r) => norm(r as ArrayLike<number>)) });
  if (!opts.keep) await fn.dispose();
  return { errors, flatError, ref, ort, fn, summary: summarizeModel(c.model), model: c.model };
}

/**
 * got equals ref elementwise to `rel` times ref's largest magnitude (which must exceed
 * `minScale`, so that an all-zero result cannot pass).
 */
export function expectCloseToScale(ref: ArrayLike<number>, got: ArrayLike<number>, rel: number, minScale = 0): void {
  expect(got.length).toBe(ref.length);
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  expect(scale).toBeGreaterThan(minScale);
  for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(rel * scale);
}

/** A random 3-class image data set: n samples of `shape`, standard normal pixels from (seed, 'default', 1). */
export function randomImages(n: number, shape: number[], seed: number): Dataset {
  const rng = new Rng(seed, 'default', 1);
  return {
    name: 'random',
    inputShape: shape,
    x: Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    task: 'classification',
    outputDim: 3,
  };
}
