/**
 * Does the 5 % landscape show the features of the whole training split's? On MNIST (the
 * examples/base/mnist-mlp.yaml run: MLP 784-64-10, 8,000 training digits, 5 % subset = 400
 * digits) with `data.subset.errorBars: K` and 41 × 41 landscapes, per checkpoint:
 * - the location of the minimum along the centre row (β = 0) and column (α = 0), on the run's
 *   subset and on the K other subsets (spread/ckpt-XXXX.h5), against the whole training split;
 * - the sign of λmin at the centre (`--eig centre`, default) or at 9 points of those lines
 *   (`--eig lines`: α, β ∈ {−1, −0.5, 0, 0.5, 1}), on the run's subset against the whole split
 *   (certified Lanczos, the default settings).
 *
 *   npx tsx bench/subset-agreement.ts [--dir runs/subset-agreement] [--subsets 5] [--eig centre|lines]
 *
 * The run is kept in --dir (a rerun resumes it); prints the agreement tables (markdown).
 */
import { type Grid, parseAxis } from '../src/core/grid.js';
import type { LossEngine } from '../src/engine/engine.js';
import { createEngine } from '../src/engine/registry.js';
import { pointEigenvalues } from '../src/hessian/point.js';
import { asFloat64, readH5 } from '../src/io/h5.js';
import { readGridFile } from '../src/jobs/grid-file.js';
import { loadConfigFile } from '../src/run/config.js';
import { prepareData } from '../src/run/data.js';
import { specPlane } from '../src/run/directions.js';
import { runEngineOptions } from '../src/run/engine.js';
import { resolveModel } from '../src/run/model.js';
import { runPipeline } from '../src/run/pipeline.js';
import { centreLines } from '../src/run/subset-spread.js';
import { RunStore } from '../src/store/run-store.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const DIR = arg('--dir', 'runs/subset-agreement');
const K = Number(arg('--subsets', '5'));
const AXIS = '-1:1:41';
const LINE_POINTS: [number, number][] = [
  [0, 0],
  [-1, 0],
  [-0.5, 0],
  [0.5, 0],
  [1, 0],
  [0, -1],
  [0, -0.5],
  [0, 0.5],
  [0, 1],
];
const EIG_POINTS = arg('--eig', 'centre') === 'lines' ? LINE_POINTS : [[0, 0]];

const argmin = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! < v[best]!) best = i;
  return best;
};

const cfg = loadConfigFile(new URL('../examples/base/mnist-mlp.yaml', import.meta.url).pathname);
cfg.name = 'subset-agreement';
cfg.data.subset.errorBars = K;
cfg.surface.x = AXIS;
cfg.surface.y = AXIS;
delete cfg.data.testSubset;
const manifest = await runPipeline(cfg, DIR);
const store = new RunStore(DIR);
const data = await prepareData(cfg.data);
const { model } = await resolveModel(cfg.model, data.train.inputShape, data.train.outputDim);
const full = await createEngine(model, data.train, runEngineOptions(cfg));
const sub = await createEngine(model, data.evalSubset, runEngineOptions(cfg));
const grid: Grid = { x: parseAxis(AXIS), y: parseAxis(AXIS) };
const lines = centreLines(grid);
const thetas = await store.readCheckpoints();
const n = grid.x.n;

/** The loss along the row and the column on an engine. */
async function lineLosses(engine: LossEngine, theta: Float32Array, dx: Float32Array, dy: Float32Array): Promise<[Float64Array, Float64Array]> {
  return [(await engine.evaluatePlane(theta, dx, dy, lines.row)).loss, (await engine.evaluatePlane(theta, dx, dy, lines.col!)).loss];
}

const minRows: string[] = [];
const signRows: string[] = [];
const tally = { main: [0, 0, 0], others: [0, 0, 0], sign: [0, 0] };
for (const f of manifest.frames) {
  const theta = thetas.get(f.checkpoint)!.theta;
  const plane = specPlane(theta, model.layout, cfg.directions);
  const [fullRow, fullCol] = await lineLosses(full, theta, plane.dx, plane.dy);
  const surf = await readGridFile(store.path(f.surface!));
  const i0 = Math.round((lines.rowY - grid.y!.min) / ((grid.y!.max - grid.y!.min) / (n - 1)));
  const j0 = Math.round((lines.colX - grid.x.min) / ((grid.x.max - grid.x.min) / (n - 1)));
  const loss = surf.values.train_loss!;
  const mainRow = Array.from({ length: n }, (_, j) => loss[i0 * n + j]!);
  const mainCol = Array.from({ length: n }, (_, i) => loss[i * n + j0]!);
  const spread = await readH5(store.path(f.spread!));
  const otherRows = asFloat64(spread.get('row_loss')!.value, 'row_loss');
  const otherCols = asFloat64(spread.get('col_loss')!.value, 'col_loss');
  const want = [argmin(fullRow), argmin(fullCol)];
  const count = (got: number[], t: number[]) =>
    got.forEach((g, l) => {
      t[0]!++;
      if (g === want[l]) t[1]!++;
      if (Math.abs(g - want[l]!) <= 1) t[2]!++;
    });
  const mainMin = [argmin(mainRow), argmin(mainCol)];
  count(mainMin, tally.main);
  const others: number[] = [];
  for (let k = 0; k < K; k++) {
    const o = [argmin(otherRows.subarray(k * n, (k + 1) * n)), argmin(otherCols.subarray(k * n, (k + 1) * n))];
    count(o, tally.others);
    others.push(...o);
  }
  const at = (idx: number) => grid.x.min + (idx * (grid.x.max - grid.x.min)) / (n - 1);
  minRows.push(
    `| ${f.checkpoint} | ${at(want[0]!).toFixed(2)}, ${at(want[1]!).toFixed(2)} | ${at(mainMin[0]!).toFixed(2)}, ${at(mainMin[1]!).toFixed(2)} | ${others.map((o) => at(o).toFixed(2)).join(' ')} |`,
  );
  for (const [a, b] of EIG_POINTS) {
    const w = new Float32Array(theta.length);
    for (let i = 0; i < w.length; i++) w[i] = theta[i]! + a * plane.dx[i]! + b * plane.dy[i]!;
    const ef = await pointEigenvalues(full, w);
    const es = await pointEigenvalues(sub, w);
    tally.sign[0]!++;
    if (Math.sign(ef.lambdaMin) === Math.sign(es.lambdaMin)) tally.sign[1]!++;
    signRows.push(
      `| ${f.checkpoint} | (${a}, ${b}) | ${ef.lambdaMin.toExponential(2)} | ${es.lambdaMin.toExponential(2)} | ${ef.lambdaMax.toFixed(2)} | ${es.lambdaMax.toFixed(2)} | ${ef.certified && es.certified ? 'yes' : 'no'} |`,
    );
  }
}
await full.dispose();
await sub.dispose();
const pct = (t: number[], i: number) => `${t[i]} of ${t[0]} (${((100 * t[i]!) / t[0]!).toFixed(0)} %)`;
console.log(`Minimum along the centre row and column (α, β of the minimum; ${AXIS}, step 0.05):\n`);
console.log(`| checkpoint | whole split (row, col) | run's 5 % subset | ${K} other 5 % subsets (row col, …) |`);
console.log('|---|---|---|---|');
for (const r of minRows) console.log(r);
console.log(`\nrun's subset: same grid point ${pct(tally.main, 1)}, within one step ${pct(tally.main, 2)}`);
console.log(`other subsets: same grid point ${pct(tally.others, 1)}, within one step ${pct(tally.others, 2)}`);
console.log('\nλmin on the whole split vs the 5 % subset:\n');
console.log('| checkpoint | (α, β) | λmin whole | λmin 5 % | λmax whole | λmax 5 % | both certified |');
console.log('|---|---|---|---|---|---|---|');
for (const r of signRows) console.log(r);
console.log(`\nλmin sign agrees at ${pct(tally.sign, 1)} of the points`);
