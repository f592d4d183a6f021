/**
 * How often an eigenvalue map reports a wrong λmin / λmax as converged, with and without the
 * check that no eigenvalue lies beyond them (linalg/certify.ts), on the reference fixture's
 * MLP: every point of the requested grids against a cold tight float64 solve (residual 1e-9,
 * cached under runs/cache/), for both parameter choices, with 1 and 2 workers.
 *
 *   npx tsx bench/misconvergence.ts [--grids 5,9,21] [--workers 1,2] [--tol 1e-5]
 *
 * A point counts as wrong when |λ − λ_ref| > tol·|λmax_ref| for λmin or λmax (tol 1e-5, the
 * accuracy the README states). Prints one row per (grid, params, workers, check) with the wrong
 * points, the worst error, HVPs per point and the check's share of them.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Grid, gridPoints } from '../src/core/grid.js';
import { OrtEngine } from '../src/engine/ort/engine.js';
import { computeEigenmap, gridPointWeights } from '../src/hessian/eigenmap.js';
import { pointEigenvalues } from '../src/hessian/point.js';
import { buildModel } from '../src/model/zoo.js';
import { fixtureData, fixtureDirections, fixtureTheta } from '../test/helpers/fixture.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const GRIDS = arg('--grids', '5,9,21').split(',').map(Number);
const WORKERS = arg('--workers', '1,2').split(',').map(Number);
const TOL = Number(arg('--tol', '1e-5'));
const PARAMS = ['all', 'ndim>1'] as const;
const CACHE = join(process.cwd(), 'runs', 'cache');

const model = buildModel({ type: 'mlp', hidden: [64] }, [784], 10);
const data = fixtureData();
const theta = fixtureTheta();
const [dx, dy] = await fixtureDirections();
const gridOf = (n: number): Grid => ({ x: { min: -1, max: 1, n }, y: { min: -1, max: 1, n } });

/** λmin and λmax of every grid point by cold tight float64 solves (cached). */
async function reference(n: number, params: (typeof PARAMS)[number]): Promise<{ min: number[]; max: number[] }> {
  const file = join(CACHE, `fixture-eigen-${n}x${n}-${params === 'all' ? 'all' : 'ndim'}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const engine = await OrtEngine.create(model, data, { dtype: 'float64', threads: 1 });
  const pts = gridPoints(gridOf(n));
  const min: number[] = [];
  const max: number[] = [];
  for (let k = 0; k < n * n; k++) {
    const w = gridPointWeights(engine, theta, dx, dy, pts[2 * k]!, pts[2 * k + 1]!);
    const r = await pointEigenvalues(engine, w, {
      params,
      convergence: 'residual',
      tol: 1e-9,
      maxIter: 600,
      reorthogonalization: 'full',
      seed: 1000 + k,
      certify: false,
    });
    if (!r.converged) throw new Error(`reference point ${k} did not converge`);
    min.push(r.lambdaMin);
    max.push(r.lambdaMax);
    process.stderr.write(`\rreference ${n}×${n} ${params}: ${k + 1}/${n * n}`);
  }
  process.stderr.write('\n');
  await engine.dispose();
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, JSON.stringify({ min, max }));
  return { min, max };
}

console.log('| grid | params | workers | check | wrong points | worst error (·λmax) | HVPs per point | of which the check | uncertified |');
console.log('|---|---|---|---|---|---|---|---|---|');
const dir = mkdtempSync(join(tmpdir(), 'losscape-misconvergence-'));
let total = 0;
for (const n of GRIDS) {
  for (const params of PARAMS) {
    const ref = await reference(n, params);
    for (const workers of WORKERS) {
      const engine = await OrtEngine.create(model, data, { dtype: 'float32', threads: 1, workers });
      for (const certify of [false, true]) {
        const { file, stats } = await computeEigenmap({
          engine,
          theta,
          dx,
          dy,
          grid: gridOf(n),
          path: join(dir, `m-${n}-${params}-${workers}-${certify}.h5`),
          params,
          certify,
          context: 'misconvergence',
        });
        let wrong = 0;
        let worst = 0;
        for (let k = 0; k < n * n; k++) {
          const scale = Math.abs(ref.max[k]!);
          const e = Math.max(Math.abs(file.values.min_eig![k]! - ref.min[k]!), Math.abs(file.values.max_eig![k]! - ref.max[k]!)) / scale;
          worst = Math.max(worst, e);
          if (e > TOL) wrong++;
        }
        total += certify ? n * n : 0;
        const per = (x: number) => (x / stats.points).toFixed(1);
        console.log(
          `| ${n}×${n} | ${params} | ${workers} | ${certify ? 'on' : 'off'} | ${wrong} of ${n * n} | ${worst.toExponential(1)} | ${per(stats.hvps)} | ${per(stats.certifyHvps)} | ${certify ? stats.uncertified : '–'} |`,
        );
      }
      await engine.dispose();
    }
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`\n${total} points checked with the certification on, per worker count.`);
