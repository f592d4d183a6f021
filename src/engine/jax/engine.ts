/**
 * The jax-js engine: exact autodiff everywhere (Node: wasm; browser: WebGPU or
 * wasm). Loss, gradient and HVP are jitted once per batch shape; the mean over
 * the subset is accumulated in float64 from per-batch sums.
 */
import { jit, numpy as np } from '@jax-js/jax';
import type { ParamLayout, Vec } from '../../core/layout.js';
import { pointWeights } from '../../core/plane.js';
import { count, type Dataset } from '../../data/dataset.js';
import { ensureJax } from '../../model/jax.js';
import type { Model } from '../../model/model.js';
import { dataBatches } from '../batches.js';
import type { EngineOptions, LossEngine, Metrics, PlaneValues } from '../engine.js';
import { objective } from '../objective.js';

type Arr = np.Array;

interface Batch {
  x: Arr;
  t: Arr;
  masks: Arr[];
  n: number;
}

export class JaxEngine implements LossEngine {
  readonly layout: ParamLayout;
  readonly samples: number;
  readonly dtype: 'float32' | 'float64';
  readonly description: string;
  private readonly batches: Batch[];
  private readonly lossFn;
  private readonly gradFn;
  private readonly hvpFn;
  private readonly planeFn;
  private readonly isClassifier: boolean;

  private constructor(
    readonly model: Model,
    data: Dataset,
    readonly opts: EngineOptions,
  ) {
    this.layout = model.layout;
    this.samples = count(data);
    this.dtype = opts.dtype ?? 'float32';
    this.isClassifier = data.task === 'classification';
    const train = (opts.mode ?? 'eval') === 'train';
    const kind = opts.loss ?? (data.task === 'regression' ? 'mse' : 'cross_entropy');
    const conv = opts.conv ?? 'im2col';
    this.description = `jax-js wasm ${this.dtype}${train ? ' train-mode' : ''}`;

    const obj = objective(model, { kind, train, conv, classify: this.isClassifier });
    this.lossFn = jit(obj.metrics);
    this.gradFn = jit(obj.lossGrad);
    // Forward-over-reverse: H v = d/dε ∇L(θ + ε v) (jvp of grad; grad-of-grad was wrong in float32).
    this.hvpFn = jit(obj.hvp);
    // one plane point per call, its weights formed on the device from θ, d1, d2 uploaded once
    this.planeFn = jit(obj.plane);

    this.batches = dataBatches(model, data, { batchSize: opts.batchSize, dtype: this.dtype, dropoutSeed: opts.dropoutSeed }).map((b) => ({
      n: b.n,
      x: np.array(b.x).reshape([b.n, ...model.inputShape]),
      t: np.array(b.t).reshape([b.n, data.outputDim]),
      masks: b.masks.map((m, k) => np.array(m).reshape([b.n, ...model.dropoutSites[k]!.shape])),
    }));
  }

  static async create(model: Model, data: Dataset, opts: EngineOptions = {}): Promise<JaxEngine> {
    await ensureJax();
    if (data.task === 'classification' && data.outputDim !== model.outputDim) {
      throw new Error(`the data has ${data.outputDim} classes but the model has ${model.outputDim} outputs`);
    }
    return new JaxEngine(model, data, opts);
  }

  private array(values: ArrayLike<number>, shape: number[]): Arr {
    const buf = this.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
    return np.array(buf).reshape(shape);
  }

  /** Per-tensor arrays of θ. */
  params(theta: Vec): Arr[] {
    return this.layout.entries.map((e) => this.array(theta.subarray(e.offset, e.offset + e.size), e.shape));
  }

  private batchArgs(b: Batch): [Arr, Arr, Arr[]] {
    return [b.x.ref, b.t.ref, b.masks.map((m) => m.ref)];
  }

  async evaluate(theta: Vec): Promise<Metrics> {
    let loss = 0;
    let correct = 0;
    for (const b of this.batches) {
      const params = this.params(theta);
      const [l, c] = this.lossFn(params, ...this.batchArgs(b)) as Arr[];
      // per-sample losses summed in float64
      for (const v of await l!.data()) loss += v;
      correct += (await c!.data())[0]!;
    }
    return {
      loss: loss / this.samples,
      acc: this.isClassifier ? (100 * correct) / this.samples : Number.NaN,
    };
  }

  async gradient(theta: Vec): Promise<{ loss: number; grad: Float64Array }> {
    const g = new Float64Array(this.layout.size);
    for (const b of this.batches) {
      const parts = this.gradFn(this.params(theta), ...this.batchArgs(b)) as Arr[];
      await this.accumulate(parts, g);
    }
    for (let i = 0; i < g.length; i++) g[i]! /= this.samples;
    const { loss } = await this.evaluate(theta);
    return { loss, grad: g };
  }

  async hvp(theta: Vec, v: Vec): Promise<Float64Array> {
    const out = new Float64Array(this.layout.size);
    for (const b of this.batches) {
      const parts = this.hvpFn(this.params(theta), this.params(v), ...this.batchArgs(b)) as Arr[];
      await this.accumulate(parts, out);
    }
    for (let i = 0; i < out.length; i++) out[i]! /= this.samples;
    return out;
  }

  private async accumulate(parts: Arr[], into: Float64Array): Promise<void> {
    for (let k = 0; k < parts.length; k++) {
      const e = this.layout.entries[k]!;
      const data = await parts[k]!.data();
      for (let i = 0; i < e.size; i++) into[e.offset + i]! += data[i]!;
    }
  }

  /**
   * Loss and accuracy at θ + a·d1 + b·d2 for each (a, b). In float32 the weights are formed on
   * the device, in the reference code's order of operations (the same float32 values as
   * `pointWeights`), one jitted call per point and batch: about 8 % faster than uploading each
   * point's weights (a 2-64-64-3 MLP, 21×21 points). Batching several points per call was slower.
   */
  async evaluatePlane(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<PlaneValues> {
    const k = points.length / 2;
    const loss = new Float64Array(k);
    const acc = new Float64Array(k);
    if (this.dtype === 'float64') {
      const w = new Float32Array(theta.length);
      for (let i = 0; i < k; i++) {
        pointWeights(theta, d1, d2, points[2 * i]!, points[2 * i + 1]!, w);
        const m = await this.evaluate(w);
        loss[i] = m.loss;
        acc[i] = m.acc;
      }
      return { loss, acc };
    }
    const on = [this.params(theta), this.params(d1), this.params(d2)];
    try {
      for (let i = 0; i < k; i++) {
        let sum = 0;
        let correct = 0;
        for (const b of this.batches) {
          const [p, q, r] = on.map((arrs) => arrs.map((a) => a.ref)) as [Arr[], Arr[], Arr[]];
          const [l, c] = this.planeFn(p, q, r, this.array([points[2 * i]!], [1]), this.array([points[2 * i + 1]!], [1]), ...this.batchArgs(b)) as Arr[];
          for (const v of await l!.data()) sum += v;
          correct += (await c!.data())[0]!;
        }
        loss[i] = sum / this.samples;
        acc[i] = this.isClassifier ? (100 * correct) / this.samples : Number.NaN;
      }
    } finally {
      for (const arrs of on) for (const a of arrs) a.dispose();
    }
    return { loss, acc };
  }

  dispose(): void {
    for (const b of this.batches) {
      b.x.dispose();
      b.t.dispose();
      b.masks.forEach((m) => m.dispose());
    }
    this.batches.length = 0;
    this.lossFn.dispose();
    this.gradFn.dispose();
    this.hvpFn.dispose();
    this.planeFn.dispose();
  }
}
