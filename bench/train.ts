/**
 * The training rows of `npm run bench`: one epoch of SGD (momentum 0.9) with the native trainer
 * (the optimizer step compiled to ONNX, run by onnxruntime on all cores; src/train/native.ts)
 * and with the jax-js trainer (src/train/loop.ts).
 *
 * Work: the zoo CNN conv5(1→8)-pool-conv5(8→16)-pool-fc on 8,000 MNIST digits (800 per class),
 * batch 64; a ResNet-20 (the zoo's `cifar-resnet` depth 20 when the zoo has it, else the zoo
 * ResNet of the same shape: 3×3 stem of 16, three stages of three basic blocks at 16/32/64
 * channels, 1×1-conv shortcuts, global average pooling) on 60,000 28×28 images (the `mnist`
 * package's 10,000 digits, six times over), batch 128. The jax-js epochs are extrapolated from
 * timed steps (marked in the table); the native CNN epoch is timed whole, as is the ResNet-20
 * epoch except under --quick. On a machine with several cores each work also gets a native row
 * on one thread (`engine.threads: 1`; the ResNet-20 one from 20 steps). Times exclude compiling
 * (printed separately). GFLOP/s counts 3× the forward FLOPs per image (forward, input and weight
 * gradients; bench/flops.ts).
 */
import { availableParallelism } from 'node:os';
import { count, type Dataset } from '../src/data/dataset.js';
import { loadMnist, mnistBalanced } from '../src/data/mnist.js';
import type { Model } from '../src/model/model.js';
import { ModelSpec } from '../src/model/spec.js';
import { buildModel } from '../src/model/zoo.js';
import { MinibatchLoop, stepsPerEpoch } from '../src/train/loop.js';
import { NativeMinibatchLoop, type TrainLoop } from '../src/train/native.js';
import type { OptimizerSpec } from '../src/train/optimizer.js';
import { forwardFlops } from './flops.js';

export interface TrainRow {
  work: string;
  engine: string;
  threads: number;
  images: number;
  /** Seconds per epoch (compiling excluded). */
  epochSeconds: number;
  /** Steps timed (an epoch's worth unless `extrapolated`). */
  stepsTimed: number;
  extrapolated: boolean;
  imagesPerSecond: number;
  gflops: number;
  /** Process CPU seconds per epoch (all threads). */
  cpuSeconds: number;
  /** Seconds to compile the step (native; jax-js compiles in its untimed first step). */
  compileSeconds?: number;
  /** jax-js epoch / this epoch (native rows with a jax-js row for the same work). */
  speedup?: number;
  target?: string;
  met?: boolean;
}

interface TrainWork {
  key: string;
  label: string;
  model: Model;
  data: Dataset;
  batchSize: number;
  optimizer: OptimizerSpec;
}

/** The zoo's ResNet-20: `cifar-resnet` depth 20 where the zoo has it, else the zoo ResNet of that shape. */
export function resnet20Spec(): unknown {
  const cifar = { type: 'cifar-resnet', depth: 20 };
  return ModelSpec.safeParse(cifar).success ? cifar : { type: 'resnet', width: 16, blocks: [3, 3, 3] };
}

/** n images: the package's MNIST digits repeated in order. */
function tiledMnist(n: number): Dataset {
  const all = loadMnist();
  const d = 784;
  const m = count(all);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(all.x.subarray((i % m) * d, (i % m) * d + d), i * d);
    y[i] = all.y[i % m]!;
  }
  return { ...all, name: `mnist-tiled-${n}`, x, y };
}

function cnnWork(): TrainWork {
  const data = mnistBalanced(800);
  return {
    key: 'cnn',
    label: 'CNN epoch, 8,000 digits',
    model: buildModel({ type: 'cnn', channels: [8, 16], kernel: 5 }, data.inputShape, data.outputDim),
    data,
    batchSize: 64,
    optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 0 },
  };
}

function resnet20Work(): TrainWork {
  const data = tiledMnist(60_000);
  return {
    key: 'resnet20',
    label: 'ResNet-20 epoch, 60,000 28×28 images',
    model: buildModel(resnet20Spec(), [1, 28, 28], data.outputDim),
    data,
    batchSize: 128,
    optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
  };
}

/** Seconds and CPU seconds of `steps` steps from step `from`, after one untimed warm-up step. */
export async function timeSteps(loop: TrainLoop, from: number, steps: number, lr: number): Promise<{ seconds: number; cpuSeconds: number }> {
  await loop.step(from, lr);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let s = from + 1; s <= from + steps; s++) {
    const loss = await loop.step(s, lr);
    if (!Number.isFinite(loss)) throw new Error(`bench: training diverged at step ${s}`);
  }
  const cpu = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function timeEpoch(w: TrainWork, engine: 'jax' | 'onnx', maxSteps: number, threads?: number): Promise<TrainRow> {
  const n = count(w.data);
  const per = stepsPerEpoch(n, w.batchSize);
  const flopsPerImage = (3 * forwardFlops(w.model, w.batchSize)) / w.batchSize;
  const opts = { model: w.model, data: w.data, optimizer: w.optimizer, batchSize: w.batchSize, seed: 0, theta: w.model.init(0), threads };
  const t0 = performance.now();
  const loop = engine === 'onnx' ? await NativeMinibatchLoop.create(opts) : await MinibatchLoop.create(opts);
  const compileSeconds = (performance.now() - t0) / 1000;
  try {
    // the whole epoch is steps 0 … per − 1: step 0 warms up, then (up to) the rest are timed
    const steps = Math.min(per - 1, maxSteps);
    const r = await timeSteps(loop, 0, steps, w.optimizer.lr);
    const epochSeconds = (r.seconds / steps) * per;
    return {
      work: w.label,
      engine: engine === 'onnx' ? 'onnxruntime' : 'jax-js (wasm)',
      threads: engine === 'onnx' ? (threads ?? availableParallelism()) : 1,
      images: n,
      epochSeconds,
      stepsTimed: steps,
      extrapolated: steps < per - 1,
      imagesPerSecond: n / epochSeconds,
      gflops: (flopsPerImage * n) / epochSeconds / 1e9,
      cpuSeconds: (r.cpuSeconds / steps) * per,
      compileSeconds: engine === 'onnx' ? compileSeconds : undefined,
    };
  } finally {
    loop.dispose();
  }
}

/** The jax-js row, or none (with a line saying why) where the step does not fit in wasm's memory. */
async function timeJax(w: TrainWork, steps: number, log: (line: string) => void): Promise<TrainRow | undefined> {
  try {
    return await timeEpoch(w, 'jax', steps);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (!/memory32 limit|out of memory|Out of memory/i.test(msg)) throw e;
    log(`  jax-js: not timed, a step of batch ${w.batchSize} does not fit in wasm's memory (${msg})`);
    return undefined;
  }
}

export interface TrainBenchFlags {
  quick: boolean;
  jax: boolean;
}

/** The training rows: per work, the jax-js trainer (timed steps) and the native trainer. */
export async function runTrainBench(flags: TrainBenchFlags, log: (line: string) => void = console.log): Promise<TrainRow[]> {
  const rows: TrainRow[] = [];
  const plans = [
    { work: cnnWork, jaxSteps: flags.quick ? 3 : 10, nativeSteps: Infinity, oneThreadSteps: Infinity, target: 10 },
    { work: resnet20Work, jaxSteps: flags.quick ? 0 : 2, nativeSteps: flags.quick ? 20 : Infinity, oneThreadSteps: 20, target: undefined },
  ];
  for (const plan of plans) {
    const w = plan.work();
    log(`${w.label}: ${w.model.name}, ${w.model.layout.size} parameters, batch ${w.batchSize}`);
    const jax = flags.jax && plan.jaxSteps > 0 ? await timeJax(w, plan.jaxSteps, log) : undefined;
    if (jax) {
      rows.push(jax);
      log(`  jax-js: ${jax.epochSeconds.toFixed(1)} s per epoch (from ${jax.stepsTimed} steps)`);
    }
    const native = await timeEpoch(w, 'onnx', plan.nativeSteps);
    if (jax) native.speedup = jax.epochSeconds / native.epochSeconds;
    if (plan.target !== undefined) {
      native.target = `≥ ${plan.target}× jax-js`;
      native.met = native.speedup !== undefined ? native.speedup >= plan.target : undefined;
    } else native.target = 'minutes';
    rows.push(native);
    log(`  onnxruntime: ${native.epochSeconds.toFixed(1)} s per epoch, ${native.imagesPerSecond.toFixed(0)} images/s, ${native.gflops.toFixed(1)} GFLOP/s`);
    if (availableParallelism() > 1) {
      // the same step on one thread (engine.threads: 1): for small nets the faster choice, and the one for variants trained side by side
      const one = await timeEpoch(w, 'onnx', Math.min(plan.nativeSteps, plan.oneThreadSteps), 1);
      if (jax) one.speedup = jax.epochSeconds / one.epochSeconds;
      rows.push(one);
      log(`  onnxruntime, 1 thread: ${one.epochSeconds.toFixed(1)} s per epoch`);
    }
  }
  return rows;
}

function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toPrecision(digits);
}

export function formatTrainTable(rows: TrainRow[]): string {
  const head = '| training | engine | threads | s per epoch | images/s | GFLOP/s | CPU s per epoch | compile s | speed-up | target | met |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => {
    const time = r.extrapolated ? `${fmt(r.epochSeconds)} (from ${r.stepsTimed} steps)` : fmt(r.epochSeconds);
    const met = r.met === undefined ? '–' : r.met ? 'yes' : 'no';
    return `| ${r.work} | ${r.engine} | ${r.threads} | ${time} | ${fmt(r.imagesPerSecond)} | ${fmt(r.gflops)} | ${fmt(r.cpuSeconds)} | ${fmt(r.compileSeconds)} | ${r.speedup === undefined ? '–' : `${fmt(r.speedup)}×`} | ${r.target ?? '–'} | ${met} |`;
  });
  return [head, sep, ...lines].join('\n');
}
