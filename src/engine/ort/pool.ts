/**
 * A pool of worker threads evaluating plane chunks and HVPs in parallel (all cores of a machine).
 *
 * Every worker builds its own onnxruntime sessions from the compiled plane graphs (the
 * `PlaneProgram` of an OrtEngine: ONNX bytes, no jax-js in the worker) with 1 intra-op thread,
 * and gets the data batches once. `evaluate` hands one call (one grid chunk) to an idle
 * worker; calls beyond the pool size wait in a queue. A worker runs exactly what the engine's
 * own runner would run for the same points, so values do not depend on the number of workers.
 *
 * ```ts
 * const pool = await WorkerPool.create({ plane: engine.planeProgram(), hvp: engine.hvpProgram() }, engine.planeBatches(), 4);
 * const [a, b] = await Promise.all([pool.evaluate(θ, d1, d2, pts1), pool.evaluate(θ, d1, d2, pts2)]);
 * await pool.close();
 * ```
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sameValues } from '../../core/values.js';
import type { HessianTask, HessianTaskName, HessianTaskResult } from '../../linalg/tasks.js';
import type { DataBatch } from '../batches.js';
import type { HvpProgram } from './hvp-runner.js';
import { type PlaneProgram, planeValues } from './plane-runner.js';
import type { RunnerOptions } from './split-sessions.js';

type Vecs = (Float32Array | Float64Array)[];

interface Task {
  id: number;
  kind: 'plane' | 'hvp' | 'task';
  /** Id of the vector set (θ, d1, d2 for a plane; θ for an HVP). */
  vectors: number;
  points?: Float64Array;
  v?: Float64Array;
  task?: HessianTask;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Task | null;
  /** Vector sets this worker holds (the last few sent), and the one it used last. */
  sent: number[];
  last: number;
  dead: Error | null;
}

/**
 * A worker running worker.ts next to this module. From TypeScript sources (tests run
 * src/ directly) the worker first registers tsx's loader, so that it can import .ts files.
 */
function startWorker(workerData: unknown): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), { workerData });
  // tsx's ESM API (its package.json export "./esm/api" → dist/esm/api/index.mjs)
  const tsxDir = dirname(createRequire(here).resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const script = new URL('./worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  /** Recent vector sets by id (content-compared, so equal vectors share an id). */
  private sets: { id: number; key: Vecs }[] = [];
  private nextSet = 1;
  private closed = false;

  private constructor(readonly programs: { plane: PlaneProgram; hvp?: HvpProgram }) {}

  /** Start `size` workers (resolves once every worker has created its plane sessions). */
  static async create(programs: { plane: PlaneProgram; hvp?: HvpProgram }, batches: DataBatch[], size: number, opts: RunnerOptions = {}): Promise<WorkerPool> {
    const pool = new WorkerPool(programs);
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = startWorker({ programs, batches, opts: { threads: opts.threads ?? 1, device: opts.device } });
      const slot: Slot = { worker, busy: null, sent: [], last: -1, dead: null };
      pool.slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: { type: string; id: number; message?: string }) => {
            if (m.type === 'ready') {
              worker.off('message', onMessage);
              resolve();
            } else if (m.type === 'error' && m.id === -1) reject(new Error(m.message));
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        }),
      );
      worker.on('message', (m) => pool.onMessage(slot, m));
      worker.on('error', (e) => pool.onDeath(slot, e));
      worker.on('exit', (code) => {
        if (!pool.closed) pool.onDeath(slot, new Error(`an engine worker exited (code ${code})`));
      });
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw new Error(`engine workers could not start: ${(e as Error).message}`);
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Mean loss and accuracy at `points`, computed by one worker. */
  evaluate(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<{ loss: Float64Array; acc: Float64Array }> {
    return this.submit<{ lossSum: Float64Array; correct: Float64Array }>('plane', [theta, d1, d2], { points: Float64Array.from(points) }).then((r) =>
      planeValues(r, this.programs.plane),
    );
  }

  /**
   * H(θ)·v on a worker. Calls at the same θ go to the worker that already holds θ's prefix
   * outputs when it is free (a Lanczos run stays on one worker).
   */
  hvp(theta: Float32Array | Float64Array, v: ArrayLike<number>): Promise<Float64Array> {
    if (!this.programs.hvp) return Promise.reject(new Error('this pool has no HVP graphs'));
    return this.submit<Float64Array>('hvp', [theta], { v: Float64Array.from(v) });
  }

  /**
   * A Hessian task at θ (linalg/tasks.ts) run entirely on one worker: its vectors and HVPs stay
   * in that thread; only θ, the task and the result cross.
   */
  hessianTask<K extends HessianTaskName>(theta: Float32Array | Float64Array, task: HessianTask<K>): Promise<HessianTaskResult<K>> {
    if (!this.programs.hvp) return Promise.reject(new Error('this pool has no HVP graphs'));
    return this.submit<HessianTaskResult<K>>('task', [theta], { task });
  }

  private submit<T>(kind: Task['kind'], vecs: Vecs, extra: { points?: Float64Array; v?: Float64Array; task?: HessianTask }): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    const vectors = this.setId(vecs);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, kind, vectors, ...extra, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  private setId(vs: Vecs): number {
    for (const s of this.sets) {
      if (s.key.length !== vs.length) continue;
      const same = vs.every((v, j) => s.key[j]!.constructor === v.constructor && sameValues(s.key[j]!, v));
      if (same) return s.id;
    }
    const id = this.nextSet++;
    this.sets.push({ id, key: vs.map((v) => (v instanceof Float64Array ? Float64Array.from(v) : Float32Array.from(v))) });
    // keep a few: never one a queued or running task still needs
    if (this.sets.length > 2 * this.slots.length + 2) {
      const inUse = new Set([...this.queue.map((t) => t.vectors), ...this.slots.map((sl) => sl.busy?.vectors)]);
      const k = this.sets.findIndex((st) => st.id !== id && !inUse.has(st.id));
      if (k >= 0) this.sets.splice(k, 1);
    }
    return id;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const free = this.slots.filter((s) => !s.busy && !s.dead);
      if (free.length === 0) break;
      // a free worker that used the first task's vectors last, else any free worker
      const task = this.queue[0]!;
      const slot = free.find((s) => s.last === task.vectors) ?? free.find((s) => s.sent.includes(task.vectors)) ?? free[0]!;
      this.queue.shift();
      slot.busy = task;
      if (!slot.sent.includes(task.vectors)) {
        const set = this.sets.find((s) => s.id === task.vectors);
        if (!set) {
          task.reject(new Error('internal error: vectors of a queued task were dropped'));
          slot.busy = null;
          continue;
        }
        slot.worker.postMessage({ type: 'vectors', id: task.vectors, arrays: set.key });
        slot.sent = [...slot.sent.slice(-3), task.vectors];
      }
      slot.last = task.vectors;
      slot.worker.postMessage({ type: task.kind, id: task.id, vectors: task.vectors, points: task.points, v: task.v, task: task.task });
    }
    if (this.queue.length > 0 && this.slots.every((s) => s.dead)) {
      const err = this.slots[0]?.dead ?? new Error('no engine workers');
      for (const t of this.queue.splice(0)) t.reject(err);
    }
  }

  private onMessage(slot: Slot, m: { type: string; id: number; a?: Float64Array; b?: Float64Array; result?: unknown; message?: string }): void {
    const task = slot.busy;
    if (!task || m.id !== task.id) return;
    slot.busy = null;
    if (m.type === 'done') task.resolve(task.kind === 'plane' ? { lossSum: m.a!, correct: m.b! } : task.kind === 'task' ? m.result : m.a!);
    else task.reject(new Error(m.message ?? 'engine worker failed'));
    this.dispatch();
  }

  private onDeath(slot: Slot, e: Error): void {
    if (slot.dead) return;
    slot.dead = e;
    const task = slot.busy;
    slot.busy = null;
    task?.reject(e);
    this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new Error('the worker pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
