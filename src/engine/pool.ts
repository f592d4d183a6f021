/**
 * A pool of worker threads evaluating plane chunks in parallel (all cores of a machine).
 *
 * Every worker builds its own onnxruntime sessions from the compiled plane graphs (the
 * `PlaneProgram` of an OrtEngine: ONNX bytes, no jax-js in the worker) with 1 intra-op thread,
 * and gets the data batches once. `evaluate` hands one call (one grid chunk) to an idle
 * worker; calls beyond the pool size wait in a queue. A worker runs exactly what the engine's
 * own runner would run for the same points, so values do not depend on the number of workers.
 *
 * ```ts
 * const pool = await PlanePool.create(engine.planeProgram(), engine.planeBatches(), 4);
 * const [a, b] = await Promise.all([pool.evaluate(θ, d1, d2, pts1), pool.evaluate(θ, d1, d2, pts2)]);
 * await pool.close();
 * ```
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { planeValues, type PlaneBatch, type PlaneProgram, type RunnerOptions } from './plane-runner.js';

interface Task {
  id: number;
  plane: number;
  points: Float64Array;
  resolve(v: { loss: Float64Array; acc: Float64Array }): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Task | null;
  plane: number;
  dead: Error | null;
}

/**
 * A worker running plane-worker next to this module. From TypeScript sources (tests run
 * src/ directly) the worker first registers tsx's loader, so that it can import .ts files.
 */
function startWorker(workerData: unknown): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./plane-worker.js', here), { workerData });
  // tsx's ESM API (its package.json export "./esm/api" → dist/esm/api/index.mjs)
  const tsxDir = dirname(createRequire(here).resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const script = new URL('./plane-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export class PlanePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private plane: { id: number; key: Float32Array[] } | null = null;
  private closed = false;

  private constructor(readonly program: PlaneProgram) {}

  /** Start `size` workers (resolves once every worker has created its sessions). */
  static async create(program: PlaneProgram, batches: PlaneBatch[], size: number, opts: RunnerOptions = {}): Promise<PlanePool> {
    const pool = new PlanePool(program);
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = startWorker({ program, batches, opts: { threads: opts.threads ?? 1, device: opts.device } });
      const slot: Slot = { worker, busy: null, plane: -1, dead: null };
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
        if (!pool.closed) pool.onDeath(slot, new Error(`a plane worker exited (code ${code})`));
      });
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw new Error(`plane workers could not start: ${(e as Error).message}`);
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Mean loss and accuracy at `points`, computed by one worker. */
  evaluate(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<{ loss: Float64Array; acc: Float64Array }> {
    if (this.closed) return Promise.reject(new Error('the plane pool is closed'));
    const plane = this.planeId(theta, d1, d2);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, plane, points: Float64Array.from(points), resolve, reject });
      this.dispatch();
    });
  }

  private planeId(theta: Float32Array, d1: Float32Array, d2: Float32Array): number {
    const vs = [theta, d1, d2];
    const same =
      this.plane !== null &&
      vs.every((v, j) => {
        const k = this.plane!.key[j]!;
        if (k.length !== v.length) return false;
        for (let i = 0; i < v.length; i++) if (k[i] !== v[i] && !(k[i] !== k[i] && v[i] !== v[i])) return false;
        return true;
      });
    if (!same) this.plane = { id: (this.plane?.id ?? 0) + 1, key: vs.map((v) => Float32Array.from(v)) };
    return this.plane!.id;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy || slot.dead) continue;
      const task = this.queue.shift()!;
      slot.busy = task;
      if (slot.plane !== task.plane) {
        const [theta, d1, d2] = this.plane!.key;
        slot.worker.postMessage({ type: 'plane', id: task.plane, theta, d1, d2 });
        slot.plane = task.plane;
      }
      slot.worker.postMessage({ type: 'task', id: task.id, plane: task.plane, points: task.points });
    }
    if (this.queue.length > 0 && this.slots.every((s) => s.dead)) {
      const err = this.slots[0]?.dead ?? new Error('no plane workers');
      for (const t of this.queue.splice(0)) t.reject(err);
    }
  }

  private onMessage(slot: Slot, m: { type: string; id: number; lossSum?: Float64Array; correct?: Float64Array; message?: string }): void {
    const task = slot.busy;
    if (!task || m.id !== task.id) return;
    slot.busy = null;
    if (m.type === 'done') task.resolve(planeValues({ lossSum: m.lossSum!, correct: m.correct! }, this.program));
    else task.reject(new Error(m.message ?? 'plane worker failed'));
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
    for (const t of this.queue.splice(0)) t.reject(new Error('the plane pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
