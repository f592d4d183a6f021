/**
 * Spectral density by stochastic Lanczos quadrature, as PyHessian
 * (Ghorbani, Krishnan & Xiao 2019; Lin, Saad & Yang 2016):
 *
 *   φ(t) = (1/n) Σ_i δ(t − λ_i) ≈ (1/P) Σ_p Σ_j w_{p,j} g_σ(t − θ_{p,j}),
 *
 * where for each unit probe v_p (Rademacher / √n) Lanczos gives
 * T = S diag(θ) Sᵀ, the nodes θ_{p,j} and the Gauss quadrature weights
 * w_{p,j} = s_{1,j}² (Σ_j w_{p,j} = 1), so that Σ_j w θ^r = v_pᵀ H^r v_p
 * exactly for r < 2m; g_σ is a Gaussian of variance σ².
 *
 * PyHessian's choice of broadening is σ² = 1e-5 · max(1, width of the
 * spectrum); ours is the same. Its grid is the mean extreme node ± 0.01 and it
 * rescales the density to unit Riemann sum; ours covers every node ± 8σ (plus
 * 1% of the width) and is not rescaled, so ∫φ ≈ 1 holds by construction.
 */

import { Rng } from '../core/rng.js';
import { LanczosProcess } from './lanczos-process.js';
import type { SymOperator } from './operator.js';
import { symTridiagonalEigen } from './tridiagonal-eigen.js';

export interface SpectralDensityOptions {
  /** Number of probe vectors (PyHessian's n_v; default 1). */
  probes?: number;
  /** Lanczos steps per probe (default 90; capped at dim; stops early on an invariant subspace). */
  iterations?: number;
  /** Probe p is the p-th draw `new Rng(seed, 'density').rademacherVector(dim)`, scaled to unit norm (default seed 0). */
  seed?: number;
  /** Gaussian broadening σ (standard deviation); default √(1e-5 · max(1, width)). */
  sigma?: number;
  /** Points of the default grid (default 10000). */
  gridPoints?: number;
  /** Evaluate the density on this grid instead. */
  grid?: Float64Array;
}

export interface SpectralDensityResult {
  grid: Float64Array;
  /** φ on the grid; integrates to ≈ 1. */
  density: Float64Array;
  /** Ritz values θ_{p,j} per probe (ascending). */
  nodes: Float64Array[];
  /** Quadrature weights s_{1,j}² per probe (sum 1). */
  weights: Float64Array[];
  sigma: number;
  matvecs: number;
}

export const PYHESSIAN_SIGMA_SQUARED = 1e-5;

export async function spectralDensity(op: SymOperator, options: SpectralDensityOptions = {}): Promise<SpectralDensityResult> {
  const probes = Math.max(1, Math.floor(options.probes ?? 1));
  const iterations = Math.max(1, Math.min(op.dim, Math.floor(options.iterations ?? 90)));
  const rng = new Rng(options.seed ?? 0, 'density');

  const nodes: Float64Array[] = [];
  const weights: Float64Array[] = [];
  let matvecs = 0;
  for (let p = 0; p < probes; p++) {
    const quadrature = await lanczosQuadrature(op, rng.rademacherVector(op.dim), iterations, rng);
    nodes.push(quadrature.nodes);
    weights.push(quadrature.weights);
    matvecs += quadrature.matvecs;
  }

  let lo = Infinity;
  let hi = -Infinity;
  for (const theta of nodes) {
    for (const t of theta) {
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  }
  const width = hi - lo;
  const sigma = options.sigma ?? Math.sqrt(PYHESSIAN_SIGMA_SQUARED * Math.max(1, width));
  if (!(sigma > 0)) throw new Error(`sigma must be positive, got ${sigma}`);
  const pad = 8 * sigma + 0.01 * width;
  const grid = options.grid ?? linspace(lo - pad, hi + pad, Math.max(2, Math.floor(options.gridPoints ?? 10000)));
  const density = gaussianMixture(grid, nodes, weights, sigma);
  return { grid, density, nodes, weights, sigma, matvecs };
}

/** Gauss quadrature nodes/weights of the spectral measure of H seen from the unit vector v/‖v‖. */
async function lanczosQuadrature(
  op: SymOperator,
  v: Float64Array,
  iterations: number,
  rng: Rng,
): Promise<{ nodes: Float64Array; weights: Float64Array; matvecs: number }> {
  // No restart: at an invariant subspace the quadrature is already exact
  // (a new block would only add nodes of weight 0).
  const process = new LanczosProcess(op, v, { restart: false, rng });
  while (process.size < iterations && !process.exhausted) await process.step();
  const m = process.size;
  const { values, rows } = symTridiagonalEigen(process.alpha, process.beta.slice(0, m - 1), [0]);
  const weights = Float64Array.from(rows[0], (s) => s * s);
  return { nodes: values, weights, matvecs: process.matvecs };
}

/** φ(t) = (1/P) Σ_p Σ_j w_{p,j} exp(−(t − θ_{p,j})² / 2σ²) / √(2πσ²). */
function gaussianMixture(grid: Float64Array, nodes: Float64Array[], weights: Float64Array[], sigma: number): Float64Array {
  const density = new Float64Array(grid.length);
  const norm = 1 / (Math.sqrt(2 * Math.PI) * sigma * nodes.length);
  const inv2s2 = 1 / (2 * sigma * sigma);
  const cutoff = 40 * sigma * sigma; // exp(−20) relative: negligible
  for (let p = 0; p < nodes.length; p++) {
    const theta = nodes[p];
    const w = weights[p];
    for (let g = 0; g < grid.length; g++) {
      const t = grid[g];
      let s = 0;
      for (let j = 0; j < theta.length; j++) {
        const d2 = (t - theta[j]) ** 2;
        if (d2 < cutoff) s += w[j] * Math.exp(-d2 * inv2s2);
      }
      density[g] += s * norm;
    }
  }
  return density;
}

function linspace(a: number, b: number, count: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => a + ((b - a) * i) / (count - 1));
}
