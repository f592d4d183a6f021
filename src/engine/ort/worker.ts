/**
 * Worker thread of a WorkerPool (pool.ts): a PlaneRunner and an HvpRunner over the compiled
 * graphs and the data batches it was started with (onnxruntime only, no jax-js).
 *
 * Messages in:  { type: 'vectors', id, arrays }      (θ, d1, d2 of a plane, or θ of an HVP)
 *               { type: 'plane', id, vectors, points }
 *               { type: 'hvp', id, vectors, v }
 *               { type: 'task', id, vectors, task }   (a Hessian task at θ, linalg/tasks.ts)
 * Messages out: { type: 'ready' } once the sessions exist,
 *               { type: 'done', id, a, b } (plane: loss sums, correct counts; hvp: H·v),
 *               { type: 'done', id, result } (task: its result),
 *               or { type: 'error', id, message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hessianOperatorOf } from '../../linalg/hessian-operator.js';
import { type HessianTask, runHessianTask } from '../../linalg/tasks.js';
import type { DataBatch } from '../batches.js';
import { type HvpProgram, HvpRunner } from './hvp-runner.js';
import { type PlaneProgram, PlaneRunner } from './plane-runner.js';
import type { RunnerOptions } from './split-sessions.js';

interface Start {
  programs: { plane: PlaneProgram; hvp?: HvpProgram };
  batches: DataBatch[];
  opts: RunnerOptions;
}

const port = parentPort!;
const { programs, batches, opts } = workerData as Start;
const plane = new PlaneRunner(programs.plane, batches, opts);
const hvp = programs.hvp ? new HvpRunner(programs.hvp, batches, opts) : null;
const vectors = new Map<number, (Float32Array | Float64Array)[]>();

// tasks run one at a time, in arrival order
let queue: Promise<void> = Promise.resolve();

interface Msg {
  type: string;
  id: number;
  arrays?: (Float32Array | Float64Array)[];
  vectors?: number;
  points?: Float64Array;
  v?: Float64Array;
  task?: HessianTask;
}

/** The buffers of every typed array in a task's result (moved, not copied, to the main thread). */
function transferables(result: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const walk = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) found.add(v.buffer as ArrayBuffer);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(result);
  return [...found];
}

port.on('message', (msg: Msg) => {
  if (msg.type === 'vectors') {
    // keep the few most recent sets (a worker serves one chunk at a time)
    vectors.set(msg.id, msg.arrays!);
    for (const k of [...vectors.keys()].slice(0, -4)) vectors.delete(k);
    return;
  }
  queue = queue.then(async () => {
    try {
      const vs = vectors.get(msg.vectors!);
      if (!vs) throw new Error(`vectors ${msg.vectors} were not sent to this worker`);
      if (msg.type === 'plane') {
        const r = await plane.sums(vs[0] as Float32Array, vs[1] as Float32Array, vs[2] as Float32Array, msg.points!);
        port.postMessage({ type: 'done', id: msg.id, a: r.lossSum, b: r.correct }, [r.lossSum.buffer as ArrayBuffer, r.correct.buffer as ArrayBuffer]);
      } else if (msg.type === 'hvp') {
        if (!hvp) throw new Error('this pool has no HVP graphs');
        const r = await hvp.hvp(vs[0]!, msg.v!);
        port.postMessage({ type: 'done', id: msg.id, a: r }, [r.buffer as ArrayBuffer]);
      } else if (msg.type === 'task') {
        if (!hvp) throw new Error('this pool has no HVP graphs');
        const task = msg.task!;
        const op = hessianOperatorOf((t, v) => hvp.hvp(t, v), programs.hvp!.layout, vs[0]!, task.params, programs.hvp!.reduction?.dropped, hvp.at(vs[0]!));
        const r = await runHessianTask(op, programs.hvp!.dtype, task);
        port.postMessage({ type: 'done', id: msg.id, result: r }, transferables(r));
      } else {
        throw new Error(`unknown task ${msg.type}`);
      }
    } catch (e) {
      port.postMessage({ type: 'error', id: msg.id, message: (e as Error).message ?? String(e) });
    }
  });
});

plane.warm().then(
  () => port.postMessage({ type: 'ready' }),
  (e: Error) => port.postMessage({ type: 'error', id: -1, message: e.message ?? String(e) }),
);
