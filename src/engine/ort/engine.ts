/**
 * The onnxruntime engine: the same jax-js objective (objective.ts), traced once
 * per batch shape, translated to ONNX (engine/onnx) and run natively. Exact
 * autodiff (the HVP graph is jvp of grad) at native speed; values equal the
 * jax-js engine to float32 rounding.
 *
 * Plane evaluation runs K grid points per call (weights with a leading grid axis;
 * the translator computes the first layer's X·W, X·D1, X·D2 once per call and
 * combines them per point). K is chosen so that a call's intermediates stay
 * within a memory budget.
 */
import { type DType, makeJaxpr, type numpy as np } from '@jax-js/jax';
import { ArgSpec, compileToOnnx, compileToOnnxSplit } from '../../compile/compile.js';
import type { ParamLayout, Vec } from '../../core/layout.js';
import { count, type Dataset, sampleSize } from '../../data/dataset.js';
import { hessianOperatorOf } from '../../linalg/hessian-operator.js';
import { type HessianTask, type HessianTaskName, type HessianTaskResult, runHessianTask } from '../../linalg/tasks.js';
import { ensureJax } from '../../model/jax.js';
import type { Model } from '../../model/model.js';
import type { LossEngine, Metrics, PlaneValues } from '../engine.js';
import { inputReduction } from '../input-reduction.js';
import { dropoutMasks, type EngineOptions, targetMatrix } from '../jax/engine.js';
import { type Objective, objective } from '../objective.js';
import { type HvpProgram, HvpRunner, subBatchSizes } from './hvp-runner.js';
import { nchwcBlockSize } from './nchwc.js';
import { type PlaneGraphs, type PlaneProgram, PlaneRunner } from './plane-runner.js';
import { WorkerPool } from './pool.js';
import { OrtFunction, type TypedArray } from './runner.js';

export interface OrtEngineOptions extends EngineOptions {
  threads?: number;
  device?: 'cpu' | 'cuda';
  /**
   * Grid points per plane call (default: as many as keep one call's intermediates within
   * `planeMemoryMB` (64), at least 4 and at most 32; measured best for the MLP at 8–32 points,
   * for the small CNN at 4).
   */
  planeBatch?: number;
  planeMemoryMB?: number;
  /**
   * Hoist what does not depend on the grid coordinates (first layer's X·W, X·D1, X·D2, …) out
   * of the per-call plane graph: computed once per (θ, d1, d2). Default true.
   */
  hoist?: boolean;
  /**
   * Worker threads for plane evaluation (each with its own sessions, 1 intra-op thread unless
   * `threads` says otherwise); 1 (default): evaluate on this thread.
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
   * unfolded patches — exceed `hvpMemoryMB` (40) run as near-equal sub-batches within it; the
   * zoo CNN on 1000 samples runs 4 × 250, ~10 % faster per HVP with two workers; the MLP's
   * inputs are small and stay whole).
   */
  hvpBatch?: number;
  hvpMemoryMB?: number;
}

interface Batch {
  n: number;
  x: Float32Array | Float64Array;
  t: Float32Array | Float64Array;
  masks: (Float32Array | Float64Array)[];
}

type FnName = 'metrics' | 'lossGrad' | 'hvp';

export class OrtEngine implements LossEngine {
  readonly layout: ParamLayout;
  readonly samples: number;
  readonly dtype: 'float32' | 'float64';
  readonly description: string;
  readonly planeBatch: number;
  private readonly batches: Batch[];
  private readonly obj: Objective;
  private readonly objOpts: Parameters<typeof objective>[1];
  /** Dead input features dropped from the HVP graphs (input-reduction.ts), or null. */
  private readonly inputs: ReturnType<typeof inputReduction> = null;
  private readonly fns = new Map<string, Promise<OrtFunction>>();
  private readonly isClassifier: boolean;
  /** onnxruntime's NCHWc block size used for convs (0: plain ONNX convs). */
  private nchwcBlock = 0;
  /** The compiled ONNX graphs by name (for workers and inspection). */
  readonly graphs = new Map<string, Uint8Array>();

  private constructor(
    readonly model: Model,
    data: Dataset,
    readonly opts: OrtEngineOptions,
  ) {
    this.layout = model.layout;
    this.samples = count(data);
    this.dtype = opts.dtype ?? 'float32';
    this.isClassifier = data.task === 'classification';
    const train = (opts.mode ?? 'eval') === 'train';
    this.objOpts = {
      kind: opts.loss ?? (data.task === 'regression' ? 'mse' : 'cross_entropy'),
      train,
      conv: 'lax',
      classify: this.isClassifier,
    } as const;
    this.obj = objective(model, this.objOpts);
    if (opts.reduceInputs !== false) this.inputs = inputReduction(model, data.x, count(data));
    const d = sampleSize(data);
    const c = data.outputDim;
    const targets = targetMatrix(data);
    const masks = dropoutMasks(model, this.samples, opts.dropoutSeed ?? 0);
    const bs = Math.max(1, Math.min(opts.batchSize ?? Math.min(this.samples, 1000), this.samples));
    const F = this.dtype === 'float64' ? Float64Array : Float32Array;
    this.batches = [];
    for (let s = 0; s < this.samples; s += bs) {
      const n = Math.min(bs, this.samples - s);
      this.batches.push({
        n,
        x: F.from(data.x.subarray(s * d, (s + n) * d)),
        t: F.from(targets.subarray(s * c, (s + n) * c)),
        masks: masks.map((m) => {
          const per = m.length / this.samples;
          return F.from(m.subarray(s * per, (s + n) * per));
        }),
      });
    }
    this.planeBatch = opts.planeBatch ?? this.choosePlaneBatch(opts.planeMemoryMB ?? 64);
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

  private spec(shape: number[]): ArgSpec {
    return new ArgSpec(shape, this.dtype as DType);
  }

  private dataSpecs(n: number, model: Model = this.model): [ArgSpec, ArgSpec, ArgSpec[]] {
    const c = model.outputDim;
    return [this.spec([n, ...model.inputShape]), this.spec([n, c]), model.dropoutSites.map((s) => this.spec([n, ...s.shape]))];
  }

  private paramSpecs(layout: ParamLayout = this.layout): ArgSpec[] {
    return layout.entries.map((e) => this.spec(e.shape));
  }

  /** Bytes of intermediates of one forward evaluation of the first batch. */
  private choosePlaneBatch(budgetMB: number): number {
    const n = this.batches[0]!.n;
    const { jaxpr } = makeJaxpr(this.obj.metrics as (...a: unknown[]) => np.Array[])(this.paramSpecs(), ...this.dataSpecs(n));
    let elems = 0;
    for (const e of jaxpr.jaxpr.eqns) for (const o of e.outBinders) elems += o.aval.size;
    jaxpr.dispose();
    const bytes = elems * (this.dtype === 'float64' ? 8 : 4);
    return Math.max(4, Math.min(32, Math.floor((budgetMB * 2 ** 20) / Math.max(1, bytes))));
  }

  private fn(name: FnName, n: number): Promise<OrtFunction> {
    const key = `${name}:${n}`;
    let f = this.fns.get(key);
    if (!f) {
      const p = this.paramSpecs();
      const data = this.dataSpecs(n);
      const args: Record<FnName, unknown[]> = {
        metrics: [p, ...data],
        lossGrad: [p, ...data],
        hvp: [p, p, ...data],
      };
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

  private dataInputs(b: Batch): TypedArray[] {
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
    return { loss: loss / this.samples, acc: this.isClassifier ? (100 * correct) / this.samples : Number.NaN };
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

  async hvp(theta: Vec, v: Vec): Promise<Float64Array> {
    if (this.opts.hoist === false) return this.accumulate('hvp', [...this.views(theta), ...this.views(v)]);
    // Everything that depends on θ only (forward pass, primal backward pass) runs once per θ
    // (the prefix graph); each HVP then runs the tangent part (the rest graph).
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

  private hvpRunner: HvpRunner | null = null;

  private localHvpRunner(): HvpRunner {
    this.hvpRunner ??= new HvpRunner(this.hvpProgram(), this.planeBatches(), { threads: this.opts.threads, device: this.opts.device });
    return this.hvpRunner;
  }
  private hvpProg: HvpProgram | null = null;

  /**
   * Coordinates of θ whose Hessian rows are identically zero for this engine's data (the
   * weights of dead input features), ascending; empty when none are known.
   */
  hessianNullCoordinates(): Int32Array {
    return this.opts.hoist === false || !this.inputs ? new Int32Array(0) : this.inputs.reduction.dropped;
  }

  /** The HVP graphs split into a θ-only prefix and the per-v rest, for every batch size. */
  hvpProgram(): HvpProgram {
    if (!this.hvpProg) {
      const graphs: Record<number, PlaneGraphs> = {};
      // with dead input features: the reduced model's HVP (same values on the kept coordinates)
      const model = this.inputs?.reduced ?? this.model;
      const obj = this.inputs ? objective(model, this.objOpts) : this.obj;
      const p = this.paramSpecs(model.layout);
      const P = p.length;
      const compile = (n: number) => {
        const args = [p, p, ...this.dataSpecs(n, model)];
        return compileToOnnxSplit(obj.hvp as (...a: unknown[]) => unknown, args, leafRange(P, 2 * P), {
          graphName: `hvp:${n}`,
          nchwcBlock: this.nchwcBlock,
          // the data: what depends on it alone (the first conv's unfolded patches) runs once per batch
          fixed: leafRange(2 * P, args.flat().length),
        });
      };
      // samples per call: the first batch's whole, or as many near-equal parts as keep the bytes
      // one call reads besides v (the prefix's outputs and the samples) within the budget
      const n0 = this.batches[0]!.n;
      let first: ReturnType<typeof compile> | undefined;
      let batch = this.opts.hvpBatch;
      if (batch === undefined) {
        first = compile(n0);
        const shapes = [...first.frontier, ...first.fixedOutputs, ...this.dataSpecs(n0, model).flat()].map((a) => a.shape);
        const bytes = shapes.reduce((acc, sh) => acc + sh.reduce((x, y) => x * y, 1), 0) * (this.dtype === 'float64' ? 8 : 4);
        batch = Math.ceil(n0 / Math.max(1, Math.ceil(bytes / ((this.opts.hvpMemoryMB ?? 40) * 2 ** 20))));
      }
      batch = Math.max(1, Math.floor(batch));
      for (const b of this.batches) {
        for (const m of subBatchSizes(b.n, batch)) {
          if (graphs[m]) continue;
          const c = m === n0 && first ? first : compile(m);
          if (c.setup) this.graphs.set(`hvp:${m}.setup`, c.setup);
          if (c.prefix) this.graphs.set(`hvp:${m}.prefix`, c.prefix);
          this.graphs.set(`hvp:${m}`, c.rest);
          graphs[m] = { setup: c.setup, setupInputs: c.setupInputs, prefix: c.prefix, prefixInputs: c.prefixInputs, rest: c.rest, restInputs: c.restInputs };
        }
      }
      const red = this.inputs?.reduction;
      this.hvpProg = {
        dtype: this.dtype,
        tensors: model.layout.entries.map((e) => [e.offset, e.size]),
        size: model.layout.size,
        layout: this.layout,
        reduction: red ? { columns: red.columns, features: red.features, keep: red.keep, dropped: red.dropped } : undefined,
        samples: this.samples,
        batch,
        graphs,
      };
    }
    return this.hvpProg;
  }

  /** The plane graphs for every batch size (compiled on first use). */
  planeProgram(): PlaneProgram {
    if (!this.program) {
      const graphs: Record<number, PlaneGraphs> = {};
      const P = this.layout.entries.length;
      for (const b of this.batches) {
        if (graphs[b.n]) continue;
        const p = this.paramSpecs();
        const k = this.spec([this.planeBatch]);
        const args = [p, p, p, k, k, ...this.dataSpecs(b.n)];
        const key = `plane:${b.n}`;
        if (this.opts.hoist === false) {
          const c = compileToOnnx(this.obj.plane as (...a: unknown[]) => unknown, args, { graphName: key, nchwcBlock: this.nchwcBlock });
          this.graphs.set(key, c.model);
          graphs[b.n] = { prefix: null, prefixInputs: [], rest: c.model, restInputs: c.inputs.map((i) => i.name) };
        } else {
          const c = compileToOnnxSplit(this.obj.plane as (...a: unknown[]) => unknown, args, leafRange(3 * P, 3 * P + 2), {
            graphName: key,
            nchwcBlock: this.nchwcBlock,
            fixed: leafRange(3 * P + 2, args.flat().length), // the data
          });
          if (c.setup) this.graphs.set(`${key}.setup`, c.setup);
          if (c.prefix) this.graphs.set(`${key}.prefix`, c.prefix);
          this.graphs.set(key, c.rest);
          graphs[b.n] = { setup: c.setup, setupInputs: c.setupInputs, prefix: c.prefix, prefixInputs: c.prefixInputs, rest: c.rest, restInputs: c.restInputs };
        }
      }
      this.program = {
        K: this.planeBatch,
        dtype: this.dtype,
        tensors: this.layout.entries.map((e) => [e.offset, e.size]),
        samples: this.samples,
        classify: this.isClassifier,
        graphs,
      };
    }
    return this.program;
  }
  private program: PlaneProgram | null = null;
  private runner: PlaneRunner | null = null;

  /** The data batches as plain arrays (what a plane runner in another thread needs). */
  planeBatches(): { n: number; x: Float32Array | Float64Array; t: Float32Array | Float64Array; masks: (Float32Array | Float64Array)[] }[] {
    return this.batches.map((b) => ({ n: b.n, x: b.x, t: b.t, masks: b.masks }));
  }

  /** Plane calls that can run at once (the number of workers). */
  get concurrency(): number {
    return Math.max(1, this.opts.workers ?? 1);
  }

  private pool: Promise<WorkerPool> | null = null;

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
    this.runner ??= new PlaneRunner(this.planeProgram(), this.planeBatches(), { threads: this.opts.threads, device: this.opts.device });
    return this.runner.evaluate(theta, d1, d2, points);
  }

  async dispose(): Promise<void> {
    for (const f of this.fns.values()) await (await f).dispose();
    this.fns.clear();
    await this.hvpRunner?.dispose();
    this.hvpRunner = null;
    await this.runner?.dispose();
    this.runner = null;
    if (this.pool) {
      const p = this.pool;
      this.pool = null;
      await (await p.catch(() => null))?.close();
    }
  }
}

/** The flat argument indices from, from + 1, …, to − 1 (the `vary` and `fixed` leaves of a split compile). */
function leafRange(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
