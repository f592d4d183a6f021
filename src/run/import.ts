/**
 * `losscape import`: turn checkpoints trained elsewhere (ONNX files, or one ONNX
 * plus safetensors / HDF5 / NPZ weights) into a run folder (docs/run-format.md):
 * manifest.json, checkpoints.h5 and model.onnx (the architecture). With a data
 * file, every checkpoint is evaluated on the train/test split, and with
 * `surfaces` one landscape per checkpoint is computed, so the viewer, report and
 * video work on the imported run as on one trained here.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import { type Grid, gridSize } from '../core/grid.js';
import { hashJSON } from '../core/hash.js';
import { layoutToJSON } from '../core/layout.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { type DataFileOptions, fitToModelInput, loadDataFile } from '../data/files.js';
import type { Normalization } from '../directions/directions.js';
import { writeDirectionFile } from '../directions/file.js';
import type { LossEngine } from '../engine/engine.js';
import { type Backend, createEngine } from '../engine/registry.js';
import { DT, decodeTensor, makeTensor, serializeModel } from '../io/onnx-proto.js';
import { type LoadedCheckpoints, loadCheckpoints } from '../model/checkpoints.js';
import type { Model } from '../model/model.js';
import type { LoadOnnxOptions } from '../model/onnx/load.js';
import { type CheckpointInfo, type FrameInfo, frameFile, type Manifest, RUN_FORMAT, RunStore } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { DataSpec, DirectionSpec, EngineSpec, SurfaceSpec } from './config.js';
import { type RunData, splitData } from './data.js';
import { checkpointSeed } from './directions.js';
import { surfaceGrid } from './pipeline.js';
import { checkpointPlane } from './planes.js';
import { versions } from './versions.js';

export interface ImportOptions {
  /** Run folder to create. */
  out: string;
  name?: string;
  weights?: string | string[];
  /** Checkpoint order file (see loadCheckpoints). */
  manifest?: string;
  onnx?: LoadOnnxOptions;
  /** Data file: checkpoints are evaluated on its train/test split; needed for surfaces. */
  data?: string;
  dataOptions?: DataFileOptions;
  testFraction?: number;
  splitSeed?: number;
  /** Evaluation subset of the train split (count, fraction or 'all'; default 'all', as `losscape surface` on a data file). */
  subset?: number | 'all';
  subsetSeed?: number;
  /** Also a test subset for surfaces (same size rule). */
  testSubset?: number | 'all';
  /** Evaluate every checkpoint on the full train/test splits (default true with data). */
  evaluate?: boolean;
  /** Compute one landscape per checkpoint (needs data). */
  surfaces?: boolean;
  /** Grid axes "min:max:n" (default -1:1:41 both); y null for 1-D. */
  x?: string;
  y?: string | null;
  directions?: { seed?: number; norm?: Normalization; ignore?: 'biasbn' | 'none'; orthogonal?: boolean };
  backend?: Backend;
  /** Replace an existing run folder. */
  fresh?: boolean;
  progress?: ProgressSink;
}

export interface ImportedRun extends Manifest {
  import: {
    source: string;
    architecture: string;
    weights: string[];
    format: string;
    checkpoints: string[];
  };
}

/** The architecture file for the run folder: external data inlined, so the copy stands alone. */
function standaloneOnnx(path: string): Uint8Array | null {
  const m = fromBinary(ModelProtoSchema, readFileSync(path));
  const ext = m.graph!.initializer.some((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL);
  if (!ext) return null;
  m.graph!.initializer = m.graph!.initializer.map((t) => {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) return t;
    const d = decodeTensor(t, path, dirname(path));
    const type = d.dataType === DT.DOUBLE || d.dataType === DT.INT64 || d.dataType === DT.INT32 ? d.dataType : DT.FLOAT;
    return makeTensor(t.name, type, d.shape, d.data);
  });
  return serializeModel(m);
}

export async function importRun(source: string, opts: ImportOptions): Promise<ImportedRun> {
  const progress = opts.progress ?? silent;
  if (opts.surfaces && !opts.data) throw new Error('computing surfaces needs data (--data FILE)');
  const ck: LoadedCheckpoints = await loadCheckpoints(source, { weights: opts.weights, manifest: opts.manifest, onnx: opts.onnx });
  describeCheckpoints(ck, progress);
  const store = emptyRunFolder(opts.out, opts.fresh);
  const arch = resolve(ck.architecture);
  writeArchitecture(store, arch);
  const config = importConfig(opts);
  const splits = opts.data ? await importData(opts.data, opts, config.data, ck.model, progress) : null;
  const manifest = importManifest(source, opts, config, ck, arch, splits);
  const job: ImportJob = { store, ck, config, manifest, progress };
  await writeImportedCheckpoints(job);
  const t0 = Date.now();
  if (splits && opts.evaluate !== false) await evaluateCheckpoints(job, splits);
  if (splits && opts.surfaces) await importLandscapes(job, splits);
  manifest.timings.total_s = (Date.now() - t0) / 1000;
  manifest.status = 'complete';
  store.writeManifest(manifest);
  return manifest;
}

/** The run config an import records: the data split, directions, grid and engine it used. */
function importConfig(opts: ImportOptions) {
  const data = DataSpec.parse({
    source: 'file',
    path: opts.data ? resolve(opts.data) : '(none)',
    testFraction: opts.testFraction ?? 0.2,
    splitSeed: opts.splitSeed ?? 0,
    subset: { size: opts.subset ?? 'all', seed: opts.subsetSeed ?? 0 },
    ...(opts.testSubset !== undefined ? { testSubset: { size: opts.testSubset, seed: opts.subsetSeed ?? 0 } } : {}),
  });
  return {
    name: opts.name ?? 'import',
    data,
    model: { type: 'onnx', path: 'model.onnx', ...(opts.onnx?.inputShape ? { inputShape: opts.onnx.inputShape } : {}) },
    directions: DirectionSpec.parse({ seed: 123, norm: 'filter', ignore: 'biasbn', ...opts.directions }),
    surface: SurfaceSpec.parse({ x: opts.x ?? '-1:1:41', y: opts.y === undefined ? '-1:1:41' : opts.y }),
    engine: EngineSpec.parse({ backend: opts.backend ?? 'auto' }),
  };
}
type ImportConfig = ReturnType<typeof importConfig>;

/** What the steps after the manifest share. */
interface ImportJob {
  store: RunStore;
  ck: LoadedCheckpoints;
  config: ImportConfig;
  manifest: ImportedRun;
  progress: ProgressSink;
}

/** The model, its parameter tensors by role, and what the ONNX importer noted. */
function describeCheckpoints(ck: LoadedCheckpoints, progress: ProgressSink): void {
  const model = ck.model;
  progress.log(
    `${model.name}: ${model.layout.size.toLocaleString('en-US')} parameters in ${model.layout.entries.length} tensors, ${ck.thetas.length} checkpoint(s) (${ck.format})`,
  );
  const roles = new Map<string, number>();
  for (const e of model.layout.entries) roles.set(e.role, (roles.get(e.role) ?? 0) + 1);
  progress.log(`parameter tensors: ${[...roles].map(([r, n]) => `${n} ${r}`).join(', ')} (first: ${model.layout.entries[0]!.name})`);
  for (const n of ck.onnx.notes) progress.log(n);
  for (const w of ck.onnx.warnings) progress.warn(w);
}

/** The run folder, created empty (an existing non-empty one only with `fresh`). */
function emptyRunFolder(out: string, fresh: boolean | undefined): RunStore {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!fresh) throw new Error(`${out} exists and is not empty; use --fresh to replace it, or another --out`);
    for (const f of readdirSync(out)) rmSync(resolve(out, f), { recursive: true, force: true });
  }
  const store = new RunStore(out);
  store.ensureDirs();
  return store;
}

/** model.onnx in the run folder: the architecture file, with external data inlined. */
function writeArchitecture(store: RunStore, arch: string): void {
  const standalone = standaloneOnnx(arch);
  if (standalone) writeFileSync(store.path('model.onnx'), standalone);
  else copyFileSync(arch, store.path('model.onnx'));
}

/** Below this many samples in the evaluation subset, a landscape is mostly sampling noise: say so. */
export const FEW_SAMPLES = 100;

/** The data file fitted to the model's input, split like a run's data. */
async function importData(path: string, opts: ImportOptions, spec: DataSpec, model: Model, progress: ProgressSink): Promise<RunData> {
  const all = fitToModelInput(await loadDataFile(path, opts.dataOptions), model.inputShape);
  if (all.task === 'classification' && all.outputDim !== model.outputDim) {
    if (all.outputDim > model.outputDim) {
      throw new Error(`${path}: labels go up to ${all.outputDim - 1} but the model has ${model.outputDim} outputs`);
    }
    all.outputDim = model.outputDim;
  }
  const splits = splitData(all, spec);
  progress.log(`data ${all.name}: ${splits.train.y.length} train / ${splits.test.y.length} test samples; landscapes on ${splits.subset.size}`);
  if (opts.surfaces && splits.subset.size < FEW_SAMPLES) {
    progress.warn(
      `the landscapes are evaluated on only ${splits.subset.size} sample(s) (subset ${spec.subset.size} of ${splits.train.y.length} train samples): a noisy picture; give --subset a larger count, or 'all'`,
    );
  }
  return splits;
}

function importManifest(source: string, opts: ImportOptions, config: ImportConfig, ck: LoadedCheckpoints, arch: string, splits: RunData | null): ImportedRun {
  const model = ck.model;
  const now = new Date().toISOString();
  const weightsList = opts.weights === undefined ? [] : (Array.isArray(opts.weights) ? opts.weights : [opts.weights]).map((w) => resolve(w));
  return {
    format: RUN_FORMAT,
    name: config.name,
    created: now,
    updated: now,
    status: 'running',
    versions: versions(),
    config,
    configHash: hashJSON(config),
    model: { name: model.name, params: model.layout.size, layout: layoutToJSON(model.layout) },
    data: splits
      ? {
          name: splits.all.name,
          train: splits.train.y.length,
          test: splits.test.y.length,
          inputShape: splits.train.inputShape,
          classes: splits.train.outputDim,
          task: splits.train.task,
          subset: splits.subset,
          testSubset: splits.testSubsetInfo,
        }
      : {
          name: '(none)',
          train: 0,
          test: 0,
          inputShape: model.inputShape,
          classes: model.outputDim,
          task: 'classification',
          subset: { seed: 0, size: 0, indices: [] },
        },
    history: [],
    checkpoints: [],
    frames: [],
    timings: {},
    import: {
      source: resolve(source),
      architecture: arch,
      weights: weightsList,
      format: ck.format,
      checkpoints: ck.names,
    },
  };
}

/** checkpoints.h5 and the manifest's checkpoint rows (steps and epochs from the source, else the index). */
async function writeImportedCheckpoints({ store, ck, manifest }: ImportJob): Promise<void> {
  const thetas = new Map<number, { theta: Float32Array; step: number; epoch: number }>();
  ck.thetas.forEach((theta, i) => thetas.set(i, { theta, step: ck.steps[i] ?? i, epoch: ck.epochs[i] ?? i }));
  await store.writeCheckpoints(layoutToJSON(ck.model.layout), thetas);
  manifest.checkpoints = ck.thetas.map((_, i) => ({ index: i, step: ck.steps[i] ?? i, epoch: ck.epochs[i] ?? i }) as CheckpointInfo);
  store.writeManifest(manifest);
}

/** Every checkpoint's loss and accuracy on the full train and test splits (manifest rows and history). */
async function evaluateCheckpoints({ store, ck, config, manifest, progress }: ImportJob, splits: RunData): Promise<void> {
  const t0 = Date.now();
  const backend = config.engine.backend as Backend;
  let tr: LossEngine | undefined;
  let te: LossEngine | null = null;
  try {
    tr = await createEngine(ck.model, splits.train, { backend });
    te = splits.test.y.length ? await createEngine(ck.model, splits.test, { backend }) : null;
    const task = progress.task('evaluating checkpoints', ck.thetas.length, 'checkpoints');
    for (let i = 0; i < ck.thetas.length; i++) {
      const a = await tr.evaluate(ck.thetas[i]!);
      const row: CheckpointInfo = { ...manifest.checkpoints[i]!, train_loss: a.loss, train_acc: a.acc };
      if (te) {
        const b = await te.evaluate(ck.thetas[i]!);
        row.test_loss = b.loss;
        row.test_acc = b.acc;
      }
      manifest.checkpoints[i] = row;
      task.update(i + 1);
    }
    task.end();
  } finally {
    await tr?.dispose();
    await te?.dispose();
  }
  manifest.history = manifest.checkpoints.map(({ index: _i, ...r }) => r);
  manifest.timings.evaluate_s = (Date.now() - t0) / 1000;
  store.writeManifest(manifest);
}

/** One landscape per checkpoint on the evaluation subset (and the test subset), each a frame. */
async function importLandscapes(job: ImportJob, splits: RunData): Promise<void> {
  const t1 = Date.now();
  const { ck, config, manifest } = job;
  const opts = { backend: config.engine.backend as Backend, mode: config.surface.mode };
  const grid = surfaceGrid(config.surface);
  const engines: { train?: LossEngine; test?: LossEngine } = {};
  try {
    engines.train = await createEngine(ck.model, splits.evalSubset, opts);
    if (splits.testSubset) engines.test = await createEngine(ck.model, splits.testSubset, opts);
    const both = engines.test ? { train: engines.train, test: engines.test } : { train: engines.train };
    for (let i = 0; i < ck.thetas.length; i++) {
      manifest.frames.push(await importLandscape(job, i, grid, both));
      job.store.writeManifest(manifest);
    }
  } finally {
    await engines.train?.dispose();
    await engines.test?.dispose();
  }
  manifest.timings.surfaces_s = (Date.now() - t1) / 1000;
}

/** Directions and surface of checkpoint i; its frame. */
async function importLandscape(job: ImportJob, i: number, grid: Grid, engines: { train: LossEngine; test?: LossEngine }): Promise<FrameInfo> {
  const { store, ck, manifest, progress } = job;
  const { directions, surface } = job.config;
  const theta = ck.thetas[i]!;
  const seed = checkpointSeed(directions, i);
  const plane = await checkpointPlane(directions, ck.model.layout, engines.train, theta, seed);
  const dirFile = frameFile('directions', i);
  await writeDirectionFile(store.path(dirFile), ck.model.layout, plane.dx, grid.y ? plane.dy : undefined, { ...plane.attrs, cosine: plane.cosine });
  const surfFile = frameFile('surfaces', i);
  const task = progress.task(`landscape ${i + 1}/${ck.thetas.length}`, gridSize(grid), 'points');
  const center = await engines.train.evaluate(theta);
  await computeSurface({
    theta,
    dx: plane.dx,
    dy: grid.y ? plane.dy : undefined,
    grid,
    engines,
    path: store.path(surfFile),
    context: { configHash: manifest.configHash, checkpoint: i },
    chunkSize: surface.chunk,
    attrs: {
      checkpoint: i,
      step: manifest.checkpoints[i]!.step,
      epoch: manifest.checkpoints[i]!.epoch,
      dir_file: dirFile,
      center_loss: center.loss,
      center_acc: center.acc,
    },
    onProgress: (p) => task.update(p.done),
  });
  task.end();
  return { checkpoint: i, surface: surfFile, directions: dirFile, center_loss: center.loss, center_acc: center.acc, cosine: plane.cosine };
}
