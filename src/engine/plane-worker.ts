/**
 * Worker thread of a PlanePool (pool.ts): one PlaneRunner over the compiled plane graphs and
 * the data batches it was started with (onnxruntime only, no jax-js).
 *
 * Messages in:  { type: 'plane', id, theta, d1, d2 }  (the plane the next tasks refer to)
 *               { type: 'task', id, plane, points }
 * Messages out: { type: 'ready' } once the sessions exist,
 *               { type: 'done', id, lossSum, correct } or { type: 'error', id, message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PlaneRunner, type PlaneBatch, type PlaneProgram, type RunnerOptions } from './plane-runner.js';

interface Start {
  program: PlaneProgram;
  batches: PlaneBatch[];
  opts: RunnerOptions;
}

const port = parentPort!;
const { program, batches, opts } = workerData as Start;
const runner = new PlaneRunner(program, batches, opts);
const planes = new Map<number, [Float32Array, Float32Array, Float32Array]>();

// tasks run one at a time, in arrival order
let queue: Promise<void> = Promise.resolve();

port.on('message', (msg: { type: string; id: number; theta?: Float32Array; d1?: Float32Array; d2?: Float32Array; plane?: number; points?: Float64Array }) => {
  if (msg.type === 'plane') {
    planes.clear();
    planes.set(msg.id, [msg.theta!, msg.d1!, msg.d2!]);
    return;
  }
  if (msg.type === 'task') {
    queue = queue.then(async () => {
      try {
        const p = planes.get(msg.plane!);
        if (!p) throw new Error(`plane ${msg.plane} was not sent to this worker`);
        const r = await runner.sums(p[0], p[1], p[2], msg.points!);
        port.postMessage({ type: 'done', id: msg.id, lossSum: r.lossSum, correct: r.correct }, [r.lossSum.buffer as ArrayBuffer, r.correct.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ type: 'error', id: msg.id, message: (e as Error).message ?? String(e) });
      }
    });
  }
});

runner.warm().then(
  () => port.postMessage({ type: 'ready' }),
  (e: Error) => port.postMessage({ type: 'error', id: -1, message: e.message ?? String(e) }),
);
