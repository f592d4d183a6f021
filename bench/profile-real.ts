/**
 * Per-node profile of the compiled plane and HVP graphs of one real convnet (bench/real-models.ts
 * exports them): onnxruntime's own profiler on every session, summed by op type and by node over
 * the timed calls.
 *
 *   npx tsx bench/profile-real.ts DIR MODEL [--no-nchwc] [--calls 2] [--top 25]
 *
 * DIR holds MODEL.onnx and data.x.npy/.y.npy (`/usr/bin/python3 scripts/real-models/bench_models.py export DIR`).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { gridPoints } from '../src/core/grid.js';
import { fitToModelInput, loadDataFile } from '../src/data/files.js';
import { randomPlane } from '../src/directions/directions.js';
import { OrtEngine } from '../src/engine/ort/engine.js';
import { loadOnnxModel } from '../src/model/onnx/load.js';

const [dir, name] = process.argv.slice(2);
const argv = process.argv.slice(2);
const calls = argv.includes('--calls') ? Number(argv[argv.indexOf('--calls') + 1]) : 2;
const top = argv.includes('--top') ? Number(argv[argv.indexOf('--top') + 1]) : 25;
const what = argv.includes('--hvp-only') ? ['hvp'] : argv.includes('--plane-only') ? ['plane'] : ['plane', 'hvp'];

const sessions: ort.InferenceSession[] = [];
let profiling = false;
const IS = ort.InferenceSession as unknown as { create: (m: unknown, o?: Record<string, unknown>) => Promise<ort.InferenceSession> };
const orig = IS.create.bind(IS);
IS.create = async (m: unknown, o?: Record<string, unknown>) => {
  const s = await orig(m, {
    ...(o ?? {}),
    ...(profiling ? { enableProfiling: true, profileFilePrefix: `/tmp/losscape-prof-${process.pid}-${sessions.length}` } : {}),
  });
  if (profiling) sessions.push(s);
  return s;
};

interface Ev {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; output_size?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

async function profile(label: string, warm: () => Promise<unknown>, run: () => Promise<unknown>, done: () => Promise<unknown>) {
  profiling = true;
  sessions.length = 0;
  await warm();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await run();
  const wall = (performance.now() - t0) / calls;
  for (const s of sessions) (s as unknown as { endProfiling: () => void }).endProfiling();
  const files = readdirSync('/tmp')
    .filter((f) => f.startsWith(`losscape-prof-${process.pid}-`))
    .map((f) => `/tmp/${f}`);
  await done();
  profiling = false;
  const byOp = new Map<string, number>();
  const byNode = new Map<string, { op: string; dur: number; n: number; shapes: string }>();
  let total = 0;
  for (const f of files) {
    const path = f.startsWith('/') ? f : join(process.cwd(), f);
    const evs = JSON.parse(readFileSync(path, 'utf8')) as Ev[];
    rmSync(path, { force: true });
    for (const e of evs) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      const k = `${f.split('-')[3]}:${e.name.replace('_kernel_time', '')}`;
      const shapes = (xs?: Record<string, number[]>[]) => (xs ?? []).map((x) => `[${Object.values(x)[0]?.join(',') ?? ''}]`).join(' ');
      const r = byNode.get(k) ?? { op, dur: 0, n: 0, shapes: `${shapes(e.args?.input_type_shape)} -> ${shapes(e.args?.output_type_shape)}` };
      r.dur += e.dur;
      r.n++;
      byNode.set(k, r);
      total += e.dur;
    }
  }
  // the warm-up call is profiled too: report per call over (calls + 1)
  const per = (us: number) => (us / 1000 / (calls + 1)).toFixed(2);
  console.log(`\n== ${label}: ${wall.toFixed(1)} ms per call (wall), node time ${per(total)} ms per call`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(`  ${op.padEnd(28)} ${per(us).padStart(9)} ms  ${((100 * us) / total).toFixed(1)} %`);
  console.log('  top nodes:');
  for (const [k, r] of [...byNode].sort((a, b) => b[1].dur - a[1].dur).slice(0, top))
    console.log(`  ${r.op.padEnd(22)} ${per(r.dur).padStart(8)} ms  ${k}  ${r.shapes}`);
}

const imp = await loadOnnxModel(join(dir!, `${name}.onnx`), { label: name });
const ds = fitToModelInput(await loadDataFile(join(dir!, 'data.x.npy')), imp.model.inputShape);
const data = { ...ds, outputDim: imp.model.outputDim };
const engine = await OrtEngine.create(imp.model, data, { threads: 1, ...(argv.includes('--no-nchwc') ? { nchwc: false } : {}) });
const plane = randomPlane(imp.theta, imp.model.layout, { seed: 123, norm: 'filter', ignore: 'biasbn' });
const K = engine.planeBatch;
const pts = gridPoints({ x: { min: -1, max: 1, n: 21 }, y: { min: -1, max: 1, n: 21 } }, 0, K);
console.log(`${name}: ${imp.theta.length} parameters, K = ${K} points per plane call`);
if (what.includes('plane')) {
  await profile(
    `plane, ${K} points per call`,
    () => engine.evaluatePlane(imp.theta, plane.dx, plane.dy, pts),
    () => engine.evaluatePlane(imp.theta, plane.dx, plane.dy, pts),
    async () => {},
  );
}
if (what.includes('hvp')) {
  const v = Float32Array.from({ length: imp.theta.length }, (_, i) => Math.sin(1.7 * i));
  await profile(
    'HVP',
    () => engine.hvp(imp.theta, v),
    () => engine.hvp(imp.theta, v),
    async () => {},
  );
}
await engine.dispose();
process.exit(0);
