/**
 * Sharpness of one checkpoint (API stub; the implementation follows).
 */
import type { LossEngine } from '../engine/engine.js';

export type ParamSelection = 'all' | 'ndim>1';

export interface SharpnessOptions {
  /** Box half-width factor of ε-sharpness: |δ_i| ≤ ε·(|θ_i| + 1) (default 1e-3). */
  epsilon?: number;
  /** Hutchinson probes for the trace (default 100). */
  traceProbes?: number;
  /** Lanczos relative residual tolerance (default 1e-6). */
  tol?: number;
  /** Tensors in the Hessian and the ε-box (default 'all'). */
  params?: ParamSelection;
  seed?: number;
}

export interface SharpnessResult {
  lambdaMax: number;
  lambdaMin: number;
  trace: number;
  traceStderr: number;
  /** Keskar et al. (2017) ε-sharpness in percent: 100·(max_δ L(θ+δ) − L(θ)) / (1 + L(θ)). */
  epsSharpness: number;
  /** L(θ), mean loss over the engine's data. */
  loss: number;
  /** Hessian-vector products used (Lanczos + Hutchinson). */
  hvps: number;
}

export async function sharpness(
  engine: LossEngine,
  theta: Float32Array,
  opts: SharpnessOptions = {},
): Promise<SharpnessResult> {
  void engine;
  void theta;
  void opts;
  throw new Error('sharpness: not implemented yet');
}
