/**
 * One live training session: the CLI's own pieces driven step by step. The data split and
 * evaluation subset (run/data.ts), the model zoo, the minibatch loop (train/loop.ts), the
 * filter-normalized plane (directions/), the jax-js engine's plane evaluation and the
 * Hessian's Lanczos extremes (hessian/point.ts) — no second implementation of any of them,
 * so a surface computed here equals `losscape surface` at the same weights. Runs in the
 * browser (the playground) and in Node (tests).
 */
import { numpy as np } from '@jax-js/jax';
import { type Grid, gridPoints } from '../core/grid.js';
import { pointWeights } from '../core/plane.js';
import { count, type Dataset } from '../data/dataset.js';
import { type SyntheticKind, synthetic } from '../data/synthetic.js';
import { type Plane, randomPlane } from '../directions/directions.js';
import type { LossEngine, PlaneValues } from '../engine/engine.js';
import { JaxEngine } from '../engine/jax/engine.js';
import { pointEigenvalues } from '../hessian/point.js';
import type { Model } from '../model/model.js';
import { buildModel } from '../model/zoo.js';
import type { DataSpec } from '../run/config.js';
import { type RunData, splitData, withSubsets } from '../run/split.js';
import { MinibatchLoop, stepsPerEpoch } from '../train/loop.js';
import { type Metrics4, SplitMetrics } from '../train/metrics.js';
import { stateSlots } from '../train/optimizer.js';
import { type LiveConfig, modelSpec, optimizerSpec, runConfigOf } from './config.js';
import { isDigitSet, loadDigits } from './digits.js';

export interface LiveCheckpoint {
  step: number;
  epoch: number;
  theta: Float32Array;
  metrics: Metrics4;
}

export interface HistoryRow extends Metrics4 {
  step: number;
  epoch: number;
}

export interface LiveSurface {
  step: number;
  grid: Grid;
  /** Loss and accuracy on the evaluation subset, row-major [ny, nx]. */
  values: PlaneValues;
  plane: Plane;
  theta: Float32Array;
}

export interface EigenPoint {
  lambdaMax: number;
  lambdaMin: number;
  ratio: number;
  hvps: number;
}

/** Lanczos settings of the live maps: looser than the CLI's default (1e-6) so a map refreshes within seconds. */
export const LIVE_EIGEN = { tol: 1e-4, maxIter: 80 } as const;

/** At most this many checkpoints are kept; beyond it every other one is dropped (the first and the latest stay). */
export const MAX_CHECKPOINTS = 120;

/** Settings that change the data or the network: changing one starts a new session. */
const STRUCTURAL: (keyof LiveConfig)[] = ['data', 'n', 'noise', 'subset', 'model', 'hidden', 'activation', 'batchNorm', 'skip', 'dropout'];

export function needsReset(a: LiveConfig, b: LiveConfig, also: (keyof LiveConfig)[] = []): boolean {
  return [...STRUCTURAL, ...also].some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * The data a session trains on: the run config's data section through the CLI's own split. An
 * image set's bundle already is the run's train and test subsets (digits.ts), so only the
 * evaluation subset is drawn here, by the same code.
 */
export async function liveData(c: LiveConfig): Promise<RunData> {
  const data = runConfigOf(c, 'live', 1).data;
  const spec: DataSpec = { ...data, subset: { ...data.subset, errorBars: 0 }, trainSize: 'all', normalize: 'none' };
  if (isDigitSet(c.data)) {
    const tt = await loadDigits(c.data);
    return withSubsets(tt.train, tt.test, { ...tt.train, name: c.data }, { ...spec, testSize: 'all' });
  }
  return splitData(synthetic({ kind: c.data as SyntheticKind, n: spec.n, noise: spec.noise, seed: spec.splitSeed }), spec);
}

/** The network of the settings for the data's inputs and classes (the CLI's model zoo). */
export function liveModel(c: LiveConfig, data: RunData): Model {
  return buildModel(modelSpec(c), data.train.inputShape, data.train.outputDim);
}

/**
 * The engine of the landscapes and Hessian points on the evaluation subset: the CLI's jax-js
 * engine with lax convolutions (the onnxruntime engine's choice; about 8× faster than im2col for
 * the digit CNN's forward passes in wasm, the same values to float32 rounding).
 */
export function liveEngine(model: Model, data: RunData): Promise<JaxEngine> {
  return JaxEngine.create(model, data.evalSubset, { conv: 'lax' });
}

/** The landscape grid of the settings: grid × grid points on [-range, range]². */
export function liveGrid(c: Pick<LiveConfig, 'range' | 'grid'>): Grid {
  const { range, grid } = c;
  return { x: { min: -range, max: range, n: grid }, y: { min: -range, max: range, n: grid } };
}

/** The seeded plane re-normalized to θ (the CLI's perCheckpoint 'renormalize'). */
export function livePlane(c: Pick<LiveConfig, 'dirSeed'>, theta: Float32Array, model: Model): Plane {
  return randomPlane(theta, model.layout, { seed: c.dirSeed, norm: 'filter', ignore: 'biasbn' });
}

/**
 * The landscape around θ on the evaluation subset (the engine's plane evaluation over the
 * settings' grid and plane): what LiveSession.surface and the page's landscape worker both run.
 */
export async function landscapeAt(
  engine: JaxEngine,
  model: Model,
  c: LiveConfig,
  theta: Float32Array,
  step: number,
  /** Only grid rows [from, to) (the page splits a landscape between workers); values then hold those rows. */
  rows?: [number, number],
): Promise<LiveSurface> {
  const plane = livePlane(c, theta, model);
  const grid = liveGrid(c);
  const all = gridPoints(grid);
  const points = rows ? all.subarray(2 * rows[0] * grid.x.n, 2 * rows[1] * grid.x.n) : all;
  const values = await engine.evaluatePlane(theta, plane.dx, plane.dy, points);
  return { step, grid, values, plane, theta };
}

export class LiveSession {
  step = 0;
  readonly history: HistoryRow[] = [];
  /** Minibatch loss of every step. */
  readonly batchLoss: number[] = [];
  readonly checkpoints: LiveCheckpoint[] = [];
  private constructor(
    public config: LiveConfig,
    readonly data: RunData,
    readonly model: Model,
    private loop: MinibatchLoop,
    readonly engine: JaxEngine,
    private readonly metrics: SplitMetrics,
  ) {}

  static async create(config: LiveConfig, theta?: Float32Array): Promise<LiveSession> {
    const data = await liveData(config);
    const model = liveModel(config, data);
    const start = theta ?? model.init(config.seed);
    const loop = await MinibatchLoop.create({
      model,
      data: data.train,
      optimizer: optimizerSpec(config),
      batchSize: config.batchSize,
      seed: config.seed,
      theta: start,
    });
    const engine = await liveEngine(model, data);
    const metrics = await SplitMetrics.create(model, data.train, data.test);
    const s = new LiveSession(config, data, model, loop, engine, metrics);
    await s.takeCheckpoint(start);
    return s;
  }

  get stepsPerEpoch(): number {
    return stepsPerEpoch(count(this.data.train), this.config.batchSize);
  }

  get epoch(): number {
    return this.step / this.stepsPerEpoch;
  }

  /** The current weights (flat, layout order). */
  theta(): Promise<Float32Array> {
    return this.loop.theta();
  }

  /** `n` optimizer steps; a checkpoint at every multiple of checkpointEvery. Returns the last minibatch loss. */
  async train(n: number): Promise<number> {
    let loss = Number.NaN;
    for (let i = 0; i < n; i++) {
      loss = await this.loop.step(this.step, this.config.lr);
      this.step++;
      this.batchLoss.push(loss);
      if (this.step % this.config.checkpointEvery === 0) await this.takeCheckpoint(await this.theta());
    }
    return loss;
  }

  /** Full train/test metrics at the current weights (a history row). */
  async measure(): Promise<HistoryRow> {
    return this.record(await this.theta());
  }

  private async record(theta: Float32Array): Promise<HistoryRow> {
    const row = { step: this.step, epoch: this.epoch, ...(await this.metrics.at(theta)) };
    if (this.history.at(-1)?.step === row.step) this.history.pop();
    this.history.push(row);
    return row;
  }

  private async takeCheckpoint(theta: Float32Array): Promise<void> {
    const row = await this.record(theta);
    if (this.checkpoints.at(-1)?.step === this.step) this.checkpoints.pop();
    this.checkpoints.push({
      step: this.step,
      epoch: this.epoch,
      theta,
      metrics: { train_loss: row.train_loss, train_acc: row.train_acc, test_loss: row.test_loss, test_acc: row.test_acc },
    });
    if (this.checkpoints.length > MAX_CHECKPOINTS) {
      const last = this.checkpoints.length - 1;
      const kept = this.checkpoints.filter((_, i) => i % 2 === 0 || i === last);
      this.checkpoints.splice(0, this.checkpoints.length, ...kept);
    }
  }

  /** The checkpoints with the current weights as the last one (for saving). */
  async checkpointsNow(): Promise<LiveCheckpoint[]> {
    if (this.checkpoints.at(-1)?.step !== this.step) await this.takeCheckpoint(await this.theta());
    return this.checkpoints;
  }

  get grid(): Grid {
    return liveGrid(this.config);
  }

  /** The seeded plane re-normalized to θ (the CLI's perCheckpoint 'renormalize'). */
  plane(theta: Float32Array): Plane {
    return livePlane(this.config, theta, this.model);
  }

  /** The landscape around the current weights on the evaluation subset. */
  async surface(): Promise<LiveSurface> {
    return landscapeAt(this.engine, this.model, this.config, await this.theta(), this.step);
  }

  /**
   * The engine whose HVPs first yield to the event loop: a Lanczos solve is a long chain of
   * HVPs, and in the page (seconds per point for the digit CNN) the page must stay responsive.
   * `between` runs at each yield (the page trains a step there, so the weights keep moving
   * while a Hessian point is solved).
   */
  private yielding(between?: () => Promise<void>): LossEngine {
    const e = this.engine;
    let last = performance.now();
    return new Proxy(e, {
      get(target, key) {
        if (key === 'hvp') {
          return async (theta: Float32Array, v: Float32Array) => {
            // at most every 30 ms (a timer costs ≥ 4 ms in browsers once nested)
            if (performance.now() - last > 30) {
              await new Promise((r) => setTimeout(r, 0));
              await between?.();
              last = performance.now();
            }
            return target.hvp(theta, v);
          };
        }
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /**
   * λmax, λmin and |λmin/λmax| of the evaluation-subset Hessian at θ + a·dx + b·dy (θ as given,
   * so training may go on in `between`, called every 30 ms or so of the solve).
   */
  async eigenAt(theta: Float32Array, plane: Plane, a: number, b: number, between?: () => Promise<void>): Promise<EigenPoint> {
    const w = pointWeights(theta, plane.dx, plane.dy, a, b);
    const e = await pointEigenvalues(this.yielding(between), w, { ...LIVE_EIGEN, certify: false });
    return { lambdaMax: e.lambdaMax, lambdaMin: e.lambdaMin, ratio: e.ratio, hvps: e.hvps };
  }

  /** Class probabilities on an res × res grid of inputs over `box` ([x0, x1, y0, y1]), row-major from y0. */
  async boundary(res: number, box: [number, number, number, number]): Promise<Float32Array> {
    const pts = new Float32Array(res * res * 2);
    for (let i = 0; i < res; i++) {
      for (let j = 0; j < res; j++) {
        pts[2 * (i * res + j)] = box[0] + ((box[1] - box[0]) * j) / (res - 1);
        pts[2 * (i * res + j) + 1] = box[2] + ((box[3] - box[2]) * i) / (res - 1);
      }
    }
    const params = this.engine.params(await this.theta());
    const r = this.model.apply(params, np.array(pts).reshape([res * res, 2]));
    r.batchStats.forEach((a) => a.dispose());
    const p = np.exp(r.out.sub(r.out.ref.max(1, { keepdims: true })));
    const probs = p.div(p.ref.sum(1, { keepdims: true }));
    return Float32Array.from(await probs.data());
  }

  /**
   * New settings. Learning rate, optimizer, batch size, seed, grid and directions apply to the
   * current weights (the optimizer state is kept when its shape allows); data or network
   * changes need `LiveSession.create`.
   */
  async reconfigure(next: LiveConfig): Promise<void> {
    if (needsReset(this.config, next)) throw new Error('data or network changed: start a new session');
    const loopChanged = next.optimizer !== this.config.optimizer || next.batchSize !== this.config.batchSize || next.seed !== this.config.seed;
    const prev = this.config;
    this.config = next;
    if (!loopChanged) return;
    const keepState = stateSlots(optimizerSpec(prev)) === stateSlots(optimizerSpec(next)) && prev.optimizer !== 'adam' && next.optimizer !== 'adam';
    const theta = await this.theta();
    const optState = keepState ? await this.loop.optState() : undefined;
    this.loop.dispose();
    this.loop = await MinibatchLoop.create({
      model: this.model,
      data: this.data.train,
      optimizer: optimizerSpec(next),
      batchSize: next.batchSize,
      seed: next.seed,
      theta,
      optState,
    });
  }

  /** The extent of the data's inputs with a 10 % margin ([x0, x1, y0, y1]). */
  dataBox(): [number, number, number, number] {
    return inputBox(this.data.all);
  }

  dispose(): void {
    this.loop.dispose();
    this.engine.dispose();
    this.metrics.dispose();
  }
}

export function inputBox(ds: Dataset): [number, number, number, number] {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < ds.x.length; i += 2) {
    x0 = Math.min(x0, ds.x[i]!);
    x1 = Math.max(x1, ds.x[i]!);
    y0 = Math.min(y0, ds.x[i + 1]!);
    y1 = Math.max(y1, ds.x[i + 1]!);
  }
  const mx = 0.1 * (x1 - x0);
  const my = 0.1 * (y1 - y0);
  return [x0 - mx, x1 + mx, y0 - my, y1 + my];
}
