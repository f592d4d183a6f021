/**
 * The sharpness columns of the study tables (comparison, pruning): λmax, λmin,
 * trace and ε-sharpness (src/hessian/sharpness.ts) with the study settings,
 * STUDY_SHARPNESS_DEFAULTS unless a config or the flags say otherwise.
 */
import { z } from 'zod';
import type { LossEngine } from '../engine/engine.js';
import { type SharpnessResult, STUDY_SHARPNESS_DEFAULTS, sharpness } from '../hessian/sharpness.js';

/** Options of the sharpness measures in study tables; false skips them. */
export interface StudySharpness {
  epsilon?: number;
  traceProbes?: number;
  tol?: number;
  params?: 'all' | 'ndim>1';
  seed?: number;
}

/** The `sharpness:` key of a study config. */
export const SharpnessSpec = z.union([
  z.literal(false),
  z
    .object({
      epsilon: z.number().positive().default(STUDY_SHARPNESS_DEFAULTS.epsilon),
      traceProbes: z.number().int().positive().default(STUDY_SHARPNESS_DEFAULTS.traceProbes),
      tol: z.number().positive().default(STUDY_SHARPNESS_DEFAULTS.tol),
      params: z.enum(['all', 'ndim>1']).default(STUDY_SHARPNESS_DEFAULTS.params),
      seed: z.number().int().min(0).default(STUDY_SHARPNESS_DEFAULTS.seed),
    })
    .strict(),
]);

/** Given settings over the defaults (false stays false). */
export function studySharpness(o: StudySharpness | false | undefined): StudySharpness | false {
  return o === false ? false : { ...STUDY_SHARPNESS_DEFAULTS, ...(o ?? {}) };
}

/** λmax, λmin, trace, ε-sharpness of θ on the engine's data (eval mode engines in the studies). */
export async function measureSharpness(engine: LossEngine, theta: Float32Array, opts: StudySharpness | false): Promise<SharpnessResult | null> {
  if (opts === false) return null;
  return sharpness(engine, theta, { ...STUDY_SHARPNESS_DEFAULTS, ...opts });
}
