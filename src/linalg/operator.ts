/**
 * Abstract symmetric linear operator (a Hessian, or any H = Hᵀ), seen only
 * through matrix–vector products. Engine-agnostic: no autodiff imports here.
 */

/** y = H v. Must not mutate v. With `out`, an operator may write y into it (and return it). */
export type MatVec = (v: Float64Array, out?: Float64Array) => Promise<Float64Array>;

export interface SymOperator {
  /** Dimension n of H (n × n). */
  dim: number;
  matvec: MatVec;
  /** matvec returns a new Float64Array every call, which the caller may keep and modify. */
  fresh?: boolean;
  /** matvec also takes a Float32Array v (read as its exact float64 values). */
  acceptsFloat32?: boolean;
}

/**
 * y = H v as a fresh array the caller owns (an engine may hand back a buffer
 * it reuses), with the length checked.
 */
export async function applyOperator(op: SymOperator, v: Float64Array | Float32Array, out?: Float64Array): Promise<Float64Array> {
  if (v instanceof Float32Array && !op.acceptsFloat32) throw new Error('internal error: this operator takes float64 vectors only');
  const y = await op.matvec(v as Float64Array, out);
  if (y.length !== op.dim) {
    throw new Error(`matvec returned length ${y.length}, expected dim ${op.dim}`);
  }
  if (out) {
    if (y !== out) out.set(y);
    return out;
  }
  return op.fresh && y instanceof Float64Array ? y : new Float64Array(y);
}

/** The shifted operator H − σ I (same eigenvectors, eigenvalues moved by −σ). */
export function shiftOperator(op: SymOperator, sigma: number): SymOperator {
  return {
    dim: op.dim,
    matvec: async (v) => {
      const y = await applyOperator(op, v);
      for (let i = 0; i < y.length; i++) y[i] -= sigma * v[i];
      return y;
    },
  };
}
