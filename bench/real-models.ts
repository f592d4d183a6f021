/**
 * Real-convnet rows of `npm run bench` (issue 14): torchvision ResNet-18, SqueezeNet 1.1 and
 * MobileNetV3-small (10 classes, 3×32×32 inputs, batch norm kept), exported at bench time by
 * scripts/real-models/bench_models.py (seeded random init and 2 SGD steps, nothing downloaded),
 * imported with `loadOnnxModel` as a user's model would be, on 128 samples.
 *
 * Per model, with one onnxruntime thread and no workers:
 * - ms per grid point: a plane's grid points evaluated after its prefix ran (steady state of a
 *   surface: the per-landscape prefix is not included), best of the repetitions;
 * - ms per HVP (H·v at θ, after the θ-only part ran once), best of the repetitions;
 * - FLOPs (dots and convolutions of the traced forward / HVP, bench/flops.ts) and the achieved
 *   GFLOP/s; the FLOP floor = FLOPs / the peak GEMM rate onnxruntime reaches on this core in the
 *   same run (a 512×1024×1024 MatMul, one thread): "× floor" is time / floor;
 * - PyTorch on the same samples and weights (the exported model, eval mode), one thread, timed
 *   interleaved with losscape in the same run: the eval forward + cross-entropy at θ + a·d1 + b·d2
 *   (one grid point) and a double-backward HVP. Needs Debian's python3-torch (`/usr/bin/python3`,
 *   or the interpreter in LOSSCAPE_TORCH_PYTHON); without it the rows are skipped with one line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gridPoints } from '../src/core/grid.js';
import { fitToModelInput, loadDataFile } from '../src/data/files.js';
import { randomPlane } from '../src/directions/directions.js';
import { OrtEngine } from '../src/engine/ort/engine.js';
import { OrtFunction } from '../src/engine/ort/runner.js';
import { loadOnnxModel } from '../src/model/onnx/load.js';
import { forwardFlops, hvpFlops } from './flops.js';

export const REAL_MODELS = [
  { key: 'resnet18', label: 'ResNet-18 (torchvision, BN)' },
  { key: 'squeezenet1_1', label: 'SqueezeNet 1.1 (torchvision)' },
  { key: 'mobilenet_v3_small', label: 'MobileNetV3-small (torchvision, BN, SE, hardswish)' },
] as const;

export interface RealRow {
  model: string;
  params: number;
  samples: number;
  fwdGflop: number;
  hvpGflop: number;
  msPerPoint: number;
  msPerHvp: number;
  torchMsPerPoint?: number;
  torchMsPerHvp?: number;
  /** Peak onnxruntime GEMM GFLOP/s on one thread, measured in the same run. */
  peakGflops: number;
  load: number;
}

export interface RealFlags {
  quick: boolean;
  /** Only these models (keys of REAL_MODELS). */
  only?: string[];
  /** Passed to OrtEngine.create (e.g. { nchwc: false } to compare). */
  engineOptions?: Record<string, unknown>;
}

const SCRIPT = new URL('../scripts/real-models/bench_models.py', import.meta.url).pathname;

function torchPython(): string | null {
  const candidates = [process.env.LOSSCAPE_TORCH_PYTHON, '/usr/bin/python3'].filter((p): p is string => !!p && existsSync(p));
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

/**
 * One PyTorch timing (`bench_models.py time`) in its own process, between losscape's timings;
 * NaN with one logged line when PyTorch cannot do it (torch 1.13 has no double backward through
 * hardsigmoid, so no MobileNetV3 HVP).
 */
function torchTime(py: string, dir: string, kind: 'point' | 'hvp', name: string, reps: number, log: (line: string) => void): number {
  const r = spawnSync(py, [SCRIPT, 'time', dir, kind, name, String(reps)], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    log(`  PyTorch ${kind} ${name}: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').at(-1)}`);
    return Number.NaN;
  }
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ms: number }).ms;
}

/** onnxruntime's best single-thread GEMM rate here (GFLOP/s): a 512×1024 · 1024×1024 MatMul. */
export async function peakGemmGflops(reps = 10): Promise<number> {
  const { compileToOnnx } = await import('../src/compile/compile.js');
  const { numpy: np } = await import('@jax-js/jax');
  const { ArgSpec } = await import('../src/compile/compile.js');
  const [M, K, N] = [512, 1024, 1024];
  const c = compileToOnnx((a: unknown, b: unknown) => np.matmul(a as never, b as never), [new ArgSpec([M, K]), new ArgSpec([K, N])]);
  const f = await OrtFunction.create(c.model, { threads: 1 });
  const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i));
  let best = Infinity;
  await f.run([a, b]);
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f.run([a, b]);
    best = Math.min(best, performance.now() - t0);
  }
  await f.dispose();
  return (2 * M * K * N) / 1e6 / best;
}

async function best(reps: number, f: () => Promise<unknown>): Promise<number> {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
}

export async function runRealBench(flags: RealFlags, log: (line: string) => void = console.log): Promise<RealRow[]> {
  const py = torchPython();
  if (!py) {
    log('real convnets: skipped (exporting them needs PyTorch: apt-get install python3-torch python3-torchvision, or LOSSCAPE_TORCH_PYTHON)');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'losscape-real-'));
  const rows: RealRow[] = [];
  try {
    const samples = 128;
    const exp = spawnSync(py, [SCRIPT, 'export', dir, '--samples', String(samples)], { encoding: 'utf8' });
    if (exp.status !== 0) {
      log(`real convnets: skipped (the export failed: ${(exp.stderr || exp.stdout).trim().split('\n').at(-1)})`);
      return [];
    }
    const peak = await peakGemmGflops();
    log(`real convnets: onnxruntime peak GEMM on one thread ${peak.toFixed(1)} GFLOP/s (the FLOP floor's rate)`);
    const reps = flags.quick ? 2 : 3;
    for (const m of REAL_MODELS) {
      if (flags.only && !flags.only.includes(m.key)) continue;
      const imp = await loadOnnxModel(join(dir, `${m.key}.onnx`), { label: m.key });
      const ds = fitToModelInput(await loadDataFile(join(dir, 'data.x.npy')), imp.model.inputShape);
      const data = { ...ds, outputDim: imp.model.outputDim };
      const fwd = forwardFlops(imp.model, samples);
      const hvpF = hvpFlops(imp.model, samples);
      const engine = await OrtEngine.create(imp.model, data, { threads: 1, ...(flags.engineOptions ?? {}) });
      const load = loadavg()[0]!;
      try {
        const plane = randomPlane(imp.theta, imp.model.layout, { seed: 123, norm: 'filter', ignore: 'biasbn' });
        const K = engine.planeBatch;
        const pts = gridPoints({ x: { min: -1, max: 1, n: 21 }, y: { min: -1, max: 1, n: 21 } }, 0, 2 * K);
        await engine.evaluatePlane(imp.theta, plane.dx, plane.dy, pts.subarray(0, 2 * K)); // compile, sessions, prefix
        const v = Float32Array.from({ length: imp.theta.length }, (_, i) => Math.sin(1.7 * i));
        await engine.hvp(imp.theta, v); // compile, sessions, the θ-only part
        let msPoint = Infinity;
        let msHvp = Infinity;
        let tPoint = Infinity;
        let tHvp = Infinity;
        // interleaved: PyTorch, losscape, PyTorch, losscape, … (best of each)
        for (let r = 0; r < reps; r++) {
          if (!Number.isNaN(tPoint)) tPoint = Math.min(tPoint, torchTime(py, dir, 'point', m.key, 3, log));
          msPoint = Math.min(msPoint, (await best(1, () => engine.evaluatePlane(imp.theta, plane.dx, plane.dy, pts))) / (pts.length / 2));
          if (!Number.isNaN(tHvp)) tHvp = Math.min(tHvp, torchTime(py, dir, 'hvp', m.key, 2, log));
          msHvp = Math.min(msHvp, await best(1, () => engine.hvp(imp.theta, v)));
        }
        const row: RealRow = {
          model: m.label,
          params: imp.theta.length,
          samples,
          fwdGflop: fwd / 1e9,
          hvpGflop: hvpF / 1e9,
          msPerPoint: msPoint,
          msPerHvp: msHvp,
          torchMsPerPoint: tPoint,
          torchMsPerHvp: tHvp,
          peakGflops: peak,
          load,
        };
        rows.push(row);
        log(`  ${m.label}: ${fmt(msPoint)} ms per point (PyTorch ${fmt(tPoint)}), ${fmt(msHvp)} ms per HVP (PyTorch ${fmt(tHvp)}); load ${load.toFixed(2)}`);
      } finally {
        await engine.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toPrecision(digits);
}

function ratio(ours: number, torch: number | undefined): string {
  return torch === undefined || !Number.isFinite(torch) ? '–' : `${fmt(ours / torch)}×`;
}

export function formatRealTable(rows: RealRow[]): string {
  const head =
    '| real convnet, 128 samples 3×32×32, 1 thread | params | forward GFLOP | ms per point | GFLOP/s | × FLOP floor | PyTorch ms per point | vs PyTorch | HVP GFLOP | ms per HVP | GFLOP/s | × FLOP floor | PyTorch ms per HVP | vs PyTorch | load |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => {
    const floorPoint = (r.fwdGflop * 1e3) / r.peakGflops;
    const floorHvp = (r.hvpGflop * 1e3) / r.peakGflops;
    return `| ${r.model} | ${(r.params / 1e6).toFixed(2)} M | ${fmt(r.fwdGflop)} | ${fmt(r.msPerPoint)} | ${fmt((r.fwdGflop * 1e3) / r.msPerPoint)} | ${fmt(r.msPerPoint / floorPoint)} | ${fmt(r.torchMsPerPoint)} | ${ratio(r.msPerPoint, r.torchMsPerPoint)} | ${fmt(r.hvpGflop)} | ${fmt(r.msPerHvp)} | ${fmt((r.hvpGflop * 1e3) / r.msPerHvp)} | ${fmt(r.msPerHvp / floorHvp)} | ${fmt(r.torchMsPerHvp)} | ${ratio(r.msPerHvp, r.torchMsPerHvp)} | ${r.load.toFixed(2)} |`;
  });
  return [head, sep, ...lines].join('\n');
}

const invoked = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invoked) {
  const argv = process.argv.slice(2);
  const only = argv.includes('--models') ? argv[argv.indexOf('--models') + 1]!.split(',') : undefined;
  const engineOptions = argv.includes('--no-nchwc') ? { nchwc: false } : undefined;
  runRealBench({ quick: argv.includes('--quick'), only, engineOptions }).then(
    (rows) => {
      console.log('');
      console.log(formatRealTable(rows));
      process.exit(0);
    },
    (e) => {
      console.error(`bench: ${(e as Error).stack}`);
      process.exit(1);
    },
  );
}
