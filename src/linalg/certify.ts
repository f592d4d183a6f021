/**
 * A check that no eigenvalue of a symmetric operator lies below a reported λmin or above a
 * reported λmax by more than a tolerance: the check behind `certified` in eigenvalue maps.
 *
 * Lanczos has a blind spot: a run whose start vector is (nearly) orthogonal to the lowest
 * eigenvector converges on the second-lowest eigenvalue, and no convergence test can see an
 * eigenvalue that has not emerged. The check runs a second, short Lanczos process from a fresh
 * random vector on the operator deflated against the vectors found (P H P, P = I − Y Yᵀ with Y
 * the reported extreme Ritz vectors): what the first run missed is the deflated operator's
 * extreme, and a random start sees it. After every step the extreme Ritz values θ'min, θ'max of
 * the deflated run decide:
 * - refuted: θ'min < λmin − τ (or θ'max > λmax + τ). Ritz values lie inside the spectrum, so
 *   this proves an eigenvalue beyond the reported one; its Ritz vector is returned as the start
 *   of a better solve.
 * - certified: θ'min − e_min ≥ λmin − τ and θ'max + e_max ≤ λmax + τ, with e the eigenvalue
 *   error estimate min(r, r²/δ) of the Ritz values (lanczos.ts eigenvalueError): the deflated
 *   extremes are confined within the reported range.
 * - undecided after maxIter steps.
 * Like every Krylov method it is probabilistic: a random start vector has a component of order
 * 1/√n along every eigenvector, which Lanczos amplifies; docs/hessian.md has the measured rates.
 */
import { Rng } from '../core/rng.js';
import { LanczosProcess } from './lanczos-process.js';
import { applyOperator, type SymOperator } from './operator.js';
import { symTridiagonalEigen } from './tridiagonal-eigen.js';
import { combine, norm, reorthogonalize, scale } from './vector.js';

/** A Ritz value must lie within this fraction of its distance to the boundary of an eigenvalue. */
const SAFETY = 0.5;
/** Steps before a check may certify (the first Ritz values say little about the extremes). */
const MIN_STEPS = 4;

export interface CertifyOptions {
  /** τ relative to max(|λmin|, |λmax|). */
  tol: number;
  /** Steps (matvecs) at most (default 60). */
  maxIter?: number;
  /** Seed of the random start vector (stream 'certify'). */
  seed?: number;
  /**
   * A vector whose part off the deflated vectors joins the random start with equal weight (the
   * solve's warm vector: its next-lowest and next-highest Ritz directions), so that the deflated
   * extremes converge sooner; the random part keeps every eigenvector in the start.
   */
  hint?: Float64Array;
}

export type Certificate =
  | { outcome: 'certified' | 'undecided'; matvecs: number }
  | { outcome: 'refuted'; matvecs: number; side: 'min' | 'max'; value: number; vector: Float64Array };

/** Orthonormal vectors spanning `vectors` (modified Gram–Schmidt, twice; near-dependent ones dropped). */
function orthonormal(vectors: readonly Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  for (const v of vectors) {
    const q = Float64Array.from(v);
    const before = norm(q);
    reorthogonalize(q, out, true);
    const after = norm(q);
    if (after > 1e-8 * before) {
      scale(1 / after, q);
      out.push(q);
    }
  }
  return out;
}

/** P H P restricted to the complement of span(Y): inputs and outputs projected off Y. */
function deflated(op: SymOperator, Y: readonly Float64Array[]): SymOperator {
  return {
    dim: op.dim,
    fresh: true,
    matvec: async (v) => {
      const u = Float64Array.from(v);
      reorthogonalize(u, Y);
      const w = await applyOperator(op, u);
      reorthogonalize(w, Y);
      return w;
    },
  };
}

/**
 * Checks the reported extremes of `op` (see the module comment). `found` are the unit Ritz
 * vectors the solve returned (λmin's and λmax's at least).
 */
export async function certifyExtremes(
  op: SymOperator,
  reported: { lambdaMin: number; lambdaMax: number },
  found: readonly Float64Array[],
  opts: CertifyOptions,
): Promise<Certificate> {
  const n = op.dim;
  const Y = orthonormal(found);
  if (Y.length >= n) return { outcome: 'certified', matvecs: 0 };
  const rng = new Rng(opts.seed ?? 0, 'certify');
  const v0 = rng.normalVector(n);
  reorthogonalize(v0, Y, true);
  if (!(norm(v0) > 0)) return { outcome: 'certified', matvecs: 0 };
  scale(1 / norm(v0), v0);
  if (opts.hint) {
    const h = Float64Array.from(opts.hint);
    reorthogonalize(h, Y, true);
    const hn = norm(h);
    if (hn > 1e-8 * norm(opts.hint)) for (let i = 0; i < n; i++) v0[i]! += h[i]! / hn;
  }
  const tau = opts.tol * Math.max(Math.abs(reported.lambdaMin), Math.abs(reported.lambdaMax));
  const maxIter = Math.max(1, Math.min(n - Y.length, opts.maxIter ?? 60));
  // no restarts: a random restart vector would bring back components along Y, which the deflated
  // operator maps to 0 (a spurious eigenvalue); a random start breaks down only when its Krylov
  // space is invariant, and then its Ritz values are exact
  const p = new LanczosProcess(deflated(op, Y), v0, { restart: false, rng });
  try {
    while (p.size < maxIter && !p.exhausted) {
      await p.step();
      const m = p.size;
      const { values, rows } = symTridiagonalEigen(p.alpha, p.beta.slice(0, m - 1), [m - 1]);
      const betaM = p.exhausted ? 0 : p.beta[m - 1]!;
      const residual = (i: number) => Math.abs(betaM * rows[0]![i]!);
      const lo = values[0]!;
      const hi = values[m - 1]!;
      if (lo < reported.lambdaMin - tau) return refuted(p, 'min', 0);
      if (hi > reported.lambdaMax + tau) return refuted(p, 'max', m - 1);
      // each extreme Ritz value is within half its distance to the boundary of an eigenvalue
      const exact = p.exhausted;
      const loDone = exact || residual(0) <= SAFETY * (lo - (reported.lambdaMin - tau));
      const hiDone = exact || residual(m - 1) <= SAFETY * (reported.lambdaMax + tau - hi);
      if (m >= MIN_STEPS && loDone && hiDone) return { outcome: 'certified', matvecs: p.matvecs };
    }
    return { outcome: 'undecided', matvecs: p.matvecs };
  } finally {
    p.release();
  }
}

/** The refutation: the Ritz pair of T_m at index i (ascending) beyond a reported extreme. */
function refuted(p: LanczosProcess, side: 'min' | 'max', i: number): Certificate {
  const m = p.size;
  const { values, rows } = symTridiagonalEigen(p.alpha, p.beta.slice(0, m - 1));
  const vector = combine(
    p.basis,
    Float64Array.from(rows, (row) => row[i]!),
    p.basis[0]!.length,
  );
  scale(1 / norm(vector), vector);
  return { outcome: 'refuted', matvecs: p.matvecs, side, value: values[i]!, vector };
}
