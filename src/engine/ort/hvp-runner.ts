/**
 * Hessian-vector products with compiled ONNX graphs only (no jax-js): what the OrtEngine runs
 * on its own thread and what the workers of a pool run (pool.ts).
 *
 * The HVP graph (jvp of grad of the loss sum) is split (GraphBuilder.toSplitModels): `prefix`
 * computes everything that depends on θ and the data only (forward pass, primal backward pass,
 * ReLU / pooling masks) and runs once per θ; `rest` computes H·v from v and the prefix's
 * outputs. Lanczos calls H·v dozens of times at one θ, so the prefix is paid once per grid
 * point. Inputs are named in0, in1, …: θ tensors, v tensors, x, targets, dropout masks.
 */
import type { ParamLayout } from '../../core/layout.js';
import { sameValues } from '../../core/values.js';
import type { DataBatch } from '../batches.js';
import type { InputReduction } from '../input-reduction.js';
import { reduceSamples } from '../input-reduction.js';
import type { TypedArray } from './runner.js';
import { type RunnerOptions, type Sessions, type SplitGraphs, SplitSessions } from './split-sessions.js';

export interface HvpProgram {
  dtype: 'float32' | 'float64';
  /** [offset, size] of every parameter tensor of the graphs' θ (the reduced θ with a reduction). */
  tensors: [number, number][];
  /** Length of the graphs' θ. */
  size: number;
  /** The model's layout (names, shapes, roles: what a worker needs to select Hessian parameters). */
  layout: ParamLayout;
  /**
   * Dead input features dropped (input-reduction.ts): the graphs are the reduced model's; θ and v
   * come in full, their `keep` coordinates go in, and H·v is zero at the others.
   */
  reduction?: Pick<InputReduction, 'columns' | 'features' | 'keep' | 'dropped'>;
  samples: number;
  /**
   * Samples per call: data batches larger than this run as near-equal sub-batches
   * (`hvpSubBatches`), so that one call's hoisted inputs stay near the cache.
   */
  batch: number;
  /** Split graphs by batch size (the sub-batch sizes). */
  graphs: Record<number, SplitGraphs>;
}

/** Sizes of the near-equal parts of n samples with at most `batch` per part (largest first). */
export function subBatchSizes(n: number, batch: number): number[] {
  const k = Math.max(1, Math.ceil(n / Math.max(1, batch)));
  const size = Math.ceil(n / k);
  return Array.from({ length: k }, (_, i) => Math.min(size, n - i * size)).filter((m) => m > 0);
}

/** The data batches cut into sub-batches of at most `batch` samples (copies, in order). */
export function hvpSubBatches(batches: DataBatch[], batch: number): DataBatch[] {
  return batches.flatMap((b) => {
    const sizes = subBatchSizes(b.n, batch);
    if (sizes.length === 1) return [b];
    const cut = (a: Float32Array | Float64Array, from: number, m: number) => {
      const per = a.length / b.n;
      return a.slice(from * per, (from + m) * per);
    };
    let from = 0;
    return sizes.map((m) => {
      const part = { n: m, x: cut(b.x, from, m), t: cut(b.t, from, m), masks: b.masks.map((a) => cut(a, from, m)) };
      from += m;
      return part;
    });
  });
}

/** out[i] = src[i] (out's precision). */
function copyInto(out: Float32Array | Float64Array, src: Float64Array): void {
  if (out instanceof Float32Array) for (let i = 0; i < src.length; i++) out[i] = src[i]!;
  else out.set(src);
}

/** out[i] = src[index[i]] (out's precision). */
function gatherInto<T extends Float32Array | Float64Array>(out: T, src: ArrayLike<number>, index: Int32Array): T {
  for (let i = 0; i < index.length; i++) out[i] = src[index[i]!]!;
  return out;
}

/** out[o + i] = d[i] / c (one batch: the sum is the batch's). */
function divideInto(out: Float64Array, o: number, d: Float32Array | Float64Array, n: number, c: number): void {
  if (d instanceof Float32Array) divide32(out, o, d, n, c);
  else for (let i = 0; i < n; i++) out[o + i] = d[i]! / c;
}

function divide32(out: Float64Array, o: number, d: Float32Array, n: number, c: number): void {
  for (let i = 0; i < n; i++) out[o + i] = d[i]! / c;
}

/** out[o + i] += d[i]. */
function addInto(out: Float64Array, o: number, d: Float32Array | Float64Array, n: number): void {
  if (d instanceof Float32Array) for (let i = 0; i < n; i++) out[o + i]! += d[i]!;
  else for (let i = 0; i < n; i++) out[o + i]! += d[i]!;
}

export class HvpRunner {
  private readonly sessions: SplitSessions;
  private cache: { theta: Float32Array | Float64Array; frontier: Map<number, Map<string, TypedArray>> } | null = null;
  /** Prefix runs so far (one per distinct θ and batch). */
  prefixRuns = 0;
  /** Setup runs so far (one per batch: what depends on the data alone). */
  get setupRuns(): number {
    return this.sessions.setupRuns;
  }

  readonly batches: DataBatch[];

  constructor(
    readonly program: HvpProgram,
    batches: DataBatch[],
    readonly opts: RunnerOptions = {},
  ) {
    this.sessions = new SplitSessions(program.graphs, opts, 'HVP');
    const red = program.reduction;
    const reduced = red ? batches.map((b) => ({ ...b, x: reduceSamples(b.x, b.n, red.features, red.columns) })) : batches;
    this.batches = hvpSubBatches(reduced, program.batch);
  }

  private session(n: number): Promise<Sessions> {
    return this.sessions.get(n);
  }

  async warm(): Promise<void> {
    await this.sessions.warm(this.batches);
  }

  /** v rounded to the graphs' precision (reused between calls). */
  private vBuf: Float32Array | Float64Array | null = null;

  /** H(θ)·v of the mean loss (float64; θ and v in the full layout). */
  async hvp(theta: ArrayLike<number>, v: ArrayLike<number>): Promise<Float64Array> {
    const keep = this.program.reduction?.keep;
    if (!keep) return this.run(this.weights(theta), v);
    const F = this.program.dtype === 'float64' ? Float64Array : Float32Array;
    const out = await this.run(this.weights(theta), gatherInto(new F(keep.length), v, keep));
    const full = new Float64Array(this.program.layout.size);
    for (let i = 0; i < keep.length; i++) full[keep[i]!] = out[i]!;
    return full;
  }

  /**
   * H(θ)·v for one θ and many v given on `coordinates` only (the kept coordinates of a reduction,
   * else all): what a Lanczos run calls, without scattering to and gathering from the full layout.
   */
  at(theta: ArrayLike<number>): { coordinates: Int32Array | null; hvp(v: Float64Array, out?: Float64Array): Promise<Float64Array> } {
    const th = this.weights(theta);
    return { coordinates: this.program.reduction?.keep ?? null, hvp: (v, out) => this.run(th, v, out) };
  }

  /** The graphs' θ (the kept coordinates with a reduction) in their precision; the prefix cache follows it. */
  private weights(theta: ArrayLike<number>): Float32Array | Float64Array {
    const F = this.program.dtype === 'float64' ? Float64Array : Float32Array;
    const keep = this.program.reduction?.keep;
    const th = keep ? gatherInto(new F(keep.length), theta, keep) : theta instanceof F ? theta : F.from(theta);
    // compared by value (a caller may refill the same array): the prefix outputs are reused only for the same weights
    if (!this.cache || !sameValues(this.cache.theta, th)) this.cache = { theta: th === theta ? F.from(th) : th, frontier: new Map() };
    return this.cache.theta;
  }

  /** Calls run one at a time: they share the input buffer and the prefix cache. */
  private queue: Promise<unknown> = Promise.resolve();

  /** H·v on the graphs' coordinates (θ from `weights`). */
  private run(th: Float32Array | Float64Array, v: ArrayLike<number>, into?: Float64Array): Promise<Float64Array> {
    const r = this.queue.then(() => this.runNow(th, v, into));
    this.queue = r.catch(() => undefined);
    return r;
  }

  private async runNow(th: Float32Array | Float64Array, v: ArrayLike<number>, into?: Float64Array): Promise<Float64Array> {
    const F = this.program.dtype === 'float64' ? Float64Array : Float32Array;
    if (!this.cache || this.cache.theta !== th) {
      // another θ ran in between: make th current again
      this.cache = { theta: th, frontier: new Map() };
    }
    let vv: Float32Array | Float64Array;
    // (onnxruntime takes no views of shared memory: those are copied, as other precisions are)
    if (v instanceof F && !(typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer)) vv = v;
    else {
      if (!this.vBuf || this.vBuf.length !== this.program.size) this.vBuf = new F(this.program.size);
      vv = this.vBuf;
      if (v instanceof Float64Array) copyInto(vv, v);
      else if (v instanceof Float32Array && vv instanceof Float32Array) vv.set(v);
      else for (let i = 0; i < v.length; i++) vv[i] = v[i]!;
    }
    const P = this.program.tensors.length;
    const out = into && into.length === this.program.size ? into : new Float64Array(this.program.size);
    if (out === into && this.batches.length > 1) out.fill(0);
    const single = this.batches.length === 1;
    for (let bi = 0; bi < this.batches.length; bi++) {
      const b = this.batches[bi]!;
      const g = this.program.graphs[b.n]!;
      const s = await this.session(b.n);
      const named = new Map<string, TypedArray>();
      this.program.tensors.forEach(([o, n], i) => {
        named.set(`in${i}`, th.subarray(o, o + n));
        named.set(`in${P + i}`, vv.subarray(o, o + n));
      });
      [b.x, b.t, ...b.masks].forEach((a, i) => named.set(`in${2 * P + i}`, a));
      const fixed = await this.sessions.fixedValues(b, (n) => named.get(n)!);
      let front = this.cache.frontier.get(bi);
      if (!front) {
        front = new Map();
        if (s.prefix) {
          const outs = await s.prefix.run(g.prefixInputs.map((n) => fixed.get(n) ?? named.get(n)!));
          s.prefix.outputs.forEach((o, i) => front!.set(o.name, outs[i]!));
          this.prefixRuns++;
        }
        this.cache.frontier.set(bi, front);
      }
      const parts = await s.rest.run(g.restInputs.map((n) => front!.get(n) ?? fixed.get(n) ?? named.get(n)!));
      this.program.tensors.forEach(([o, n], k) => {
        const d = parts[k]!;
        if (single) divideInto(out, o, d as Float32Array | Float64Array, n, this.program.samples);
        else addInto(out, o, d as Float32Array | Float64Array, n);
      });
    }
    if (!single) for (let i = 0; i < out.length; i++) out[i]! /= this.program.samples;
    return out;
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
    this.cache = null;
  }
}
