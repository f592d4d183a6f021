/**
 * The training-step rows of `npm run bench` against PyTorch: one optimizer step (forward, backward,
 * SGD with Nesterov momentum and weight decay) of the CIFAR ResNets the Fashion-MNIST studies train,
 * batch 128, one thread each — the native trainer (src/train/native.ts) and PyTorch running
 * scripts/torch-train-resnet.py's network (`--time-steps`, the same architecture; Debian's
 * python3-torch, else one line and no rows). Each engine times its steps after 3 untimed ones;
 * the two alternate, best of `repeats` each, so that load from other processes hits both alike.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Dataset } from '../src/data/dataset.js';
import { buildModel } from '../src/model/zoo.js';
import { NativeMinibatchLoop } from '../src/train/native.js';
import type { OptimizerSpec } from '../src/train/optimizer.js';
import { timeSteps } from './train.js';

const PY = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '../scripts/torch-train-resnet.py');

export interface TorchStepRow {
  work: string;
  engine: string;
  msPerStep: number;
  cpuMsPerStep: number;
  /** This engine's wall time per step over PyTorch's (native rows). */
  vsTorch?: number;
}

interface StepWork {
  label: string;
  depth: number;
  widen: number;
  skip: boolean;
  side: number;
  steps: number;
}

const WORKS: StepWork[] = [
  { label: 'plain ResNet-56 ×1/4, 7×7', depth: 56, widen: 0.25, skip: false, side: 7, steps: 30 },
  { label: 'ResNet-56 ×1/2, 14×14', depth: 56, widen: 0.5, skip: true, side: 14, steps: 10 },
  { label: 'ResNet-20, 28×28', depth: 20, widen: 1, skip: true, side: 28, steps: 4 },
];

const OPTIMIZER: OptimizerSpec = { type: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 5e-4, nesterov: true };

async function timeNative(w: StepWork): Promise<{ ms: number; cpuMs: number }> {
  const batch = 128;
  const n = 4 * batch;
  const d = w.side * w.side;
  let s = 1;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const data: Dataset = {
    name: 'random',
    x: Float32Array.from({ length: n * d }, rand),
    y: Int32Array.from({ length: n }, (_, i) => i % 10),
    inputShape: [1, w.side, w.side],
    task: 'classification',
    outputDim: 10,
  };
  const model = buildModel({ type: 'cifar-resnet', depth: w.depth, widen: w.widen, skip: w.skip, shortcut: 'A', init: 'kaiming' }, data.inputShape, 10);
  const loop = await NativeMinibatchLoop.create({ model, data, optimizer: OPTIMIZER, batchSize: batch, seed: 0, theta: model.init(0), threads: 1 });
  try {
    // steps 0 and 1 here and step 2 in timeSteps are untimed
    for (let k = 0; k < 2; k++) await loop.step(k, OPTIMIZER.lr);
    const r = await timeSteps(loop, 2, w.steps, OPTIMIZER.lr);
    return { ms: (1000 * r.seconds) / w.steps, cpuMs: (1000 * r.cpuSeconds) / w.steps };
  } finally {
    loop.dispose();
  }
}

function timeTorch(w: StepWork): { ms: number; cpuMs: number; version: string } {
  const args = [SCRIPT, '--time-steps', `${w.steps}`, '--depth', `${w.depth}`, '--widen', `${w.widen}`, '--downsample', `${28 / w.side}`];
  const r = spawnSync(PY, [...args, ...(w.skip ? [] : ['--no-skip']), '--nesterov', '--init', 'kaiming', '--weight-decay', '5e-4', '--threads', '1'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bench: ${SCRIPT} failed: ${r.stderr.trim().split('\n').at(-1)}`);
  const o = JSON.parse(r.stdout) as { msPerStep: number; cpuMsPerStep: number; torch: string };
  return { ms: o.msPerStep, cpuMs: o.cpuMsPerStep, version: o.torch };
}

/** Native and PyTorch rows per work, or none (with a line) without python3-torch. */
export async function runTorchStepBench(flags: { quick: boolean }, log: (line: string) => void = console.log): Promise<TorchStepRow[]> {
  if (spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
    log('training steps against PyTorch: skipped (no python3-torch; `sudo apt-get install python3-torch`)');
    return [];
  }
  const repeats = flags.quick ? 1 : 2;
  const rows: TorchStepRow[] = [];
  for (const w of WORKS) {
    let native = { ms: Infinity, cpuMs: Infinity };
    let torch = { ms: Infinity, cpuMs: Infinity, version: '?' };
    for (let k = 0; k < repeats; k++) {
      const t = timeTorch(w);
      if (t.ms < torch.ms) torch = t;
      const m = await timeNative(w);
      if (m.ms < native.ms) native = m;
    }
    log(`${w.label}: native ${native.ms.toFixed(1)} ms per step, PyTorch ${torch.version} ${torch.ms.toFixed(1)} ms`);
    rows.push({ work: w.label, engine: `PyTorch ${torch.version}`, msPerStep: torch.ms, cpuMsPerStep: torch.cpuMs });
    rows.push({ work: w.label, engine: 'onnxruntime (native trainer)', msPerStep: native.ms, cpuMsPerStep: native.cpuMs, vsTorch: native.ms / torch.ms });
  }
  return rows;
}

export function formatTorchStepTable(rows: TorchStepRow[]): string {
  const head = '| training step, batch 128, 1 thread | engine | ms per step | CPU ms per step | × PyTorch |';
  const sep = '|---|---|---|---|---|';
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return [
    head,
    sep,
    ...rows.map(
      (r) => `| ${r.work} | ${r.engine} | ${f(r.msPerStep)} | ${f(r.cpuMsPerStep)} | ${r.vsTorch === undefined ? '–' : `${r.vsTorch.toFixed(2)}×`} |`,
    ),
  ].join('\n');
}
