/**
 * The compiled ONNX programs of the onnxruntime engine, made from the jax-js objective
 * (objective.ts): the plane program (K grid points per call) and the HVP program, each split into
 * setup / prefix / rest graphs per data-batch size (GraphBuilder.toSplitModels), and the memory
 * budgets that choose K and the HVP sub-batch size.
 *
 * Graph inputs are named in0, in1, … in the objective's argument order (θ tensors, then d1, d2,
 * a, b for planes or v for HVPs, then x, targets, dropout masks).
 */
import { type DType, makeJaxpr, type numpy as np } from '@jax-js/jax';
import { ArgSpec, type CompiledSplit, compileToOnnx, compileToOnnxSplit } from '../../compile/compile.js';
import type { ParamLayout } from '../../core/layout.js';
import type { Model } from '../../model/model.js';
import type { DataBatch } from '../batches.js';
import type { InputReduction } from '../input-reduction.js';
import type { Objective } from '../objective.js';
import { type HvpProgram, subBatchSizes } from './hvp-runner.js';
import type { PlaneProgram } from './plane-runner.js';
import type { SplitGraphs } from './split-sessions.js';

/** What a program is compiled for: the model, its objective, the precision and the data batches. */
export interface ProgramTarget {
  model: Model;
  obj: Objective;
  dtype: 'float32' | 'float64';
  batches: readonly DataBatch[];
  samples: number;
  classify: boolean;
  /** onnxruntime's NCHWc block size for convolutions (0: plain ONNX convs). */
  nchwcBlock: number;
  /** Weight-gradient convs of HVP graphs as Gemms (`compileToOnnx`'s weightGradGemm; default: kernels up to 3×3). */
  hvpWeightGradGemm?: boolean;
  /** Every compiled graph is recorded here by name (for workers and inspection). */
  graphs: Map<string, Uint8Array>;
}

/** Argument specs of the objective's functions for `n` samples. */
export class ArgSpecs {
  constructor(readonly dtype: 'float32' | 'float64') {}

  of(shape: number[]): ArgSpec {
    return new ArgSpec(shape, this.dtype as DType);
  }

  params(layout: ParamLayout): ArgSpec[] {
    return layout.entries.map((e) => this.of(e.shape));
  }

  /** x [n, …input], targets [n, outputs], one mask per dropout site. */
  data(model: Model, n: number): [ArgSpec, ArgSpec, ArgSpec[]] {
    return [this.of([n, ...model.inputShape]), this.of([n, model.outputDim]), model.dropoutSites.map((s) => this.of([n, ...s.shape]))];
  }
}

/** The flat argument indices from, from + 1, …, to − 1 (the `vary` and `fixed` leaves of a split compile). */
export function leafRange(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function bytesPer(dtype: 'float32' | 'float64'): number {
  return dtype === 'float64' ? 8 : 4;
}

/**
 * Grid points per plane call: as many as keep the intermediates of one call within `budgetMB`
 * (measured from the first batch's forward jaxpr), at least 4 and at most 32.
 */
export function choosePlaneBatch(t: ProgramTarget, budgetMB: number): number {
  const specs = new ArgSpecs(t.dtype);
  const n = t.batches[0]!.n;
  const { jaxpr } = makeJaxpr(t.obj.metrics as (...a: unknown[]) => np.Array[])(specs.params(t.model.layout), ...specs.data(t.model, n));
  let elems = 0;
  for (const e of jaxpr.jaxpr.eqns) for (const o of e.outBinders) elems += o.aval.size;
  jaxpr.dispose();
  const bytes = elems * bytesPer(t.dtype);
  return Math.max(4, Math.min(32, Math.floor((budgetMB * 2 ** 20) / Math.max(1, bytes))));
}

function splitGraphsOf(c: CompiledSplit): SplitGraphs {
  return { setup: c.setup, setupInputs: c.setupInputs, prefix: c.prefix, prefixInputs: c.prefixInputs, rest: c.rest, restInputs: c.restInputs };
}

function record(t: ProgramTarget, key: string, c: CompiledSplit): void {
  if (c.setup) t.graphs.set(`${key}.setup`, c.setup);
  if (c.prefix) t.graphs.set(`${key}.prefix`, c.prefix);
  t.graphs.set(key, c.rest);
}

/**
 * The plane program: per batch size, the plane graph with K points per call, split so that what
 * does not depend on the grid coordinates runs once per (θ, d1, d2) (`hoist`, default) or unsplit.
 */
export function compilePlaneProgram(t: ProgramTarget, K: number, hoist: boolean): PlaneProgram {
  const specs = new ArgSpecs(t.dtype);
  const graphs: Record<number, SplitGraphs> = {};
  const P = t.model.layout.entries.length;
  for (const b of t.batches) {
    if (graphs[b.n]) continue;
    const p = specs.params(t.model.layout);
    const k = specs.of([K]);
    const args = [p, p, p, k, k, ...specs.data(t.model, b.n)];
    const key = `plane:${b.n}`;
    const fn = t.obj.plane as (...a: unknown[]) => unknown;
    if (!hoist) {
      const c = compileToOnnx(fn, args, { graphName: key, nchwcBlock: t.nchwcBlock });
      t.graphs.set(key, c.model);
      graphs[b.n] = { prefix: null, prefixInputs: [], rest: c.model, restInputs: c.inputs.map((i) => i.name) };
      continue;
    }
    const c = compileToOnnxSplit(fn, args, leafRange(3 * P, 3 * P + 2), {
      graphName: key,
      nchwcBlock: t.nchwcBlock,
      fixed: leafRange(3 * P + 2, args.flat().length), // the data
    });
    record(t, key, c);
    graphs[b.n] = splitGraphsOf(c);
  }
  return {
    K,
    dtype: t.dtype,
    tensors: t.model.layout.entries.map((e) => [e.offset, e.size]),
    samples: t.samples,
    classify: t.classify,
    graphs,
  };
}

export interface HvpProgramOptions {
  /** The model without its dead input features and the reduction (input-reduction.ts), or null. */
  reduced: { model: Model; obj: Objective; reduction: InputReduction } | null;
  /** Samples per HVP call; default: chosen by `memoryMB`. */
  batch?: number;
  /** Budget of the bytes one HVP call reads besides v (default 40 MB). */
  memoryMB?: number;
}

/**
 * The HVP program: per sub-batch size, the HVP graph split into a θ-only prefix and the per-v
 * rest (what depends on the data alone in a setup graph). Without an explicit `batch`, batches
 * whose hoisted inputs (the prefix's outputs and the samples) exceed the budget run as
 * near-equal sub-batches within it.
 */
export function compileHvpProgram(t: ProgramTarget, o: HvpProgramOptions): HvpProgram {
  const specs = new ArgSpecs(t.dtype);
  const model = o.reduced?.model ?? t.model;
  const obj = o.reduced?.obj ?? t.obj;
  const p = specs.params(model.layout);
  const P = p.length;
  const compile = (n: number) => {
    const args = [p, p, ...specs.data(model, n)];
    return compileToOnnxSplit(obj.hvp as (...a: unknown[]) => unknown, args, leafRange(P, 2 * P), {
      graphName: `hvp:${n}`,
      nchwcBlock: t.nchwcBlock,
      // weight gradients of convs with kernels up to 3×3 (ResNet-style nets; measured 2× per
      // ResNet-18 HVP): one Gemm per kernel position; larger kernels keep their (NCHWc) Conv,
      // measured faster for the bench CNN's 5×5 kernels
      weightGradGemm: t.hvpWeightGradGemm === false ? false : 9,
      // the data: what depends on it alone (the first conv's unfolded patches) runs once per batch
      fixed: leafRange(2 * P, args.flat().length),
    });
  };
  const n0 = t.batches[0]!.n;
  let first: CompiledSplit | undefined;
  let batch = o.batch;
  if (batch === undefined) {
    first = compile(n0);
    const shapes = [...first.frontier, ...first.fixedOutputs, ...specs.data(model, n0).flat()].map((a) => a.shape);
    const bytes = shapes.reduce((acc, sh) => acc + sh.reduce((x, y) => x * y, 1), 0) * bytesPer(t.dtype);
    batch = Math.ceil(n0 / Math.max(1, Math.ceil(bytes / ((o.memoryMB ?? 40) * 2 ** 20))));
  }
  batch = Math.max(1, Math.floor(batch));
  const graphs: Record<number, SplitGraphs> = {};
  for (const b of t.batches) {
    for (const m of subBatchSizes(b.n, batch)) {
      if (graphs[m]) continue;
      const c = m === n0 && first ? first : compile(m);
      record(t, `hvp:${m}`, c);
      graphs[m] = splitGraphsOf(c);
    }
  }
  const red = o.reduced?.reduction;
  return {
    dtype: t.dtype,
    tensors: model.layout.entries.map((e) => [e.offset, e.size]),
    size: model.layout.size,
    layout: t.model.layout,
    reduction: red ? { columns: red.columns, features: red.features, keep: red.keep, dropped: red.dropped } : undefined,
    samples: t.samples,
    batch,
    graphs,
  };
}
