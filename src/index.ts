/**
 * The library entry of the `losscape` package: what a script needs to do what the CLI does,
 * step by step. Data and models → an engine (the loss, its gradient and exact HVPs on a data
 * subset) → directions → surfaces and Hessian analysis; whole runs and studies from configs.
 * README "Use as a library" has a runnable example; the CLI (src/cli) is built from the same
 * functions.
 *
 * Sorted by module: core (grids, Rng, errors), data, directions, engines, the Hessian, linalg,
 * models, runs, the run store, studies, surfaces.
 */
export { type ErrorKind, EXIT_CODES, exitCodeOf, LosscapeError } from './core/errors.js';
export { type Axis, coordinates, formatAxis, type Grid, gridPoints, parseAxis } from './core/grid.js';
export { RNG_STREAMS, Rng, type RngStream } from './core/rng.js';

export type { Dataset } from './data/dataset.js';
export { loadDataFile, toDataset } from './data/files.js';
export { loadMnist } from './data/mnist.js';
export { SYNTHETIC_KINDS, type SyntheticSpec, synthetic } from './data/synthetic.js';
export {
  type DirectionOptions,
  NORMALIZATIONS,
  type Normalization,
  normalizeDirection,
  type Plane,
  type PlaneOptions,
  randomDirection,
  randomPlane,
} from './directions/directions.js';
export { type DirectionFile, readDirectionFile, writeDirectionFile } from './directions/file.js';
export type { LossEngine, Metrics, PlaneValues } from './engine/engine.js';
export { BACKEND_CHOICES, BACKENDS, type Backend, type CreateEngineOptions, createEngine } from './engine/registry.js';
export { computeEigenmap, type EigenmapRequest, type EigenmapResult } from './hessian/eigenmap.js';
export { hessianOperator } from './hessian/operator.js';
export { pointDensity, pointEigenvalues, pointTrace } from './hessian/point.js';
export { epsSharpness, type SharpnessOptions, type SharpnessResult, sharpness } from './hessian/sharpness.js';
export type { GridFile } from './jobs/grid-file.js';
export { spectralDensity } from './linalg/density.js';
export type { Extremes, ExtremesOptions } from './linalg/extremes.js';
export { lanczos } from './linalg/lanczos.js';
export { hutchinsonTrace } from './linalg/trace.js';
export type { Model } from './model/model.js';
export { type LoadOnnxOptions, loadOnnxModel, type OnnxImport } from './model/onnx/load.js';
export { buildModel } from './model/zoo.js';
export { loadConfigFile, type RunConfig, resolveConfig } from './run/config.js';
export { computeRunEigenmaps } from './run/eigenmaps.js';
export { importRun } from './run/import.js';
export { type PipelineOptions, runPipeline } from './run/pipeline.js';
export { runSharpness } from './run/sharpness.js';
export { type Manifest, RunStore } from './store/run-store.js';
export { loadStudyFile } from './studies/config.js';
export { STUDIES } from './studies/registry.js';
export { runStudy } from './studies/study.js';
export { computeSurface, type SurfaceRequest } from './surface/surface.js';
