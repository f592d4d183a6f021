/**
 * What every study config has, whatever its kind:
 *
 *   study: compare                 # the kind (config.ts lists them from the registry)
 *   name: bn-vs-none
 *   base: ./tiny-spirals.yaml      # a run config (path relative to this file, or inline)
 *   override: { … }                # optional partial changes to the base (all kinds)
 *   variants:                      # compare only: name → partial override of the base
 *     plain: {}
 *     batchnorm: { model: { batchNorm: true } }
 *   sharpness: { epsilon: 1e-3, traceProbes: 30, seed: 0 }   # or false
 *
 * The single-run kinds study `run: <folder>` (relative to this file) or a
 * `base` config that is trained first into <out>/run; their options sit under
 * a key named like the kind (`pca: { n: 31 }`, `prune: { sparsities: [0, 90] }`, …).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LosscapeError } from '../core/errors.js';
import { deepMerge } from './overrides.js';
import { SharpnessSpec } from './sharpness.js';

const Obj = z.record(z.string(), z.unknown());

/** The keys of a study config besides `study` and the kinds' options. */
export const COMMON_STUDY_KEYS = {
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
};

/** A validated study config: the common keys, the kind, and the kinds' options by name. */
export type StudyConfig = z.output<z.ZodObject<typeof COMMON_STUDY_KEYS>> & { study: string; [kind: string]: unknown };

export interface LoadedStudy {
  config: StudyConfig;
  /** Folder of the study file: relative paths inside it resolve against it. */
  dir: string;
  source: string;
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

/** The base run config with the study's `override` merged in (raw, unvalidated). */
export function overriddenBase(s: LoadedStudy): Record<string, unknown> {
  return deepMerge(rawBase(s), s.config.override ?? {}) as Record<string, unknown>;
}
