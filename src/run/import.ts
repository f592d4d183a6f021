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
import { type Grid, gridSize, parseAxis } from '../core/grid.js';
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
import type { LoadOnnxOptions } from '../model/onnx/load.js';
import { type CheckpointInfo, type FrameInfo, frameFile, type Manifest, RUN_FORMAT, RunStore } from '../store/run-store.js';
import { computeSurface } from '../surface/surface.js';
import { DataSpec, DirectionSpec, EngineSpec, SurfaceSpec } from './config.js';
import { type RunData, splitData } from './data.js';
import { checkpointSeed, specAttrs, specPlane } from './directions.js';
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
  /** Evaluation subset of the train split (count, fraction or 'all'; default 0.05 as for runs). */
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
  const model = ck.model;
  progress.log(
    `${model.name}: ${model.layout.size.toLocaleString('en-US')} parameters in ${model.layout.entries.length} tensors, ${ck.thetas.length} checkpoint(s) (${ck.format})`,
  );
  const roles = new Map<string, number>();
  for (const e of model.layout.entries) roles.set(e.role, (roles.get(e.role) ?? 0) + 1);
  progress.log(`parameter tensors: ${[...roles].map(([r, n]) => `${n} ${r}`).join(', ')} (first: ${model.layout.entries[0]!.name})`);
  for (const n of ck.onnx.notes) progress.log(n);

  // the run folder
  const store = new RunStore(opts.out);
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0) {
    if (!opts.fresh) throw new Error(`${opts.out} exists and is not empty; use --fresh to replace it, or another --out`);
    for (const f of readdirSync(opts.out)) rmSync(resolve(opts.out, f), { recursive: true, force: true });
  }
  store.ensureDirs();
  const arch = resolve(ck.architecture);
  const standalone = standaloneOnnx(arch);
  if (standalone) writeFileSync(store.path('model.onnx'), standalone);
  else copyFileSync(arch, store.path('model.onnx'));

  // data, split like a run
  const dataSpec = DataSpec.parse({
    source: 'file',
    path: opts.data ? resolve(opts.data) : '(none)',
    testFraction: opts.testFraction ?? 0.2,
    splitSeed: opts.splitSeed ?? 0,
    subset: { size: opts.subset ?? 0.05, seed: opts.subsetSeed ?? 0 },
    ...(opts.testSubset !== undefined ? { testSubset: { size: opts.testSubset, seed: opts.subsetSeed ?? 0 } } : {}),
  });
  let splits: RunData | null = null;
  if (opts.data) {
    const all = fitToModelInput(await loadDataFile(opts.data, opts.dataOptions), model.inputShape);
    if (all.task === 'classification' && all.outputDim !== model.outputDim) {
      if (all.outputDim > model.outputDim) {
        throw new Error(`${opts.data}: labels go up to ${all.outputDim - 1} but the model has ${model.outputDim} outputs`);
      }
      all.outputDim = model.outputDim;
    }
    splits = splitData(all, dataSpec);
    progress.log(`data ${all.name}: ${splits.train.y.length} train / ${splits.test.y.length} test samples; landscapes on ${splits.subset.size}`);
  }

  const directions = DirectionSpec.parse({ seed: 123, norm: 'filter', ignore: 'biasbn', ...opts.directions });
  const surface = SurfaceSpec.parse({ x: opts.x ?? '-1:1:41', y: opts.y === undefined ? '-1:1:41' : opts.y });
  const engine = EngineSpec.parse({ backend: opts.backend ?? 'auto' });
  const config = {
    name: opts.name ?? 'import',
    data: dataSpec,
    model: { type: 'onnx', path: 'model.onnx', ...(opts.onnx?.inputShape ? { inputShape: opts.onnx.inputShape } : {}) },
    directions,
    surface,
    engine,
  };
  const now = new Date().toISOString();
  const weightsList = opts.weights === undefined ? [] : (Array.isArray(opts.weights) ? opts.weights : [opts.weights]).map((w) => resolve(w));
  const manifest: ImportedRun = {
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

  // checkpoints.h5
  const thetas = new Map<number, { theta: Float32Array; step: number; epoch: number }>();
  ck.thetas.forEach((theta, i) => thetas.set(i, { theta, step: ck.steps[i] ?? i, epoch: ck.epochs[i] ?? i }));
  await store.writeCheckpoints(layoutToJSON(model.layout), thetas);
  manifest.checkpoints = ck.thetas.map((_, i) => ({ index: i, step: ck.steps[i] ?? i, epoch: ck.epochs[i] ?? i }) as CheckpointInfo);
  store.writeManifest(manifest);

  const t0 = Date.now();
  // metrics on the full splits
  if (splits && opts.evaluate !== false) {
    const tr = await createEngine(model, splits.train, { backend: engine.backend as Backend });
    const te = splits.test.y.length ? await createEngine(model, splits.test, { backend: engine.backend as Backend }) : null;
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
    await tr.dispose();
    await te?.dispose();
    manifest.history = manifest.checkpoints.map(({ index: _i, ...r }) => r);
    manifest.timings.evaluate_s = (Date.now() - t0) / 1000;
    store.writeManifest(manifest);
  }

  // one landscape per checkpoint
  if (splits && opts.surfaces) {
    const t1 = Date.now();
    const grid: Grid = { x: parseAxis(surface.x, 'x') };
    if (surface.y) grid.y = parseAxis(surface.y, 'y');
    const engines: { train: LossEngine; test?: LossEngine } = {
      train: await createEngine(model, splits.evalSubset, { backend: engine.backend as Backend, mode: surface.mode }),
    };
    if (splits.testSubset) engines.test = await createEngine(model, splits.testSubset, { backend: engine.backend as Backend, mode: surface.mode });
    for (let i = 0; i < ck.thetas.length; i++) {
      const theta = ck.thetas[i]!;
      const seed = checkpointSeed(directions, i);
      const plane = specPlane(theta, model.layout, directions, seed);
      const dirFile = frameFile('directions', i);
      await writeDirectionFile(store.path(dirFile), model.layout, plane.dx, grid.y ? plane.dy : undefined, {
        ...specAttrs(directions, seed),
        cosine: plane.cosine,
      });
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
      const frame: FrameInfo = {
        checkpoint: i,
        surface: surfFile,
        directions: dirFile,
        center_loss: center.loss,
        center_acc: center.acc,
        cosine: plane.cosine,
      };
      manifest.frames.push(frame);
      store.writeManifest(manifest);
    }
    await engines.train.dispose();
    await engines.test?.dispose();
    manifest.timings.surfaces_s = (Date.now() - t1) / 1000;
  }
  manifest.timings.total_s = (Date.now() - t0) / 1000;
  manifest.status = 'complete';
  store.writeManifest(manifest);
  return manifest;
}
