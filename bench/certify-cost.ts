/**
 * What the certification check (linalg/certify.ts) costs per eigenvalue-map point on the bench's
 * MLP and CNN (bench/main.ts: MNIST 1000 samples, model.init(0), filter-normalized plane): the
 * first `--points` points of the grid's first row, warm-started as in a map, onnxruntime float32
 * with one intra-op thread, once with the check and once without.
 *
 *   npx tsx bench/certify-cost.ts [--models mlp,cnn] [--points 21]
 *
 * Prints one row per (model, check): HVPs per point, of which the check, ms per point, ms per HVP.
 */

import { mnistBalanced } from '../src/data/mnist.js';
import { OrtEngine } from '../src/engine/ort/engine.js';
import { hessianPointCost } from '../src/hessian/eigenmap.js';
import { BENCH_GRID, benchCase } from './main.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const MODELS = arg('--models', 'mlp,cnn').split(',') as ('mlp' | 'cnn')[];
const POINTS = Number(arg('--points', '21'));

console.log('| model | check | points | HVPs per point | of which the check | ms per point | ms per HVP |');
console.log('|---|---|---|---|---|---|---|');
for (const key of MODELS) {
  const c = benchCase(key);
  const engine = await OrtEngine.create(c.model, mnistBalanced(100), { threads: 1 });
  await engine.hvp(c.theta, new Float32Array(c.theta.length).fill(0.01)); // compile the HVP graph
  for (const certify of [false, true]) {
    const r = await hessianPointCost(engine, c.theta, c.dx, c.dy, BENCH_GRID, { points: POINTS, certify });
    const row = [
      c.label,
      certify ? 'on' : 'off',
      r.points,
      r.hvpsPerPoint.toFixed(1),
      r.certifyHvpsPerPoint.toFixed(1),
      r.msPerPoint.toFixed(0),
      r.msPerHvp.toFixed(2),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
  await engine.dispose();
}
