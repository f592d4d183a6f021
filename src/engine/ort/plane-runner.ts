/**
 * Plane evaluation with compiled ONNX graphs only (no jax-js): what the OrtEngine runs on
 * the main thread and what every worker thread of a pool runs (pool.ts).
 *
 * A `PlaneProgram` holds, per data-batch size, the plane graph split in two
 * (GraphBuilder.toSplitModels): `prefix` computes everything that depends on θ, d1, d2 and
 * the data but not on the grid coordinates (the first layer's X·W, X·D1, X·D2 and the like)
 * and runs once per (θ, d1, d2); `rest` runs per group of K grid points, fed with the
 * prefix's outputs. Graph inputs are named in0, in1, … in the objective's argument order:
 * θ tensors, d1 tensors, d2 tensors, a [K], b [K], x, targets, dropout masks.
 */

import { sameValues } from '../../core/values.js';
import type { DataBatch } from '../batches.js';
import type { TypedArray } from './runner.js';
import { type RunnerOptions, type Sessions, type SplitGraphs, SplitSessions } from './split-sessions.js';

export interface PlaneProgram {
  /** Grid points per call of `rest`. */
  K: number;
  dtype: 'float32' | 'float64';
  /** [offset, size] of every parameter tensor in θ. */
  tensors: [number, number][];
  samples: number;
  classify: boolean;
  /** Graphs by batch size. */
  graphs: Record<number, SplitGraphs>;
}

/** Sums over the data of one plane evaluation: per point, the loss sum and the correct count. */
export interface PlaneSums {
  lossSum: Float64Array;
  correct: Float64Array;
}

export class PlaneRunner {
  private readonly sessions: SplitSessions;
  /** The (θ, d1, d2) the cached prefix outputs belong to (copies), and those outputs per batch. */
  private cache: { key: Float32Array[]; frontier: Map<number, Map<string, TypedArray>> } | null = null;
  /** Prefix runs so far (for tests and the bench). */
  prefixRuns = 0;

  constructor(
    readonly program: PlaneProgram,
    readonly batches: DataBatch[],
    readonly opts: RunnerOptions = {},
  ) {
    this.sessions = new SplitSessions(program.graphs, opts, 'plane');
  }

  private session(n: number): Promise<Sessions> {
    return this.sessions.get(n);
  }

  /** Create every session now (so that the first evaluation is not slower). */
  async warm(): Promise<void> {
    await this.sessions.warm(this.batches);
  }

  private named(theta: Float32Array, d1: Float32Array, d2: Float32Array, b: DataBatch): Map<string, TypedArray> {
    const F = this.program.dtype === 'float64' ? Float64Array : Float32Array;
    const m = new Map<string, TypedArray>();
    const P = this.program.tensors.length;
    [theta, d1, d2].forEach((v, j) => {
      const t = v instanceof F ? v : F.from(v);
      this.program.tensors.forEach(([o, s], i) => m.set(`in${j * P + i}`, t.subarray(o, o + s)));
    });
    m.set(`in${3 * P + 2}`, b.x);
    m.set(`in${3 * P + 3}`, b.t);
    b.masks.forEach((mk, i) => m.set(`in${3 * P + 4 + i}`, mk));
    return m;
  }

  private static same(key: Float32Array[], vs: Float32Array[]): boolean {
    return vs.every((v, j) => sameValues(key[j]!, v));
  }

  /** Prefix outputs for this (θ, d1, d2), computed once and kept until they change. */
  private async frontier(b: DataBatch, inputs: Map<string, TypedArray>): Promise<Map<string, TypedArray>> {
    const idx = this.batches.indexOf(b);
    let f = this.cache!.frontier.get(idx);
    if (!f) {
      f = new Map();
      const s = await this.session(b.n);
      if (s.prefix) {
        const g = this.program.graphs[b.n]!;
        const fixed = await this.sessions.fixedValues(b, (n) => inputs.get(n)!);
        const outs = await s.prefix.run(g.prefixInputs.map((n) => fixed.get(n) ?? inputs.get(n)!));
        s.prefix.outputs.forEach((o, i) => f!.set(o.name, outs[i]!));
        this.prefixRuns++;
      }
      this.cache!.frontier.set(idx, f);
    }
    return f;
  }

  /** Loss sums and correct counts at every point ([a0, b0, a1, b1, …]). */
  async sums(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<PlaneSums> {
    const total = points.length / 2;
    const lossSum = new Float64Array(total);
    const correct = new Float64Array(total);
    const K = this.program.K;
    const F = this.program.dtype === 'float64' ? Float64Array : Float32Array;
    const P = this.program.tensors.length;
    const perBatch = this.batches.map((b) => this.named(theta, d1, d2, b));
    const vs = [theta, d1, d2];
    if (!this.cache || !PlaneRunner.same(this.cache.key, vs)) {
      this.cache = { key: vs.map((v) => Float32Array.from(v)), frontier: new Map() };
    }
    for (let s = 0; s < total; s += K) {
      const m = Math.min(K, total - s);
      // the last group is padded with its final point (results discarded)
      const a = new F(K);
      const bb = new F(K);
      for (let k = 0; k < K; k++) {
        const q = s + Math.min(k, m - 1);
        a[k] = points[2 * q]!;
        bb[k] = points[2 * q + 1]!;
      }
      for (let bi = 0; bi < this.batches.length; bi++) {
        const batch = this.batches[bi]!;
        const inputs = perBatch[bi]!;
        const front = await this.frontier(batch, inputs);
        const fixed = await this.sessions.fixedValues(batch, (n) => inputs.get(n)!);
        inputs.set(`in${3 * P}`, a);
        inputs.set(`in${3 * P + 1}`, bb);
        const g = this.program.graphs[batch.n]!;
        const sess = await this.session(batch.n);
        const [l, c] = await sess.rest.run(g.restInputs.map((n) => front.get(n) ?? fixed.get(n) ?? inputs.get(n)!));
        // l: [K, n] per-sample losses, summed in float64
        for (let k = 0; k < m; k++) {
          let sum = 0;
          for (let i = 0; i < batch.n; i++) sum += l![k * batch.n + i] as number;
          lossSum[s + k]! += sum;
          correct[s + k]! += c![k] as number;
        }
      }
    }
    return { lossSum, correct };
  }

  /** Mean loss and accuracy (%) at every point. */
  async evaluate(theta: Float32Array, d1: Float32Array, d2: Float32Array, points: Float64Array): Promise<{ loss: Float64Array; acc: Float64Array }> {
    return planeValues(await this.sums(theta, d1, d2, points), this.program);
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
    this.cache = null;
  }
}

export function planeValues(s: PlaneSums, program: Pick<PlaneProgram, 'samples' | 'classify'>): { loss: Float64Array; acc: Float64Array } {
  const n = s.lossSum.length;
  const loss = new Float64Array(n);
  const acc = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    loss[k] = s.lossSum[k]! / program.samples;
    acc[k] = program.classify ? (100 * s.correct[k]!) / program.samples : Number.NaN;
  }
  return { loss, acc };
}
