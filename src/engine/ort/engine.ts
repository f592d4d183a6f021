/**
 * The onnxruntime engine: the same jax-js objective (objective.ts), traced once per batch shape,
 * compiled to ONNX (src/compile) and run natively. Exact autodiff (the HVP graph is jvp of
 * grad) at native speed; values equal the jax-js engine to float32 rounding.
 *
 * It owns the data batches (batches.ts), the compiled programs (programs.ts: plane and HVP
 * graphs, compiled on first use) and where they run: runners on this thread, or a pool of worker
 * threads (pool.ts) when `workers` > 1. Plain loss, gradient and unsplit HVP graphs are compiled
 * per batch size on first use.
 */

import { compileToOnnx } from '../../compile/compile.js';
import type { ParamLayout, Vec } from '../../core/layout.js';
import { count, type Dataset } from '../../data/dataset.js';
import { hessianOperatorOf } from '../../linalg/hessian-operator.js';
import { type HessianTask, type HessianTaskName, type HessianTaskResult, runHessianTask } from '../../linalg/tasks.js';
import { ensureJax } from '../../model/jax.js';
import type { Model } from '../../model/model.js';
import { type DataBatch, dataBatches } from '../batches.js';
import type { EngineOptions, LossEngine, Metrics, PlaneValues } from '../engine.js';
import { inputReduction } from '../input-reduction.js';
import { type Objective, objective } from '../objective.js';
import { type HvpProgram, HvpRunner } from './hvp-runner.js';
import { nchwcBlockSize } from './nchwc.js';
import { type PlaneProgram, PlaneRunner } from './plane-runner.js';
import { WorkerPool } from './pool.js';
import { ArgSpecs, choosePlaneBatch, compileHvpProgram, compilePlaneProgram, type ProgramTarget } from './programs.js';
import { OrtFunction, type TypedArray } from './runner.js';

export interface OrtEngineOptions extends EngineOptions {
  threads?: number;
  device?: 'cpu' | 'cuda';
  /**
   * Grid points per plane call (default: as many as keep one call's intermediates within
   * `planeMemoryMB` (64), at least 4 and at most 32; docs/performance.md has the measurements).
   */
  planeBatch?: number;
  planeMemoryMB?: number;
  /**
   * Hoist what does not depend on the grid coordinates (first layer's X·W, X·D1, X·D2, …) out
   * of the per-call plane graph: computed once per (θ, d1, d2). Default true.
   */
  hoist?: boolean;
  /**
   * Worker threads for planes, HVPs and Hessian tasks (each with its own sessions, 1 intra-op
   * thread unless `threads` says otherwise); 1 (default): evaluate on this thread.
   */
  workers?: number;
  /**
   * HVPs of the model without its dead input features (features zero in every sample; their
   * first-layer weights have exactly zero Hessian rows): the same H·v, fewer FLOPs. Default true.
   */
  reduceInputs?: boolean;
  /**
   * Run the convolutions through onnxruntime's NCHWc kernels (CPU only, where it has them;
   * ~2× faster at the zoo CNNs' channel counts, same values to rounding). Default true.
   */
  nchwc?: boolean;
  /**
   * Samples per HVP call (default: batches whose hoisted HVP inputs — masks, activations,
   * unfolded patches — exceed `hvpMemoryMB` (40) run as near-equal sub-batches within it, so
   * that one call's inputs stay near the cache; docs/performance.md has the measurements).
   */
  hvpBatch?: number;
  hvpMemoryMB?: number;
  /**
   * HVP graphs compute the weight gradients of convs with kernels up to 3×3 as one Gemm per
   * kernel position (onnxruntime's Conv runs these far below its GEMM speed: ResNet-18's HVP
   * 2× faster); false keeps them as convs. Default true.
   */
  hvpWeightGradGemm?: boolean;
}

type FnName = 'metrics' | 'lossGrad' | 'hvp';

export class OrtEngine implements LossEngine {
  readonly layout: ParamLayout;
  readonly samples: number;
  readonly dtype: 'float32' | 'float64';
  readonly description: string;
  readonly planeBatch: number;
  /** The compiled ONNX graphs by name (for workers and inspection). */
  readonly graphs = new Map<string, Uint8Array>();
  private readonly batches: DataBatch[];
  private readonly obj: Objective;
  private readonly objOpts: Parameters<typeof objective>[1];
  /** Dead input features dropped from the HVP graphs (input-reduction.ts), or null. */
  private readonly inputs: ReturnType<typeof inputReduction> = null;
  private readonly fns = new Map<string, Promise<OrtFunction>>();
  /** onnxruntime's NCHWc block size used for convs (0: plain ONNX convs). */
  private nchwcBlock = 0;
  private planeProg: PlaneProgram | null = null;
  private hvpProg: HvpProgram | null = null;
  private planeRunner: PlaneRunner | null = null;
  private hvpRunner: HvpRunner | null = null;
  private pool: Promise<WorkerPool> | null = null;

  private constructor(
    readonly model: Model,
    data: Dataset,
    readonly opts: OrtEngineOptions,
  ) {
    this.layout = model.layout;
    this.samples = count(data);
    this.dtype = opts.dtype ?? 'float32';
    const train = (opts.mode ?? 'eval') === 'train';
    this.objOpts = {
      kind: opts.loss ?? (data.task === 'regression' ? 'mse' : 'cross_entropy'),
      train,
      conv: 'lax',
      classify: data.task === 'classification',
    } as const;
    this.obj = objective(model, this.objOpts);
    if (opts.reduceInputs !== false) this.inputs = inputReduction(model, data.x, count(data));
    this.batches = dataBatches(model, data, { batchSize: opts.batchSize, dtype: this.dtype, dropoutSeed: opts.dropoutSeed });
    this.planeBatch = opts.planeBatch ?? choosePlaneBatch(this.target(), opts.planeMemoryMB ?? 64);
    this.description = `onnxruntime ${opts.device ?? 'cpu'} ${this.dtype}${train ? ' train-mode' : ''}`;
  }

  /** Creates the engine and compiles its metrics graph (so a model it cannot translate fails here). */
  static async create(model: Model, data: Dataset, opts: OrtEngineOptions = {}): Promise<OrtEngine> {
    await ensureJax();
    if (data.task === 'classification' && data.outputDim !== model.outputDim) {
      throw new Error(`the data has ${data.outputDim} classes but the model has ${model.outputDim} outputs`);
    }
    const e = new OrtEngine(model, data, opts);
    if ((opts.device ?? 'cpu') === 'cpu' && opts.nchwc !== false) e.nchwcBlock = (await nchwcBlockSize()) ?? 0;
    await e.fn('metrics', e.batches[0]!.n);
    return e;
  }

  private target(): ProgramTarget {
    return {
      model: this.model,
      obj: this.obj,
      dtype: this.dtype,
      batches: this.batches,
      samples: this.samples,
      classify: this.objOpts.classify,
      nchwcBlock: this.nchwcBlock,
      hvpWeightGradGemm: this.opts.hvpWeightGradGemm,
      graphs: this.graphs,
    };
  }

  /** The unsplit graph of one objective function for batches of n samples (compiled on first use). */
  private fn(name: FnName, n: number): Promise<OrtFunction> {
    const key = `${name}:${n}`;
    let f = this.fns.get(key);
    if (!f) {
      const specs = new ArgSpecs(this.dtype);
      const p = specs.params(this.layout);
      const data = specs.data(this.model, n);
      const args: Record<FnName, unknown[]> = { metrics: [p, ...data], lossGrad: [p, ...data], hvp: [p, p, ...data] };
      const compiled = compileToOnnx(this.obj[name] as (...a: unknown[]) => unknown, args[name], { graphName: key, nchwcBlock: this.nchwcBlock });
      this.graphs.set(key, compiled.model);
      f = OrtFunction.create(compiled.model, { threads: this.opts.threads, device: this.opts.device });
      this.fns.set(key, f);
    }
    return f;
  }

  private views(theta: Vec): TypedArray[] {
    const F = this.dtype === 'float64' ? Float64Array : Float32Array;
    const t = theta instanceof F ? theta : F.from(theta);
    return this.layout.entries.map((e) => t.subarray(e.offset, e.offset + e.size) as TypedArray);
  }

  private dataInputs(b: DataBatch): TypedArray[] {
    return [b.x, b.t, ...b.masks];
  }

  async evaluate(theta: Vec): Promise<Metrics> {
    let loss = 0;
    let correct = 0;
    const p = this.views(theta);
    for (const b of this.batches) {
      const [l, c] = await (await this.fn('metrics', b.n)).run([...p, ...this.dataInputs(b)]);
      for (const v of l!) loss += v as number;
      correct += c![0] as number;
    }
    return { loss: loss / this.samples, acc: this.objOpts.classify ? (100 * correct) / this.samples : Number.NaN };
  }

  private async accumulate(name: 'lossGrad' | 'hvp', inputs: TypedArray[]): Promise<Float64Array> {
    const out = new Float64Array(this.layout.size);
    for (const b of this.batches) {
      const parts = await (await this.fn(name, b.n)).run([...inputs, ...this.dataInputs(b)]);
      this.layout.entries.forEach((e, k) => {
        const d = parts[k]!;
        for (let i = 0; i < e.size; i++) out[e.offset + i]! += d[i] as number;
      });
    }
    for (let i = 0; i < out.length; i++) out[i]! /= this.samples;
    return out;
  }

  async gradient(theta: Vec): Promise<{ loss: number; grad: Float64Array }> {
    const grad = await this.accumulate('lossGrad', this.views(theta));
    return { loss: (await this.evaluate(theta)).loss, grad };
  }

  /**
   * H(θ)·v. Split graphs (default): what depends on θ only (forward pass, primal backward pass)
   * runs once per θ, each HVP runs the tangent part; with workers, on a worker.
   */
  async hvp(theta: Vec, v: Vec): Promise<Float64Array> {
    if (this.opts.hoist === false) return this.accumulate('hvp', [...this.views(theta), ...this.views(v)]);
    if (this.concurrency > 1) return (await this.workerPool()).hvp(theta, v);
    return this.localHvpRunner().hvp(theta, v);
  }

  /**
   * A Hessian task at θ: with workers, the whole task runs in one worker (its HVPs never leave
   * that thread); otherwise here. The same graphs either way.
   */
  async hessianTask<K extends HessianTaskName>(theta: Vec, task: HessianTask<K>): Promise<HessianTaskResult<K>> {
    if (this.opts.hoist === false) {
      return runHessianTask(
        hessianOperatorOf((t, v) => this.hvp(t, v), this.layout, theta, task.params),
        this.dtype,
        task,
      );
    }
    if (this.concurrency > 1) return (await this.workerPool()).hessianTask(theta, task);
    const runner = this.localHvpRunner();
    const op = hessianOperatorOf((t, v) => runner.hvp(t, v), this.layout, theta, task.params, this.hessianNullCoordinates(), runner.at(theta));
    return runHessianTask(op, this.dtype, task);
  }

  /**
   * Coordinates of θ whose Hessian rows are identically zero for this engine's data (the
   * weights of dead input features), ascending; empty when none are known.
   */
  hessianNullCoordinates(): Int32Array {
    return this.opts.hoist === false || !this.inputs ? new Int32Array(0) : this.inputs.reduction.dropped;
  }

  /** The HVP graphs split into a θ-only prefix and the per-v rest, for every sub-batch size. */
  hvpProgram(): HvpProgram {
    this.hvpProg ??= compileHvpProgram(this.target(), {
      // with dead input features: the reduced model's HVP (same values on the kept coordinates)
      reduced: this.inputs ? { model: this.inputs.reduced, obj: objective(this.inputs.reduced, this.objOpts), reduction: this.inputs.reduction } : null,
      batch: this.opts.hvpBatch,
      memoryMB: this.opts.hvpMemoryMB,
    });
    return this.hvpProg;
  }

  /** The plane graphs for every batch size (compiled on first use). */
  planeProgram(): PlaneProgram {
    this.planeProg ??= compilePlaneProgram(this.target(), this.planeBatch, this.opts.hoist !== false);
    return this.planeProg;
  }

  /** The data batches (what a runner in another thread needs). */
  planeBatches(): DataBatch[] {
    return this.batches.map((b) => ({ n: b.n, x: b.x, t: b.t, masks: b.masks }));
  }

  /** Plane calls that can run at once (the number of workers). */
  get concurrency(): number {
    return Math.max(1, this.opts.workers ?? 1);
  }

  private runnerOptions() {
    return { threads: this.opts.threads, device: this.opts.device };
  }

  private localHvpRunner(): HvpRunner {
    this.hvpRunner ??= new HvpRunner(this.hvpProgram(), this.planeBatches(), this.runnerOptions());
    return this.hvpRunner;
  }

  /** The worker threads (started on first use); plane and HVP graphs compile here first. */
  private workerPool(): Promise<WorkerPool> {
    this.pool ??= (async () => {
      const programs = { plane: this.planeProgram(), hvp: this.opts.hoist === false ? undefined : this.hvpProgram() };
      return WorkerPool.create(programs, this.planeBatches(), this.concurrency, { threads: this.opts.threads ?? 1, device: this.opts.device });
    })();
    return this.pool;
  }

  async evaluatePlane(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<PlaneValues> {
    if (this.concurrency > 1) return (await this.workerPool()).evaluate(theta, d1, d2, points);
    this.planeRunner ??= new PlaneRunner(this.planeProgram(), this.planeBatches(), this.runnerOptions());
    return this.planeRunner.evaluate(theta, d1, d2, points);
  }

  async dispose(): Promise<void> {
    for (const f of this.fns.values()) await (await f).dispose();
    this.fns.clear();
    await this.hvpRunner?.dispose();
    this.hvpRunner = null;
    await this.planeRunner?.dispose();
    this.planeRunner = null;
    if (this.pool) {
      const p = this.pool;
      this.pool = null;
      await (await p.catch(() => null))?.close();
    }
  }
}
