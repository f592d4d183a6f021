/**
 * An engine that runs on a fast backend and switches, once, to a slower one the first time the
 * fast one fails: compiled graphs are built and loaded lazily (a plane graph on the first
 * plane, the HVP graph on the first HVP), so a model that onnxruntime cannot run may only show
 * it after the engine exists. The failing call is then repeated on the other backend, and every
 * later call goes there; `warn` gets one line naming the backend, the stage and why.
 */
import type { Vec } from '../core/layout.js';
import { hessianOperatorOf } from '../linalg/hessian-operator.js';
import { type HessianTask, type HessianTaskName, type HessianTaskResult, runHessianTask } from '../linalg/tasks.js';
import type { LossEngine, Metrics, PlaneValues } from './engine.js';

export interface FallbackSpec {
  /** What the fast backend is called in messages (e.g. "onnxruntime"). */
  label: string;
  /** The slower backend's name in messages (e.g. "jax-js"). */
  nextLabel: string;
  /** Creates the slower backend's engine. */
  create(): Promise<LossEngine>;
  warn(line: string): void;
}

/** The first line of an error's message (onnxruntime's errors name the failing node there). */
export function firstLine(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]!.trim();
}

export class FallbackEngine implements LossEngine {
  #current: LossEngine;
  #switched: Promise<LossEngine> | null = null;
  readonly concurrency?: number;

  constructor(
    private readonly primary: LossEngine,
    private readonly spec: FallbackSpec,
  ) {
    this.#current = primary;
    this.concurrency = primary.concurrency;
  }

  get layout() {
    return this.#current.layout;
  }
  get samples() {
    return this.#current.samples;
  }
  get dtype() {
    return this.#current.dtype;
  }
  get description() {
    return this.#current.description;
  }

  /** Runs `call` on the current engine; a failure of the fast one switches to the slow one and repeats it there. */
  async #run<T>(stage: string, call: (e: LossEngine) => Promise<T>): Promise<T> {
    const engine = this.#current;
    if (engine !== this.primary) return call(engine);
    try {
      return await call(engine);
    } catch (e) {
      return call(await this.#switch(stage, e));
    }
  }

  #switch(stage: string, e: unknown): Promise<LossEngine> {
    this.#switched ??= (async () => {
      this.spec.warn(`${this.spec.label} cannot run this model (${stage}: ${firstLine(e)}); using ${this.spec.nextLabel}, which is slower`);
      const next = await this.spec.create();
      this.#current = next;
      await Promise.resolve(this.primary.dispose()).catch(() => {});
      return next;
    })();
    return this.#switched;
  }

  evaluate(theta: Vec): Promise<Metrics> {
    return this.#run('loss graph', (e) => e.evaluate(theta));
  }
  gradient(theta: Vec): Promise<{ loss: number; grad: Float64Array }> {
    return this.#run('gradient graph', (e) => e.gradient(theta));
  }
  hvp(theta: Vec, v: Vec): Promise<Float64Array> {
    return this.#run('HVP graph', (e) => e.hvp(theta, v));
  }
  evaluatePlane(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<PlaneValues> {
    return this.#run('plane graph', (e) => e.evaluatePlane(theta, d1, d2, points));
  }
  hessianTask<K extends HessianTaskName>(theta: Vec, task: HessianTask<K>): Promise<HessianTaskResult<K>> {
    return this.#run('HVP graph', (e) => {
      if (e.hessianTask) return e.hessianTask(theta, task);
      const op = hessianOperatorOf((t, v) => e.hvp(t, v), e.layout, theta, task.params, e.hessianNullCoordinates?.());
      return runHessianTask(op, e.dtype, task);
    });
  }
  hessianNullCoordinates(): Int32Array {
    return this.#current.hessianNullCoordinates?.() ?? new Int32Array(0);
  }
  async dispose(): Promise<void> {
    await this.#current.dispose();
  }
}
