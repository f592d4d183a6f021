/**
 * onnxruntime sessions of split graphs (GraphBuilder.toSplitModels), per data-batch size: a
 * `setup` graph for what depends on the data alone (run once per batch and kept), a `prefix`
 * for what depends on the fixed inputs of a call sequence (θ, d1, d2 of a plane; θ of HVPs) and
 * the `rest`, run per call. Plane and HVP runners both run on them.
 */
import type { DataBatch } from '../batches.js';
import { OrtFunction, type TypedArray } from './runner.js';

export interface SplitGraphs {
  /** Run once per data batch (what depends on the data alone); its outputs feed prefix and rest by name. */
  setup?: Uint8Array | null;
  setupInputs?: string[];
  prefix: Uint8Array | null;
  prefixInputs: string[];
  rest: Uint8Array;
  restInputs: string[];
}

export interface RunnerOptions {
  threads?: number;
  device?: 'cpu' | 'cuda';
}

export interface Sessions {
  setup: OrtFunction | null;
  prefix: OrtFunction | null;
  rest: OrtFunction;
}

/** onnxruntime sessions of split graphs (prefix + rest) by data-batch size, created on first use. */
export class SplitSessions {
  private readonly byBatch = new Map<number, Promise<Sessions>>();
  /** Setup runs so far (one per data batch with a setup graph). */
  setupRuns = 0;

  constructor(
    private readonly graphs: Record<number, SplitGraphs>,
    private readonly opts: RunnerOptions,
    private readonly what: string,
  ) {}

  get(n: number): Promise<Sessions> {
    let s = this.byBatch.get(n);
    if (!s) {
      const g = this.graphs[n];
      if (!g) throw new Error(`no ${this.what} graph for batches of ${n}`);
      s = (async () => ({
        setup: g.setup ? await OrtFunction.create(g.setup, this.opts) : null,
        prefix: g.prefix ? await OrtFunction.create(g.prefix, this.opts) : null,
        rest: await OrtFunction.create(g.rest, this.opts),
      }))();
      this.byBatch.set(n, s);
    }
    return s;
  }

  /** Create every batch size's sessions now (so that the first call is not slower). */
  async warm(batches: readonly { n: number }[]): Promise<void> {
    for (const b of batches) await this.get(b.n);
  }

  async dispose(): Promise<void> {
    for (const p of this.byBatch.values()) {
      // sessions that failed to load have nothing to release (their error went to the caller)
      const s = await p.catch(() => null);
      if (!s) continue;
      await s.setup?.dispose();
      await s.prefix?.dispose();
      await s.rest.dispose();
    }
    this.byBatch.clear();
    this.fixed.clear();
  }

  private readonly fixed = new Map<DataBatch, Promise<Map<string, TypedArray>>>();

  /**
   * The setup graph's outputs for a data batch (computed on first use, kept: the data never
   * change), by name; empty without a setup graph. `inputs` gives the batch's data inputs by name.
   */
  fixedValues(b: DataBatch, inputs: (name: string) => TypedArray): Promise<Map<string, TypedArray>> {
    let f = this.fixed.get(b);
    if (!f) {
      f = (async () => {
        const out = new Map<string, TypedArray>();
        const s = await this.get(b.n);
        if (s.setup) {
          const g = this.graphs[b.n]!;
          const vals = await s.setup.run((g.setupInputs ?? []).map(inputs));
          this.setupRuns++;
          s.setup.outputs.forEach((o, i) => out.set(o.name, vals[i]!));
        }
        return out;
      })();
      this.fixed.set(b, f);
    }
    return f;
  }
}
