/**
 * Bench (not a test): jax-js jit vs onnxruntime (via compileToOnnx) for the MLP 784-64-10 and
 * the small CNN: loss, gradient, HVP (jvp of grad), and the batched 64-point plane.
 *
 * Run (after `npm run build`: `node dist/engine/onnx/bench.js [--quick]`), or without a build:
 *   npx esbuild src/engine/onnx/bench.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=/tmp/onnx-bench.mjs && node /tmp/onnx-bench.mjs [--quick]
 * The first row (one 1000x784x64 GEMM, 100 MFLOP) calibrates: ~0.5 ms at the 212 GF/s an earlier
 * study measured on an idle core; 1.1-1.5 ms was measured while other jobs shared the 2 cores.
 *
 * Prints median milliseconds per call (inputs prepared once; ORT times include the feeds and
 * reading the outputs, jax-js times include reading the outputs back).
 */

import { availableParallelism } from 'node:os';
import { type Array, grad, init, jit, jvp, numpy as np, tree } from '@jax-js/jax';
import { compileToOnnx } from '../src/compile/compile.js';
import { summarizeModel } from '../src/compile/inspect.js';
import { OrtFunction, type TypedArray } from '../src/engine/ort/runner.js';
import { type ConvKind, cnnLoss, cnnShapes, mlpLoss, mlpShapes, planeLosses } from '../test/helpers/jax-models.js';

const quick = process.argv.includes('--quick');
const REPS = quick ? 5 : 20;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const r = rng(7);
function randn(shape: number[], scale = 1): Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (r() + r() + r() - 1.5) * 2 * scale;
  return np.array(d, { shape });
}
function oneHot(n: number, c: number): Array {
  const d = new Float32Array(n * c);
  for (let i = 0; i < n; i++) d[i * c + Math.floor(r() * c)] = 1;
  return np.array(d, { shape: [n, c] });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeAsync(f: () => Promise<unknown>, reps = REPS): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function leaves(t: unknown): Promise<TypedArray[]> {
  return Promise.all((tree.leaves(t as any) as Array[]).map(async (a) => (await a.data()) as TypedArray));
}

interface Row {
  name: string;
  jax?: number;
  ort: Record<number, number>;
  compileMs: number;
  nodes: number;
}

async function bench(name: string, f: (...a: any[]) => any, args: unknown[], opts: { jax?: boolean; reps?: number } = {}): Promise<Row> {
  const inputs = await leaves(tree.ref(args as any));
  let jaxMs: number | undefined;
  if (opts.jax !== false) {
    const jf = jit(f);
    jaxMs = await timeAsync(async () => leaves(jf(...(tree.ref(args as any) as unknown[]))), opts.reps);
    jf.dispose();
  }
  const t0 = performance.now();
  const c = compileToOnnx(f, args);
  const compileMs = performance.now() - t0;
  const ort: Record<number, number> = {};
  for (const threads of [...new Set([1, availableParallelism()])]) {
    const fn = await OrtFunction.create(c.model, { threads });
    ort[threads] = await timeAsync(() => fn.run(inputs), opts.reps);
    await fn.dispose();
  }
  const row = { name, jax: jaxMs, ort, compileMs, nodes: summarizeModel(c.model).nodes };
  const fmt = (x: number | undefined) => (x === undefined ? '   -   ' : x.toFixed(2).padStart(7));
  console.log(
    `${name.padEnd(34)} jax-js ${fmt(jaxMs)} ms | ORT ${Object.entries(ort)
      .map(([t, ms]) => `${t} thr ${fmt(ms)} ms`)
      .join(' | ')} | trace+translate ${compileMs.toFixed(0)} ms, ${row.nodes} nodes`,
  );
  return row;
}

async function main(): Promise<void> {
  await init('wasm');
  console.log(`cores: ${availableParallelism()}, reps: ${REPS}`);
  // Calibration: one 1000x784 @ 784x64 GEMM (the MLP's first layer) shows how loaded the machine is.
  await bench('calibration GEMM 1000x784x64', (a: Array, b: Array) => np.matmul(a, b), [randn([1000, 784]), randn([784, 64])], {
    jax: false,
  });

  // MLP 784-64-10 on 1000 samples.
  const mk = (s: number[][]) => s.map((sh) => randn(sh, sh.length === 2 ? 1 / Math.sqrt(sh[0]) : 0.1));
  const p = mk(mlpShapes());
  const v = mk(mlpShapes());
  const x = randn([1000, 784]);
  const y = oneHot(1000, 10);
  await bench('MLP loss', mlpLoss, [p, x, y]);
  await bench('MLP grad', (pp: Array[], xx: Array, yy: Array) => grad(mlpLoss)(pp, xx, yy), [p, x, y]);
  const mlpHvp = (pp: Array[], t: Array[], xx: Array, yy: Array) => jvp((q: Array[]) => grad(mlpLoss)(q, xx, yy), [pp], [t])[1];
  await bench('MLP HVP', mlpHvp, [p, v, x, y]);

  const K = 64;
  const d1 = mk(mlpShapes());
  const d2 = mk(mlpShapes());
  const al = randn([K]);
  const be = randn([K]);
  const plane = planeLosses((w, xx, yy) => mlpLoss(w, xx, yy));
  // (jax-js's jit(vmap) of this is very slow; its per-point cost is the MLP loss row above)
  const row = await bench(`MLP plane, ${K} points batched`, plane, [p, d1, d2, al, be, x, y], {
    jax: false,
    reps: quick ? 3 : 10,
  });
  console.log(
    `  per point: ${Object.entries(row.ort)
      .map(([t, ms]) => `${t} thr ${(ms / K).toFixed(3)} ms`)
      .join(', ')}`,
  );

  // CNN on 64 samples.
  for (const conv of ['lax', 'im2col'] as ConvKind[]) {
    const cp = mk(cnnShapes());
    const cv = mk(cnnShapes());
    const cx = randn([64, 1, 28, 28]);
    const cy = oneHot(64, 10);
    const loss = (pp: Array[], xx: Array, yy: Array) => cnnLoss(pp, xx, yy, conv);
    await bench(`CNN(${conv}) loss`, loss, [cp, cx, cy], { jax: !quick || conv === 'im2col' });
    await bench(`CNN(${conv}) grad`, (pp: Array[], xx: Array, yy: Array) => grad(loss)(pp, xx, yy), [cp, cx, cy], {
      jax: !quick || conv === 'im2col',
    });
    const hvp = (pp: Array[], t: Array[], xx: Array, yy: Array) => jvp((q: Array[]) => grad(loss)(q, xx, yy), [pp], [t])[1];
    await bench(`CNN(${conv}) HVP`, hvp, [cp, cv, cx, cy], { jax: !quick || conv === 'im2col', reps: quick ? 3 : 10 });
  }

  // CNN plane on 1000 samples, 8 points batched (lax conv).
  {
    const KC = 8;
    const cp = [mk(cnnShapes()), mk(cnnShapes()), mk(cnnShapes())];
    const cx = randn([1000, 1, 28, 28]);
    const cy = oneHot(1000, 10);
    const cplane = planeLosses((w, xx, yy) => cnnLoss(w, xx, yy, 'lax'));
    const crow = await bench(`CNN(lax) plane N=1000, ${KC} points`, cplane, [...cp, randn([KC]), randn([KC]), cx, cy], {
      jax: false,
      reps: 3,
    });
    console.log(
      `  per point: ${Object.entries(crow.ort)
        .map(([t, ms]) => `${t} thr ${(ms / KC).toFixed(2)} ms`)
        .join(', ')}`,
    );
  }
}

await main();
