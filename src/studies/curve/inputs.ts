/**
 * The two ends of a curve: checkpoints of two run folders (the same model; the data, split and
 * evaluation subset of the first), or two ONNX files of the same architecture with a data file.
 */
import { existsSync } from 'node:fs';
import { LosscapeError } from '../../core/errors.js';
import { layoutToJSON, sameLayout } from '../../core/layout.js';
import type { Dataset } from '../../data/dataset.js';
import { type Backend, createEngine } from '../../engine/registry.js';
import { versions } from '../../run/versions.js';
import { type Manifest, RUN_FORMAT } from '../../store/run-store.js';
import { checkpointOf, openRun, runEngine } from '../run-access.js';
import type { CurveInputs } from './curve.js';

export interface EndsOptions {
  /** Checkpoint indices (default: each run's last). */
  checkpoints?: [number | undefined, number | undefined];
  backend?: Backend;
  warn?(line: string): void;
}

/** Two run folders. */
export async function curveInputsFromRuns(dirA: string, dirB: string, o: EndsOptions = {}): Promise<CurveInputs> {
  const ra = await openRun(dirA);
  const rb = await openRun(dirB);
  if (!sameLayout(ra.model.layout, rb.model.layout)) {
    throw new LosscapeError('input', `${dirA} and ${dirB} do not have the same parameters (names and shapes): a curve needs two networks of one architecture`);
  }
  const dataA = JSON.stringify(ra.cfg.data);
  if (dataA !== JSON.stringify(rb.cfg.data)) {
    o.warn?.(`${dirA} and ${dirB} were trained on different data settings; the curve uses those of ${dirA}`);
  }
  const ca = checkpointOf(ra, o.checkpoints?.[0]);
  const cb = checkpointOf(rb, o.checkpoints?.[1]);
  return {
    model: ra.model,
    a: ca.theta,
    b: cb.theta,
    labels: [`${dirA} ckpt ${ca.index}`, `${dirB} ckpt ${cb.index}`],
    train: ra.data.train,
    evalData: ra.data.evalSubset,
    test: ra.data.testSubset,
    splits: { train: ra.data.train, test: ra.data.test },
    engine: (data) => runEngine(ra, data, { backend: o.backend, mode: 'eval' }, o.warn),
    source: ra.manifest,
    sourceDir: dirA,
  };
}

/** Two ONNX files and a data file (trained on all of it, evaluated on all of it). */
export async function curveInputsFromOnnx(fileA: string, fileB: string, dataFile: string, o: EndsOptions = {}): Promise<CurveInputs> {
  for (const p of [fileA, fileB, dataFile]) if (!existsSync(p)) throw new LosscapeError('usage', `${p}: no such file`);
  const { loadOnnxModel } = await import('../../model/onnx/load.js');
  const { loadDataFile, fitToModelInput } = await import('../../data/files.js');
  const ia = await loadOnnxModel(fileA);
  const ib = await loadOnnxModel(fileB);
  if (!sameLayout(ia.model.layout, ib.model.layout)) {
    throw new LosscapeError(
      'input',
      `${fileA} and ${fileB} do not have the same parameters (names and shapes): a curve needs two networks of one architecture`,
    );
  }
  const model = ia.model;
  const data: Dataset = fitToModelInput(await loadDataFile(dataFile, { classes: model.outputDim }), model.inputShape);
  const all = Array.from({ length: data.y.length }, (_, i) => i);
  const source: Manifest = {
    format: RUN_FORMAT,
    name: `${fileA} ~ ${fileB}`,
    created: new Date().toISOString(),
    updated: new Date().toISOString(),
    status: 'complete',
    versions: versions(),
    config: { model: fileA, data: dataFile },
    configHash: '',
    model: { name: model.name, params: model.layout.size, layout: layoutToJSON(model.layout) },
    data: {
      name: data.name,
      train: data.y.length,
      test: 0,
      inputShape: model.inputShape,
      classes: model.outputDim,
      task: data.task,
      subset: { seed: 0, size: all.length, indices: all },
    },
    history: [],
    checkpoints: [],
    frames: [],
    timings: {},
  };
  return {
    model,
    a: ia.theta,
    b: ib.theta,
    labels: [fileA, fileB],
    train: data,
    evalData: data,
    engine: (d) => createEngine(model, d, { backend: o.backend ?? 'auto' }, o.warn),
    source,
    sourceDir: fileA,
  };
}
