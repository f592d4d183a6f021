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
import { OrtFunction, type TypedArray } from './onnx/runner.js';
import type { PlaneBatch, PlaneGraphs, RunnerOptions } from './plane-runner.js';

export interface HvpProgram {
  dtype: 'float32' | 'float64';
  /** [offset, size] of every parameter tensor in θ. */
  tensors: [number, number][];
  /** Length of θ. */
  size: number;
  samples: number;
  /** Split graphs by batch size. */
  graphs: Record<number, PlaneGraphs>;
}

interface Sessions {
  prefix: OrtFunction | null;
  rest: OrtFunction;
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

export class HvpRunner {
  private readonly sessions = new Map<number, Promise<Sessions>>();
  private cache: { theta: Float32Array | Float64Array; frontier: Map<number, Map<string, TypedArray>> } | null = null;
  /** Prefix runs so far (one per distinct θ and batch). */
  prefixRuns = 0;

  constructor(
    readonly program: HvpProgram,
    readonly batches: PlaneBatch[],
    readonly opts: RunnerOptions = {},
  ) {}

  private session(n: number): Promise<Sessions> {
    let s = this.sessions.get(n);
    if (!s) {
      const g = this.program.graphs[n];
      if (!g) throw new Error(`HvpRunner: no HVP graph for batches of ${n}`);
      s = (async () => ({
        prefix: g.prefix ? await OrtFunction.create(g.prefix, this.opts) : null,
        rest: await OrtFunction.create(g.rest, this.opts),
      }))();
      this.sessions.set(n, s);
    }
    return s;
  }

  async warm(): Promise<void> {
    for (const b of this.batches) await this.session(b.n);
  }

  /** H(θ)·v of the mean loss (float64). */
  async hvp(theta: ArrayLike<number>, v: ArrayLike<number>): Promise<Float64Array> {
    const F = this.program.dtype === 'float64' ? Float64Array : Float32Array;
    const th = theta instanceof F ? theta : F.from(theta);
    const vv = v instanceof F ? v : F.from(v);
    if (!this.cache || !sameValues(this.cache.theta, th)) this.cache = { theta: F.from(th), frontier: new Map() };
    const P = this.program.tensors.length;
    const out = new Float64Array(this.program.size);
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
      let front = this.cache.frontier.get(bi);
      if (!front) {
        front = new Map();
        if (s.prefix) {
          const outs = await s.prefix.run(g.prefixInputs.map((n) => named.get(n)!));
          s.prefix.outputs.forEach((o, i) => front!.set(o.name, outs[i]!));
          this.prefixRuns++;
        }
        this.cache.frontier.set(bi, front);
      }
      const parts = await s.rest.run(g.restInputs.map((n) => front!.get(n) ?? named.get(n)!));
      this.program.tensors.forEach(([o, n], k) => {
        const d = parts[k]!;
        for (let i = 0; i < n; i++) out[o + i]! += d[i] as number;
      });
    }
    for (let i = 0; i < out.length; i++) out[i]! /= this.program.samples;
    return out;
  }

  async dispose(): Promise<void> {
    for (const p of this.sessions.values()) {
      const s = await p;
      await s.prefix?.dispose();
      await s.rest.dispose();
    }
    this.sessions.clear();
    this.cache = null;
  }
}
