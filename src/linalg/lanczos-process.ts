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
 * ε for float64), and then also in the next step. The estimate is a worst-case
 * bound, so when it passes √u the true ω_{j+1,k} = q_kᵀw/‖w‖ is measured first
 * (one pass over the basis; the subtraction, the costlier half, only runs if
 * the measured level passes √u) and ω restarts from the measured values. The
 * basis stays semi-orthogonal (|q_iᵀ q_k| ≲ √u), which keeps the Ritz values
 * of T_m accurate to the operator's precision (Simon 1984, Theorem 4) while
 * skipping most of the O(m·n) work per step. After a restart (below) every
 * step is fully reorthogonalized.
 *
 * Invariant subspace (β_j ≈ 0): the Krylov space cannot grow. With
 * `restart`, a fresh random vector orthogonal to the basis starts a new
 * Krylov block and T gets a zero coupling there (T is block diagonal, the
 * relation above still holds); otherwise the process is exhausted.
 */

import type { Rng } from '../core/rng.js';
import { applyOperator, type SymOperator } from './operator.js';
import { type BasisVector, dotAndNormSq, norm, projectionsOf, recurrence, reorthogonalize, scale, subtractAbove } from './vector.js';
import { VectorArena } from './wasm-kernels.js';

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
/** Vectors per storage slab. */
const SLAB = 16;

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
  /** Partial reorthogonalization: steps in which the measured orthogonality made it unnecessary. */
  checks = 0;

  /** The next basis vector, already in the storage precision. */
  private next: BasisVector | null;
  /** Partial reorthogonalization: ω_{j−1,k} and ω_{j,k} estimates; reorthogonalize the next vector too. */
  private omegaPrev: Float64Array = new Float64Array(0);
  private omegaCur: Float64Array = Float64Array.of(1);
  /** Partial reorthogonalization: what the next step does regardless of the estimate. */
  private forced: 'none' | 'measure' | 'orthogonalize' = 'none';
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
    if (options.basisPrecision === 'float32') {
      const q32 = this.newVector32();
      q32.set(q);
      this.next = q32;
    } else this.next = q;
  }

  private readonly scratch = new Float64Array(2);
  /** Storage for the next vectors: slabs of SLAB vectors (one allocation per SLAB steps, not per step). */
  private slab: Float64Array | null = null;
  private slabUsed = 0;

  /** A fresh length-n vector (a row of the current slab; it becomes the next basis vector). */
  private newVector(): Float64Array {
    const n = this.op.dim;
    if (!this.slab || this.slabUsed === SLAB) {
      this.slab = new Float64Array(SLAB * n);
      this.slabUsed = 0;
    }
    return this.slab.subarray(n * this.slabUsed, n * ++this.slabUsed);
  }

  /** float32 basis: slabs of stored vectors, and float64 work vectors reused every step. */
  private slab32: Float32Array | null = null;
  private slab32Used = 0;
  private wide: [Float64Array, Float64Array] | null = null;
  private work: Float64Array | null = null;

  /** float32 basis: basis rows and the work vector in WebAssembly memory (SIMD kernels), when available. */
  private arena: VectorArena | null | undefined;

  /**
   * Done with this process: its WebAssembly memory goes back to a pool for the next run (its
   * pages are already mapped). The basis must not be used afterwards.
   */
  release(): void {
    if (this.arena) VectorArena.recycle(this.arena);
    this.arena = null;
    this.basis.length = 0;
    this.work = null;
    this.slab32 = null;
  }

  private newVector32(): Float32Array {
    const n = this.op.dim;
    if (this.arena === undefined) this.arena = VectorArena.create();
    if (this.arena) return this.arena.float32(n);
    if (!this.slab32 || this.slab32Used === SLAB) {
      this.slab32 = new Float32Array(SLAB * n);
      this.slab32Used = 0;
    }
    return this.slab32.subarray(n * this.slab32Used, n * ++this.slab32Used);
  }

  /** Number of Lanczos vectors m (= order of T_m). */
  get size(): number {
    return this.basis.length;
  }

  /** One Lanczos step: appends q_{m+1}, α_{m+1}, β_{m+1}. */
  async step(): Promise<void> {
    if (this.exhausted || this.next === null) throw new Error('Lanczos process is exhausted');
    const j = this.basis.length;
    const stored = this.next;
    this.basis.push(stored);
    // with a float32 basis, q is the stored vector widened (exactly) to float64 in a reused
    // buffer, the previous one kept in the other; w is a reused work vector
    let q: BasisVector = stored;
    let prevWide: Float64Array | undefined;
    let out: Float64Array;
    if (stored instanceof Float32Array) {
      const n = this.op.dim;
      if (this.arena === undefined) this.arena = VectorArena.create();
      this.work ??= this.arena ? this.arena.float64(n) : new Float64Array(n);
      out = this.work;
      if (!this.op.acceptsFloat32) {
        // an operator that takes float64 only: the stored vectors widened (exactly)
        this.wide ??= [new Float64Array(n), new Float64Array(n)];
        this.wide.reverse();
        q = this.wide[0];
        prevWide = this.wide[1];
        for (let i = 0; i < n; i++) q[i] = stored[i]!;
      }
    } else {
      out = this.newVector();
    }

    const w = await applyOperator(this.op, q, out);
    this.matvecs++;
    const [a, wNorm2] = dotAndNormSq(q, w, this.scratch);
    this.opNorm = Math.max(this.opNorm, Math.sqrt(wNorm2!));
    this.alpha.push(a!);
    // Three-term recurrence, then reorthogonalization (removes the α, β
    // terms' rounding and everything the recurrence forgets).
    const prev = j > this.blockStart ? (prevWide ?? this.basis[j - 1]) : undefined;
    const wNormSq = recurrence(w, a!, q, prev ? this.beta[j - 1] : 0, prev);
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
      if (stored instanceof Float32Array) {
        const next = this.newVector32();
        const inv = 1 / b;
        if (!this.arena?.store(w, inv, next)) for (let i = 0; i < next.length; i++) next[i] = w[i]! * inv;
        this.next = next;
      } else {
        scale(1 / b, w);
        this.next = w;
      }
      return;
    }
    // Breakdown: span(q_blockStart … q_j) is (numerically) H-invariant.
    this.beta.push(0);
    const fresh = this.options.restart ? this.freshVector() : null;
    if (fresh && this.options.basisPrecision === 'float32') {
      const q32 = this.newVector32();
      q32.set(fresh);
      this.next = q32;
    } else this.next = fresh;
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
    if (this.forced !== 'none' || worst > Math.sqrt(u)) {
      // The estimate bounds the worst case (all rounding errors aligned with the basis) and
      // runs far ahead of the truth (measured ~1e-6 when it passes √u ≈ 3e-4 with float32
      // HVPs, until a Ritz vector converges). So the true ω_{j+1,k} = q_kᵀw/‖w‖ is measured
      // (one pass over the basis), and w is orthogonalized only when some |ω_{j+1,k}| passes
      // √u, against the q_k with |ω_{j+1,k}| > u^{3/4} (PROPACK's η; the others are at the
      // rounding level already); then the next vector too (it inherits q_j's components
      // through the recurrence), as in Simon's scheme. After a measurement that needed
      // nothing, the next vector is measured too. ω restarts from what was measured.
      const h = new Float64Array(j + 1);
      const measured = projectionsOf(w, this.basis, h);
      const must = this.forced === 'orthogonalize';
      if (must || measured > Math.sqrt(u) * b) {
        const eta = u ** 0.75 * b;
        const picked = subtractAbove(w, this.basis, h, eta);
        this.reorthogonalizations++;
        let nb = norm(w);
        if (nb < Math.SQRT1_2 * b) {
          // w was mostly in the span of the basis: a full second pass (DGKS)
          reorthogonalize(w, this.basis, true);
          nb = norm(w);
          picked.fill(1);
        }
        for (let k = 0; k <= j; k++) next[k] = picked[k] ? u : Math.max(u, Math.abs(h[k]!) / nb);
        b = nb;
        this.forced = must ? 'none' : 'orthogonalize';
      } else {
        this.checks++;
        for (let k = 0; k <= j; k++) next[k] = Math.max(u, Math.abs(h[k]!) / b);
        this.forced = this.forced === 'measure' ? 'none' : 'measure';
      }
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
