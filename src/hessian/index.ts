/** Hessian analysis, numerical core: engine-agnostic, operator given by matvecs. */
export { applyOperator, shiftOperator, type MatVec, type SymOperator } from './operator.js';
export { Rng } from './rng.js';
export { symTridiagonalEigen, type TridiagonalEigen } from './tridiagonal-eigen.js';
export { LanczosProcess, type LanczosProcessOptions } from './lanczos-process.js';
export {
  lanczos,
  warmStartVector,
  type LanczosOptions,
  type LanczosResult,
  type LanczosTarget,
  type RitzPairs,
} from './lanczos.js';
export {
  referenceMethodEigenvalues,
  REFERENCE_SHIFT_FACTOR,
  type ReferenceMethodOptions,
  type ReferenceMethodResult,
} from './reference-method.js';
export { hutchinsonTrace, type HutchinsonOptions, type HutchinsonResult } from './trace.js';
export {
  spectralDensity,
  PYHESSIAN_SIGMA_SQUARED,
  type SpectralDensityOptions,
  type SpectralDensityResult,
} from './density.js';
