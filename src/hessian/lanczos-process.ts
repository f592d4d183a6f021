/**
 * The Lanczos three-term recurrence with full reorthogonalization
 * (Golub & Van Loan §10.1; Paige 1972):
 *
 *   H q_j = β_{j−1} q_{j−1} + α_j q_j + β_j q_{j+1},
 *
 * i.e. H Q_m = Q_m T_m + β_m q_{m+1} e_mᵀ with T_m = tridiag(β, α, β).
 * In floating point the q_j lose orthogonality as Ritz values converge, so
 * each new vector is orthogonalized again against all previous ones (CGS2).
 *
 * Invariant subspace (β_j ≈ 0): the Krylov space cannot grow. With
 * `restart`, a fresh random vector orthogonal to the basis starts a new
 * Krylov block and T gets a zero coupling there (T is block diagonal, the
 * relation above still holds); otherwise the process is exhausted.
 */

import { applyOperator, type SymOperator } from './operator.js';
import type { Rng } from './rng.js';
import { axpy, dot, norm, reorthogonalize, scale } from './vector.js';

export interface LanczosProcessOptions {
  /** On breakdown, continue in a new random block (true) or stop (false). */
  restart: boolean;
  /** Source of random restart vectors. */
  rng: Rng;
  /** β_j ≤ breakdownTol · max_j ‖H q_j‖ counts as breakdown (default 1e-10). */
  breakdownTol?: number;
}

export class LanczosProcess {
  /** Orthonormal Lanczos vectors q_1 … q_m. */
  readonly basis: Float64Array[] = [];
  /** α_j = q_jᵀ H q_j, the diagonal of T_m. */
  readonly alpha: number[] = [];
  /** β_j couples q_j and q_{j+1}; 0 at a block boundary. β_m (last) is the residual coupling. */
  readonly beta: number[] = [];
  /** Index into basis of the first vector of the current Krylov block. */
  blockStart = 0;
  /** True when no further vector exists (dimension reached, or breakdown without restart). */
  exhausted = false;
  matvecs = 0;

  private next: Float64Array | null;
  private opNorm = 0; // running max ‖H q_j‖, the scale for the breakdown test
  private readonly breakdownTol: number;

  constructor(
    private readonly op: SymOperator,
    v0: Float64Array,
    private readonly options: LanczosProcessOptions,
  ) {
    if (v0.length !== op.dim) throw new Error(`start vector has length ${v0.length}, expected ${op.dim}`);
    this.breakdownTol = options.breakdownTol ?? 1e-10;
    const q = Float64Array.from(v0);
    const nrm = norm(q);
    if (!(nrm > 0) || !Number.isFinite(nrm)) throw new Error('start vector must be finite and nonzero');
    scale(1 / nrm, q);
    this.next = q;
  }

  /** Number of Lanczos vectors m (= order of T_m). */
  get size(): number {
    return this.basis.length;
  }

  /** One Lanczos step: appends q_{m+1}, α_{m+1}, β_{m+1}. */
  async step(): Promise<void> {
    if (this.exhausted || this.next === null) throw new Error('Lanczos process is exhausted');
    const q = this.next;
    const j = this.basis.length;
    this.basis.push(q);

    const w = await applyOperator(this.op, q);
    this.matvecs++;
    this.opNorm = Math.max(this.opNorm, norm(w));
    const a = dot(q, w);
    this.alpha.push(a);
    // Three-term recurrence, then full reorthogonalization (removes the α, β
    // terms' rounding and everything the recurrence forgets).
    axpy(-a, q, w);
    if (j > this.blockStart) axpy(-this.beta[j - 1], this.basis[j - 1], w);
    reorthogonalize(w, this.basis);
    const b = norm(w);

    if (b > this.breakdownTol * this.opNorm) {
      this.beta.push(b);
      scale(1 / b, w);
      this.next = w;
      return;
    }
    // Breakdown: span(q_blockStart … q_j) is (numerically) H-invariant.
    this.beta.push(0);
    this.next = this.options.restart ? this.freshVector() : null;
    if (this.next === null) this.exhausted = true;
    else this.blockStart = this.basis.length;
  }

  /** Random unit vector orthogonal to the basis, or null if the basis spans ℝⁿ. */
  private freshVector(): Float64Array | null {
    if (this.basis.length >= this.op.dim) return null;
    const v = this.options.rng.normalVector(this.op.dim);
    const before = norm(v);
    reorthogonalize(v, this.basis);
    const after = norm(v);
    if (!(after > 1e-8 * before)) return null;
    scale(1 / after, v);
    return v;
  }
}
