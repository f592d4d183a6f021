/**
 * Study configs: one YAML/JSON file per research question, validated with zod.
 *
 *   study: compare                 # compare | pca | modes | prune | variability | fidelity | taylor
 *   name: bn-vs-none
 *   base: ./tiny-spirals.yaml      # a run config (path relative to this file, or inline)
 *   override: { … }                # optional partial changes to the base (all kinds)
 *   variants:                      # compare only: name → partial override of the base
 *     plain: {}
 *     batchnorm: { model: { batchNorm: true } }
 *   sharpness: { epsilon: 1e-3, traceProbes: 30, seed: 0 }   # or false
 *
 * The other kinds study one run: `run: <folder>` (relative to this file) or a
 * `base` config that is trained first into <out>/run; their options sit under
 * a key named like the kind (`pca: { n: 31 }`, `prune: { sparsities: [0, 90] }`, …).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LosscapeError } from '../core/errors.js';

export const STUDY_KINDS = ['compare', 'pca', 'modes', 'prune', 'variability', 'fidelity', 'taylor'] as const;
export type StudyKind = (typeof STUDY_KINDS)[number];

const Axis = z.string();
const Backend = z.enum(['auto', 'jax', 'onnx']).optional();
const Checkpoint = z.number().int().min(0).optional();

export const SharpnessSpec = z.union([
  z.literal(false),
  z
    .object({
      epsilon: z.number().positive().default(1e-3),
      traceProbes: z.number().int().positive().default(30),
      tol: z.number().positive().default(1e-4),
      params: z.enum(['all', 'ndim>1']).default('all'),
      seed: z.number().int().min(0).default(0),
    })
    .strict(),
]);

const Obj = z.record(z.string(), z.unknown());

export const PcaSpec = z
  .object({
    ignore: z.enum(['biasbn', 'none']).default('biasbn'),
    n: z.number().int().min(2).default(31),
    margin: z.number().min(0).default(0.25),
    x: Axis.optional(),
    y: Axis.optional(),
    center: z.boolean().default(true),
    backend: Backend,
  })
  .strict();

export const ModesSpec = z.object({ checkpoint: Checkpoint, x: Axis.optional(), y: Axis.optional(), backend: Backend }).strict();

export const PruneSpec = z
  .object({
    sparsities: z.array(z.number().min(0).max(100)).min(1).default([0, 50, 80, 90]),
    scope: z.enum(['global', 'layer']).default('global'),
    finetune: z.number().int().min(0).default(0),
    lr: z.number().positive().optional(),
    checkpoint: Checkpoint,
    x: Axis.optional(),
    y: Axis.optional(),
    backend: Backend,
  })
  .strict();

export const VariabilitySpec = z
  .object({
    count: z.number().int().min(2).default(5),
    seeds: z.array(z.number().int().min(0)).min(2).optional(),
    radius: z.number().positive().default(0.5),
    checkpoint: Checkpoint,
    x: Axis.optional(),
    y: Axis.optional(),
    backend: Backend,
  })
  .strict();

export const FidelitySpec = z
  .object({
    sizes: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .default(['1%', '2%', '5%', '10%', '20%']),
    seeds: z.array(z.number().int().min(0)).min(1).optional(),
    checkpoint: Checkpoint,
    x: Axis.optional(),
    y: Axis.optional(),
    backend: Backend,
  })
  .strict();

export const TaylorSpec = z
  .object({
    tol: z.number().positive().default(0.1),
    dtype: z.enum(['float32', 'float64']).default('float32'),
    checkpoint: Checkpoint,
    x: Axis.optional(),
    y: Axis.optional(),
    backend: Backend,
  })
  .strict();

export const StudyConfig = z
  .object({
    study: z.enum(STUDY_KINDS).optional(),
    name: z
      .string()
      .regex(/^[\w.-]+$/, 'use letters, digits, ".", "_" or "-"')
      .default('study'),
    description: z.string().optional(),
    /** A run config: a path (relative to the study file) or the config itself. */
    base: z.union([z.string(), Obj]).optional(),
    /** Partial changes to the base (deep merge). */
    override: Obj.optional(),
    /** An existing run folder (relative to the study file). */
    run: z.string().optional(),
    variants: z.record(z.string().regex(/^[\w.-]+$/, 'variant names: letters, digits, ".", "_" or "-"'), Obj).optional(),
    sharpness: SharpnessSpec.optional(),
    /** compare: write <out>/report.html (the viewer with all variants side by side). */
    report: z.boolean().default(true),
    pca: PcaSpec.optional(),
    modes: ModesSpec.optional(),
    prune: PruneSpec.optional(),
    variability: VariabilitySpec.optional(),
    fidelity: FidelitySpec.optional(),
    taylor: TaylorSpec.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const kind = c.study ?? (c.variants ? 'compare' : undefined);
    if (!kind) {
      ctx.addIssue({ code: 'custom', path: ['study'], message: `say which study: one of ${STUDY_KINDS.join(', ')}` });
      return;
    }
    if (kind === 'compare') {
      if (!c.base) ctx.addIssue({ code: 'custom', path: ['base'], message: 'a comparison needs a base run config' });
      if (!c.variants || Object.keys(c.variants).length < 1)
        ctx.addIssue({ code: 'custom', path: ['variants'], message: 'give at least one variant (name: partial override)' });
      if (c.run)
        ctx.addIssue({ code: 'custom', path: ['run'], message: 'a comparison trains its variants from the base config; "run" is for the single-run studies' });
    } else {
      if (c.variants) ctx.addIssue({ code: 'custom', path: ['variants'], message: `variants belong to "study: compare", not "${kind}"` });
      if (Boolean(c.run) === Boolean(c.base))
        ctx.addIssue({ code: 'custom', path: ['run'], message: 'give either "run" (an existing run folder) or "base" (a run config to train first)' });
    }
    for (const k of STUDY_KINDS) {
      if (k !== 'compare' && k !== kind && c[k]) ctx.addIssue({ code: 'custom', path: [k], message: `options for "${k}" in a "${kind}" study` });
    }
  });

export type StudyConfig = z.infer<typeof StudyConfig> & { study: StudyKind };

export interface LoadedStudy {
  config: StudyConfig;
  /** Folder of the study file: relative paths inside it resolve against it. */
  dir: string;
  source: string;
}

export function parseStudyConfig(raw: unknown, source = 'study', dir = '.'): LoadedStudy {
  const r = StudyConfig.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new LosscapeError('config', lines.join('\n'));
  }
  const config = { ...r.data, study: r.data.study ?? 'compare' } as StudyConfig;
  return { config, dir, source };
}

export function loadStudyFile(path: string): LoadedStudy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LosscapeError('config', `${path}: cannot read the study config`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new LosscapeError('config', `${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new LosscapeError('config', `${path}: the study config must be a mapping (study, name, base, variants, …)`);
  return parseStudyConfig(raw, path, dirname(resolve(path)));
}

/** A path from a study file, resolved against the file's folder. */
export function studyPath(s: LoadedStudy, p: string): string {
  return isAbsolute(p) ? p : resolve(s.dir, p);
}

/** The raw (unvalidated) base run config: a file's contents or the inline object. */
export function rawBase(s: LoadedStudy): Record<string, unknown> {
  const b = s.config.base;
  if (b === undefined) return {};
  if (typeof b !== 'string') return structuredClone(b);
  const path = studyPath(s, b);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LosscapeError('config', `${s.source}: base: cannot read ${path}`);
  }
  try {
    const raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a mapping');
    return raw as Record<string, unknown>;
  } catch (e) {
    throw new LosscapeError('config', `${s.source}: base: ${path} is not a valid run config (${(e as Error).message.split('\n')[0]})`);
  }
}
