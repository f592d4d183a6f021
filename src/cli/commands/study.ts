import type { Command } from 'commander';
import { ConfigError } from '../../run/config.js';
import { StudyError } from '../../studies/common.js';
import type { StudySharpness } from '../../studies/run-access.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag, UsageError } from '../errors.js';

/** Input problems of a study (bad run folder, bad sizes, bad config) become one-line usage errors. */
export async function studyErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StudyError || e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export interface SharpnessFlags {
  sharpness: boolean;
  epsilon?: string;
  traceProbes?: string;
  hessianTol?: string;
  hessianParams?: string;
  sharpnessSeed?: string;
}

export function addSharpnessOptions(cmd: Command): Command {
  return cmd
    .option('--no-sharpness', 'skip λmax, trace and ε-sharpness')
    .option('--epsilon <ε>', 'ε of ε-sharpness (box |δ_i| ≤ ε(|θ_i| + 1))', '1e-3')
    .option('--trace-probes <n>', 'Hutchinson probes for the Hessian trace', '30')
    .option('--hessian-tol <tol>', 'Lanczos tolerance', '1e-4')
    .option('--hessian-params <which>', 'all or ndim>1', 'all')
    .option('--sharpness-seed <n>', 'seed of the sharpness measures', '0');
}

export function sharpnessFlags(f: SharpnessFlags): StudySharpness | false {
  if (!f.sharpness) return false;
  return {
    epsilon: numberFlag(f.epsilon, '--epsilon', { min: 0 }),
    traceProbes: numberFlag(f.traceProbes, '--trace-probes', { integer: true, min: 1 }),
    tol: numberFlag(f.hessianTol, '--hessian-tol', { min: 0 }),
    params: choiceFlag(f.hessianParams, '--hessian-params', ['all', 'ndim>1'] as const),
    seed: numberFlag(f.sharpnessSeed, '--sharpness-seed', { integer: true, min: 0 }),
  };
}

export function register(program: Command): void {
  void program;
  void contextOf;
}
