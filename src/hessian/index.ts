/**
 * Hessian analysis: the numerical core (engine-agnostic, operators given by
 * matvecs) and, below it, the analysis of an engine's loss: HVP operators over
 * parameter selections, point spectra, eigenvalue maps, sharpness, run-level maps.
 */
export { applyOperator, shiftOperator, type MatVec, type SymOperator } from '../linalg/operator.js';
export { Rng } from '../linalg/rng.js';
export { symTridiagonalEigen, type TridiagonalEigen } from '../linalg/tridiagonal-eigen.js';
export { LanczosProcess, type LanczosProcessOptions } from '../linalg/lanczos-process.js';
export {
  lanczos,
  eigenvalueError,
  warmStartVector,
  LANCZOS_CONVERGENCE,
  type LanczosConvergence,
  type LanczosOptions,
  type LanczosResult,
  type LanczosTarget,
  type RitzPairs,
} from '../linalg/lanczos.js';
export {
  referenceMethodEigenvalues,
  REFERENCE_SHIFT_FACTOR,
  type ReferenceMethodOptions,
  type ReferenceMethodResult,
} from '../linalg/reference-method.js';
export { hutchinsonTrace, type HutchinsonOptions, type HutchinsonResult } from '../linalg/trace.js';
export {
  spectralDensity,
  PYHESSIAN_SIGMA_SQUARED,
  type SpectralDensityOptions,
  type SpectralDensityResult,
} from '../linalg/density.js';

// Engine-facing analysis (Hessian of an engine's mean loss at θ).
export {
  hessianOperator,
  selectParams,
  scatter,
  gather,
  planePoint64,
  PARAM_SELECTIONS,
  type HessianOperator,
  type ParamSelection,
  type Selection,
} from '../linalg/hessian-operator.js';
export {
  pointEigenvalues,
  pointTrace,
  pointDensity,
  DEFAULT_CONVERGENCE,
  DEFAULT_TOL,
  defaultTol,
  DEFAULT_MAX_ITER,
  FLOAT32_HVP_EPS,
  type PointOptions,
  type PointEigen,
  type PointTrace,
  type TraceOptions,
  type DensityOptions,
} from './point.js';
export {
  computeEigenmap,
  eigenmapFingerprint,
  hessianPointCost,
  gridPointWeights,
  noisyWarmStart,
  snakeOrder,
  EIGEN_CHANNELS,
  WARM_NOISE,
  type EigenmapRequest,
  type EigenmapResult,
  type EigenmapStats,
  type EigenPointStats,
} from './eigenmap.js';
export {
  sharpness,
  epsSharpness,
  type SharpnessOptions,
  type SharpnessResult,
  type EpsSharpnessOptions,
  type EpsSharpnessResult,
} from './sharpness.js';
export {
  computeRunEigenmaps,
  checkpointEigenmap,
  resolveHessianSpec,
  hessianGrid,
  hessianCheckpoints,
  type RunEigenmapOptions,
  type RunEigenmapsResult,
  type RunEigenmapFrame,
  type CheckpointEigenmapArgs,
} from '../run/eigenmaps.js';
export { runSharpness, sharpnessCsv, SHARPNESS_CSV_COLUMNS, type SharpnessRow, type RunSharpnessOptions } from '../run/sharpness.js';
