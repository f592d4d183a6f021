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
 * With `reorthogonalization: 'partial'` (Simon 1984, "The Lanczos algorithm
 * with partial reorthogonalization", Math. Comp. 42; as PROPACK), the level of
 * orthogonality ω_{j+1,k} ≈ q_{j+1}ᵀ q_k is estimated by Simon's recurrence
 * (O(j) scalars per step) and a new vector is orthogonalized against the basis
 * only when max_k |ω_{j+1,k}| exceeds √u (u: the matvec's relative accuracy,
 * ε for float64), and then also in the next step. The basis stays
 * semi-orthogonal (|q_iᵀ q_k| ≲ √u), which keeps the Ritz values of T_m
 * accurate to the operator's precision (Simon 1984, Theorem 4) while skipping
 * most of the O(m·n) work per step. After a restart (below) every step is fully
 * reorthogonalized.
 *
 * Invariant subspace (β_j ≈ 0): the Krylov space cannot grow. With
 * `restart`, a fresh random vector orthogonal to the basis starts a new
 * Krylov block and T gets a zero coupling there (T is block diagonal, the
 * relation above still holds); otherwise the process is exhausted.
 */

import { applyOperator, type SymOperator } from './operator.js';
import type { Rng } from './rng.js';
import { dot, norm, recurrence, reorthogonalize, scale, type BasisVector } from './vector.js';

export interface LanczosProcessOptions {
  /** On breakdown, continue in a new random block (true) or stop (false). */
  restart: boolean;
  /** Source of random restart vectors. */
  rng: Rng;
  /** β_j ≤ breakdownTol · max_j ‖H q_j‖ counts as breakdown (default 1e-10). */
  breakdownTol?: number;
  /** 'full' (default): every step against the whole basis; 'partial': only when Simon's estimate says so. */
  reorthogonalization?: 'full' | 'partial';
  /**
   * Relative accuracy u of a matvec, ‖fl(Hv) − Hv‖ ≲ u‖H‖‖v‖ (default: float64
   * rounding, 2^-53). Partial reorthogonalization feeds 2u‖H‖ into Simon's
   * estimate and keeps |ω| ≤ √u: an operator evaluated in float32 loses
   * orthogonality at its own precision, not at float64's.
   */
  matvecEps?: number;
  /**
   * Storage of the Lanczos vectors (default 'float64'). 'float32' halves the
   * memory and the traffic of reorthogonalization; the operator then sees
   * exactly the stored (float32-rounded) vectors — no loss for an operator that
   * rounds its input to float32 anyway (a float32 engine's HVP).
   */
  basisPrecision?: 'float64' | 'float32';
}

const EPS = 2 ** -53;

export class LanczosProcess {
  /** Orthonormal Lanczos vectors q_1 … q_m (Float32Array with basisPrecision 'float32'). */
  readonly basis: BasisVector[] = [];
  /** α_j = q_jᵀ H q_j, the diagonal of T_m. */
  readonly alpha: number[] = [];
  /** β_j couples q_j and q_{j+1}; 0 at a block boundary. β_m (last) is the residual coupling. */
  readonly beta: number[] = [];
  /** Index into basis of the first vector of the current Krylov block. */
  blockStart = 0;
  /** True when no further vector exists (dimension reached, or breakdown without restart). */
  exhausted = false;
  matvecs = 0;
  /** Steps in which the new vector was orthogonalized against the whole basis. */
  reorthogonalizations = 0;

  private next: Float64Array | null;
  /** Partial reorthogonalization: ω_{j−1,k} and ω_{j,k} estimates; reorthogonalize the next vector too. */
  private omegaPrev: Float64Array = new Float64Array(0);
  private omegaCur: Float64Array = Float64Array.of(1);
  private forceNext = false;
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
    const j = this.basis.length;
    // with a float32 basis, q is the stored vector widened (exactly) to float64
    const stored = this.options.basisPrecision === 'float32' ? Float32Array.from(this.next) : this.next;
    const q = stored instanceof Float32Array ? Float64Array.from(stored) : stored;
    this.basis.push(stored);

    const w = await applyOperator(this.op, q);
    this.matvecs++;
    this.opNorm = Math.max(this.opNorm, norm(w));
    const a = dot(q, w);
    this.alpha.push(a);
    // Three-term recurrence, then reorthogonalization (removes the α, β
    // terms' rounding and everything the recurrence forgets).
    const prev = j > this.blockStart ? this.basis[j - 1] : undefined;
    const wNormSq = recurrence(w, a, q, prev ? this.beta[j - 1] : 0, prev);
    let b: number;
    if ((this.options.reorthogonalization ?? 'full') === 'partial' && this.blockStart === 0) {
      b = this.partialReorthogonalization(w, j, Math.sqrt(wNormSq));
    } else {
      reorthogonalize(w, this.basis);
      this.reorthogonalizations++;
      b = norm(w);
    }

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

  /**
   * Simon's recurrence for ω_{j+1,k} (k ≤ j) with β_j = ‖w‖, rounding terms
   * added with the sign that makes |ω| grow; reorthogonalizes w when the
   * estimate passes √ε (and in the step after), resetting ω to ε. Returns β_j.
   */
  private partialReorthogonalization(w: Float64Array, j: number, wNorm: number): number {
    const alpha = this.alpha;
    const beta = this.beta;
    const prev = this.omegaPrev; // ω_{j−1,k}, k ≤ j−1 (length j)
    const cur = this.omegaCur; // ω_{j,k}, k ≤ j (length j+1)
    let b = wNorm;
    const next = new Float64Array(j + 2);
    const u = Math.max(EPS, this.options.matvecEps ?? EPS);
    const noise = 2 * u * this.opNorm;
    let worst = 0;
    for (let k = 0; k < j; k++) {
      let t = beta[k] * cur[k + 1] + (alpha[k] - alpha[j]) * cur[k];
      if (k > 0) t += beta[k - 1] * cur[k - 1];
      if (j > 0) t -= beta[j - 1] * prev[k];
      t += (t >= 0 ? 1 : -1) * noise;
      next[k] = b > 0 ? t / b : 1;
      worst = Math.max(worst, Math.abs(next[k]));
    }
    next[j] = b > 0 ? Math.min(1, (u * Math.sqrt(this.op.dim) * this.opNorm) / b) : 1; // consecutive vectors
    next[j + 1] = 1;
    if (this.forceNext || worst > Math.sqrt(u)) {
      this.forceNext = !this.forceNext; // a triggered reorthogonalization repeats once in the next step
      reorthogonalize(w, this.basis);
      this.reorthogonalizations++;
      b = norm(w);
      for (let k = 0; k <= j; k++) next[k] = u;
    }
    this.omegaPrev = cur;
    this.omegaCur = next;
    return b;
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
