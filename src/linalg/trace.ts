/**
 * Hutchinson's trace estimator (Hutchinson 1990; Avron & Toledo 2011):
 * for Rademacher z (i.i.d. ±1), E[zᵀ H z] = tr(H), with
 * Var[zᵀ H z] = 2 Σ_{i≠j} H_ij² (the smallest variance among i.i.d. probes).
 * The estimate is the sample mean over probes, its standard error
 * s/√p with s the sample standard deviation (p − 1 in the denominator).
 */

import { Rng } from '../core/rng.js';
import { applyOperator, type SymOperator } from './operator.js';
import { dot } from './vector.js';

export interface HutchinsonOptions {
  /** Maximum number of probes (default 100). */
  probes?: number;
  seed?: number;
  /** Stop early once stderr / |mean| < tol (checked from minProbes on). */
  tol?: number;
  /** Probes before the early-stopping test applies (default 10). */
  minProbes?: number;
}

export interface HutchinsonResult {
  /** Sample mean of zᵀ H z. */
  trace: number;
  /** Standard error of the mean (0 with a single probe). */
  stderr: number;
  /** Probes used. */
  probes: number;
  matvecs: number;
  /** zᵀ H z per probe. */
  samples: Float64Array;
}

export async function hutchinsonTrace(op: SymOperator, options: HutchinsonOptions = {}): Promise<HutchinsonResult> {
  const maxProbes = Math.max(1, Math.floor(options.probes ?? 100));
  const minProbes = Math.max(2, Math.floor(options.minProbes ?? 10));
  const rng = new Rng(options.seed ?? 0, 'trace');
  const samples: number[] = [];
  let stats = { mean: 0, stderr: 0 };
  while (samples.length < maxProbes) {
    const z = rng.rademacherVector(op.dim);
    samples.push(dot(z, await applyOperator(op, z)));
    stats = meanAndStderr(samples);
    if (options.tol !== undefined && samples.length >= minProbes && stats.stderr < options.tol * Math.abs(stats.mean)) {
      break;
    }
  }
  return {
    trace: stats.mean,
    stderr: stats.stderr,
    probes: samples.length,
    matvecs: samples.length,
    samples: Float64Array.from(samples),
  };
}

/** Sample mean and standard error s/√p (two-pass for accuracy). */
function meanAndStderr(x: readonly number[]): { mean: number; stderr: number } {
  const p = x.length;
  const mean = x.reduce((a, b) => a + b, 0) / p;
  if (p < 2) return { mean, stderr: 0 };
  const ss = x.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, stderr: Math.sqrt(ss / (p - 1) / p) };
}
