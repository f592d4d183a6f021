/**
 * `npm run bench`: the speed table of docs/performance.md, on this machine.
 *
 * Work (fixed sizes, as the reference timings in the notes): MNIST, 1000 samples (100 per
 * digit, the fixture's layout), the zoo MLP 784-64-10 and the CNN conv5(1→8)-pool-conv5(8→16)-
 * pool-fc(256→10) at model.init(seed), filter-normalized random directions, a 21×21 grid on
 * [-1, 1]². Rows: loss surface per grid point with the jax-js engine and the onnxruntime engine
 * (1 worker, all cores), and λmin/λmax per grid point (Lanczos on HVPs of the mean loss, warm
 * started along a grid row as in an eigenvalue map: whole rows for the MLP; the best of three runs).
 *
 * Flags: --models mlp,cnn  --workers N (default: cores)  --no-jax  --no-hessian
 *        --hessian-points N  --quick (fewer points everywhere)  --json FILE
 *        --no-train (skip the training rows, bench/train.ts and bench/train-torch.ts)  --train-only
 *        --no-real (skip the real-convnet rows, bench/real-models.ts)  --real-only
 * The load average before and after is printed: quote it with the numbers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Grid, gridPoints } from '../src/core/grid.js';
import { mnistBalanced } from '../src/data/mnist.js';
import { randomPlane } from '../src/directions/directions.js';
import type { LossEngine } from '../src/engine/engine.js';
import { JaxEngine } from '../src/engine/jax/engine.js';
import { OrtEngine } from '../src/engine/ort/engine.js';
import { hessianPointCost } from '../src/hessian/eigenmap.js';
import { h5ready } from '../src/io/h5.js';
import type { Model } from '../src/model/model.js';
import { buildModel } from '../src/model/zoo.js';
import { versions } from '../src/run/versions.js';
import { computeSurface } from '../src/surface/surface.js';
import { forwardFlops } from './flops.js';
import { formatRealTable, type RealRow, runRealBench } from './real-models.js';
import { formatTrainTable, runTrainBench, type TrainRow } from './train.js';
import { formatTorchStepTable, runTorchStepBench, type TorchStepRow } from './train-torch.js';

/** The reference code's best times on this machine (notes/performance.md), ms per grid point. */
export const REFERENCE = { mlpSurface: 1.39, cnnSurface: 21.8, mlpHessian: 370, cnnHessian: 4550 } as const;
/** The targets, ms per grid point. */
export const TARGET = { mlpSurface: 0.14, cnnSurface: 7, mlpHessian: 74, cnnHessian: 900 } as const;

export const BENCH_GRID: Grid = { x: { min: -1, max: 1, n: 21 }, y: { min: -1, max: 1, n: 21 } };

export interface BenchCase {
  key: 'mlp' | 'cnn';
  label: string;
  model: Model;
  theta: Float32Array;
  dx: Float32Array;
  dy: Float32Array;
  /** Forward FLOPs per grid point (the whole data subset). */
  flops: number;
}

export interface Row {
  work: string;
  engine: string;
  workers: number;
  msPerPoint: number;
  /** Process CPU time (all threads) per point: shows how much of the wall time was waiting on a busy machine. */
  cpuMsPerPoint?: number;
  /** Forward GFLOP per point / time per point (effective: hoisted work is not counted twice). */
  gflops?: number;
  hvpsPerPoint?: number;
  msPerHvp?: number;
  points: number;
  reference: number;
  target: number;
}

export function benchCase(key: 'mlp' | 'cnn', samples = 1000, seed = 0): BenchCase {
  const data = mnistBalanced(samples / 10);
  const spec = key === 'mlp' ? { type: 'mlp', hidden: [64], activation: 'relu' } : { type: 'cnn', channels: [8, 16], kernel: 5 };
  const model = buildModel(spec, data.inputShape, data.outputDim);
  const theta = model.init(seed);
  const plane = randomPlane(theta, model.layout, { seed: 123, norm: 'filter', ignore: 'biasbn' });
  return {
    key,
    label: key === 'mlp' ? 'MLP 784-64-10' : 'CNN conv5(1→8)-conv5(8→16)-fc',
    model,
    theta,
    dx: plane.dx,
    dy: plane.dy,
    flops: forwardFlops(model, samples),
  };
}

function benchData(samples: number) {
  return mnistBalanced(samples / 10);
}

/**
 * ms per grid point of a full surface computation (grid job, chunks of 64, journal and file),
 * the best of `reps` runs, each on a fresh plane (so each pays its prefix once, as a landscape
 * does): the minimum is what the machine does when other jobs leave it alone.
 */
export async function timeSurface(
  engine: LossEngine,
  c: BenchCase,
  grid: Grid,
  limitPoints?: number,
  reps = 3,
): Promise<{ msPerPoint: number; cpuMsPerPoint: number; points: number }> {
  // warm up: compile, sessions, workers (on another plane, so the real ones pay their prefix)
  const warm = randomPlane(c.theta, c.model.layout, { seed: 7, norm: 'filter', ignore: 'biasbn' });
  await engine.evaluatePlane(c.theta, warm.dx, warm.dy, gridPoints(grid, 0, Math.min(4, limitPoints ?? 4)));
  let best = { msPerPoint: Infinity, cpuMsPerPoint: Infinity, points: 0 };
  for (let r = 0; r < reps; r++) {
    const plane = r === 0 ? { dx: c.dx, dy: c.dy } : randomPlane(c.theta, c.model.layout, { seed: 123 + r, norm: 'filter', ignore: 'biasbn' });
    let res: { msPerPoint: number; cpuMsPerPoint: number; points: number };
    if (limitPoints !== undefined) {
      // the jax-js engine evaluates point by point: time a fixed number of points
      const pts = gridPoints(grid, 0, limitPoints);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await engine.evaluatePlane(c.theta, plane.dx, plane.dy, pts);
      res = { msPerPoint: (performance.now() - t0) / limitPoints, cpuMsPerPoint: cpuMs(c0) / limitPoints, points: limitPoints };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'losscape-bench-'));
      try {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const gf = await computeSurface({
          theta: c.theta,
          dx: plane.dx,
          dy: plane.dy,
          grid,
          engines: { train: engine },
          path: join(dir, 'surface.h5'),
          context: 'bench',
          chunkSize: 64,
          saveEverySec: 3600,
        });
        const ms = performance.now() - t0;
        const n = gf.done.length;
        res = { msPerPoint: ms / n, cpuMsPerPoint: cpuMs(c0) / n, points: n };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    if (res.msPerPoint < best.msPerPoint) best = res;
  }
  return best;
}

/**
 * λmin/λmax per grid point as an eigenvalue map computes them (Lanczos with the default test,
 * warm starts along a row). A map's workers take whole rows from a queue and are all busy until
 * its last rows, whatever each row costs; here `rows` row segments of `pointsPerRow` points
 * (rows spread over y, 2 by default: the same for every lane count) are given to every lane (one per worker),
 * each lane taking them in its own rotated order, so that the lanes do the same work and finish
 * together as in a map's steady state. Wall time per point computed; ms per HVP from inside the
 * lanes. (Two lanes on two different rows would time the costlier row: on the CNN the bench's
 * rows need 28 and 21 HVPs per point.) A map's tail, one worker finishing its last row alone,
 * is not included.
 */
export async function timeHessian(
  engine: LossEngine,
  c: BenchCase,
  grid: Grid,
  pointsPerRow: number,
  lanes: number,
  rows = 2,
): Promise<{ msPerPoint: number; cpuMsPerPoint: number; hvpsPerPoint: number; msPerHvp: number; points: number }> {
  const rowGrids = Array.from({ length: rows }, (_, r): Grid => {
    // row r: the grid row r·(ny−1)/rows, as a 1-row grid
    const y = grid.y ? grid.y.min + ((grid.y.max - grid.y.min) * Math.floor((r * (grid.y.n - 1)) / rows)) / (grid.y.n - 1) : 0;
    return { x: grid.x, y: { min: y, max: y + 1, n: 2 } };
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const done = await Promise.all(
    Array.from({ length: lanes }, async (_, l) => {
      const out = [];
      for (let k = 0; k < rows; k++) out.push(await hessianPointCost(engine, c.theta, c.dx, c.dy, rowGrids[(l + k) % rows]!, { points: pointsPerRow }));
      return out;
    }),
  );
  const ms = performance.now() - t0;
  const segments = done.flat();
  const points = segments.reduce((a, r) => a + r.points, 0);
  const hvps = segments.reduce((a, r) => a + r.hvpsPerPoint * r.points, 0);
  const hvpMs = segments.reduce((a, r) => a + r.msPerHvp * r.hvpsPerPoint * r.points, 0);
  return { msPerPoint: ms / points, cpuMsPerPoint: cpuMs(c0) / points, hvpsPerPoint: hvps / points, msPerHvp: hvpMs / hvps, points };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toPrecision(digits);
}

export function formatTable(rows: Row[]): string {
  const head =
    '| work | engine | workers | ms per point | CPU ms per point | forward GFLOP/s | HVPs per point | ms per HVP | reference (best) | speed-up | target | met |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.work} | ${r.engine} | ${r.workers} | ${fmt(r.msPerPoint)} | ${fmt(r.cpuMsPerPoint)} | ${fmt(r.gflops)} | ${fmt(r.hvpsPerPoint)} | ${fmt(r.msPerHvp)} | ${fmt(r.reference)} | ${fmt(r.reference / r.msPerPoint)}× | ≤ ${fmt(r.target)} | ${r.msPerPoint <= r.target ? 'yes' : 'no'} |`,
  );
  return [head, sep, ...lines].join('\n');
}

interface Flags {
  models: ('mlp' | 'cnn')[];
  workers: number;
  jax: boolean;
  hessian: boolean;
  hessianPoints?: number;
  quick: boolean;
  json?: string;
  train: boolean;
  trainOnly: boolean;
  real: boolean;
  realOnly: boolean;
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    models: ['mlp', 'cnn'],
    workers: availableParallelism(),
    jax: true,
    hessian: true,
    quick: false,
    train: true,
    trainOnly: false,
    real: true,
    realOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--models')
      f.models = next()
        .split(',')
        .map((m) => (m === 'cnn' ? 'cnn' : 'mlp'));
    else if (a === '--workers') f.workers = Math.max(1, Number(next()));
    else if (a === '--no-jax') f.jax = false;
    else if (a === '--no-hessian') f.hessian = false;
    else if (a === '--hessian-points') f.hessianPoints = Math.max(1, Number(next()));
    else if (a === '--quick') f.quick = true;
    else if (a === '--json') f.json = next();
    else if (a === '--no-train') f.train = false;
    else if (a === '--train-only') f.trainOnly = true;
    else if (a === '--no-real') f.real = false;
    else if (a === '--real-only') f.realOnly = true;
    else throw new Error(`unknown flag ${a} (see bench/main.ts)`);
  }
  return f;
}

export async function runBench(flags: Flags, log: (line: string) => void = console.log): Promise<Row[]> {
  const rows: Row[] = [];
  const grid = BENCH_GRID;
  const data = benchData(1000);
  for (const key of flags.models) {
    const c = benchCase(key);
    const ref = key === 'mlp' ? REFERENCE.mlpSurface : REFERENCE.cnnSurface;
    const target = key === 'mlp' ? TARGET.mlpSurface : TARGET.cnnSurface;
    const gf = (ms: number) => c.flops / 1e6 / ms;
    log(`${c.label}: ${c.model.layout.size} parameters, ${(c.flops / 1e6).toFixed(1)} MFLOP per forward point`);
    if (flags.jax) {
      const e = await JaxEngine.create(c.model, data, {});
      const n = flags.quick ? 3 : key === 'mlp' ? 21 : 5;
      const r = await timeSurface(e, c, grid, n, 1);
      e.dispose();
      rows.push({
        work: `${key.toUpperCase()} surface`,
        engine: 'jax-js (wasm)',
        workers: 1,
        msPerPoint: r.msPerPoint,
        cpuMsPerPoint: r.cpuMsPerPoint,
        gflops: gf(r.msPerPoint),
        points: r.points,
        reference: ref,
        target,
      });
      log(`  jax-js: ${fmt(r.msPerPoint)} ms per point (${r.points} points)`);
    }
    for (const workers of [...new Set([1, flags.workers])]) {
      const e = await OrtEngine.create(c.model, data, { threads: 1, workers });
      const r = await timeSurface(e, c, grid, undefined, flags.quick ? 1 : 3);
      await e.dispose();
      rows.push({
        work: `${key.toUpperCase()} surface`,
        engine: 'onnxruntime',
        workers,
        msPerPoint: r.msPerPoint,
        cpuMsPerPoint: r.cpuMsPerPoint,
        gflops: gf(r.msPerPoint),
        points: r.points,
        reference: ref,
        target,
      });
      log(`  onnxruntime, ${workers} worker${workers > 1 ? 's' : ''}: ${fmt(r.msPerPoint)} ms per point (${r.points} points)`);
    }
    if (flags.hessian) {
      const points = flags.hessianPoints ?? (flags.quick ? 2 : key === 'mlp' ? grid.x.n : 3);
      for (const workers of [...new Set([1, flags.workers])]) {
        const e = await OrtEngine.create(c.model, data, { threads: 1, workers });
        // warm up (compile the HVP graphs, start the workers)
        await Promise.all(Array.from({ length: workers }, () => e.hvp(c.theta, new Float32Array(c.theta.length).fill(0.01))));
        // the best of three runs, as for the surfaces: what the machine does when left alone
        let r = await timeHessian(e, c, grid, points, workers);
        for (let rep = 1; rep < (flags.quick ? 1 : 3); rep++) {
          const again = await timeHessian(e, c, grid, points, workers);
          if (again.msPerPoint < r.msPerPoint) r = again;
        }
        await e.dispose();
        rows.push({
          work: `${key.toUpperCase()} Hessian λmin/λmax`,
          engine: 'onnxruntime',
          workers,
          msPerPoint: r.msPerPoint,
          cpuMsPerPoint: r.cpuMsPerPoint,
          hvpsPerPoint: r.hvpsPerPoint,
          msPerHvp: r.msPerHvp,
          points: r.points,
          reference: key === 'mlp' ? REFERENCE.mlpHessian : REFERENCE.cnnHessian,
          target: key === 'mlp' ? TARGET.mlpHessian : TARGET.cnnHessian,
        });
        log(
          `  Hessian, ${workers} worker${workers > 1 ? 's' : ''}: ${fmt(r.msPerPoint)} ms per point, ${fmt(r.hvpsPerPoint)} HVPs per point, ${fmt(r.msPerHvp)} ms per HVP (${r.points} points)`,
        );
      }
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const before = loadavg();
  const v = versions();
  console.log(`losscape bench ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, Node ${process.version}, onnxruntime-node ${v['onnxruntime-node'] ?? '?'}, jax-js ${v['jax-js'] ?? '?'}`,
  );
  console.log(`load average before: ${before.map((x) => x.toFixed(2)).join(' ')}`);
  await h5ready(); // the HDF5 library's one-time start is not part of any row
  const only = flags.trainOnly || flags.realOnly;
  const rows = only ? [] : await runBench(flags);
  const realRows: RealRow[] = (flags.real && !flags.trainOnly) || flags.realOnly ? await runRealBench({ quick: flags.quick }) : [];
  const trainRows: TrainRow[] = (flags.train && !flags.realOnly) || flags.trainOnly ? await runTrainBench(flags) : [];
  const torchRows: TorchStepRow[] = (flags.train && !flags.realOnly) || flags.trainOnly ? await runTorchStepBench(flags) : [];
  const after = loadavg();
  console.log(`load average after: ${after.map((x) => x.toFixed(2)).join(' ')}`);
  console.log('');
  if (rows.length) console.log(formatTable(rows));
  if (rows.length && realRows.length) console.log('');
  if (realRows.length) console.log(formatRealTable(realRows));
  if ((rows.length || realRows.length) && trainRows.length) console.log('');
  if (trainRows.length) console.log(formatTrainTable(trainRows));
  if (torchRows.length) console.log(`\n${formatTorchStepTable(torchRows)}`);
  if (flags.json)
    writeFileSync(
      flags.json,
      JSON.stringify({ date: new Date().toISOString(), loadBefore: before, loadAfter: after, rows, realRows, trainRows, torchRows }, null, 2),
    );
}

const invoked = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invoked) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`bench: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
