/**
 * What `surface` and `hessian` work on, from either a run folder (a checkpoint
 * of a run trained here) or files (an ONNX model, a data file and optionally a
 * reference-code direction file).
 */

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { LosscapeError } from '../core/errors.js';
import { type Grid, parseAxis } from '../core/grid.js';
import { hashBytes } from '../core/hash.js';
import { type Dataset, take } from '../data/dataset.js';
import { subsetIndices } from '../data/subset.js';
import { NORMALIZATIONS, type Normalization, randomPlane } from '../directions/directions.js';
import { readDirectionFile } from '../directions/file.js';
import type { Model } from '../model/model.js';
import { resolveConfig } from '../run/config.js';
import { prepareData } from '../run/data.js';
import { resolveModel } from '../run/model.js';
import { RunStore } from '../store/run-store.js';
import { choiceFlag, numberFlag } from './flags.js';

export interface Inputs {
  model: Model;
  theta: Float32Array;
  /** The evaluation subset. */
  data: Dataset;
  test?: Dataset;
  dx: Float32Array;
  dy?: Float32Array;
  cosine: number;
  /** Where the directions came from (stored with results). */
  directionSource: string;
  /** Everything the values depend on besides θ, directions, grid and engine. */
  context: Record<string, unknown>;
  store?: RunStore;
  checkpoint?: number;
  /** Lines to show as warnings (e.g. an imported model's folded batch norm). */
  warnings: string[];
}

export interface InputFlags {
  checkpoint?: string;
  model?: string;
  data?: string;
  testData?: string;
  directions?: string;
  dirSeed?: string;
  norm?: string;
  ignore?: string;
  orthogonal?: boolean;
  subset?: string;
  subsetSeed?: string;
  inputShape?: string;
}

function parseShape(text: string): number[] {
  const dims = text.split(/[x×,]/).map((d) => Number(d.trim()));
  if (!dims.length || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new LosscapeError('usage', `--input-shape "${text}" must be positive integers like 1x28x28`);
  }
  return dims;
}

export function addInputOptions(cmd: Command): Command {
  return cmd
    .argument('[run]', 'a run folder (omit with --model/--data)')
    .option('--checkpoint <k>', 'checkpoint index of the run (default: the last)')
    .option('--model <file.onnx>', 'an ONNX model (torch.onnx.export); its initializers are the parameters')
    .option('--data <file>', 'data file for --model: HDF5 (X, y), NPY/NPZ, IDX or CSV')
    .option('--input-shape <dims>', 'per-sample input shape for --model, e.g. 1x28x28 (when the graph does not fix it)')
    .option('--test-data <file>', 'also evaluate on this test data file')
    .option('--directions <file.h5>', "direction file (the reference code's layout: xdirection/k, ydirection/k)")
    .option('--dir-seed <n>', 'seed of random directions (when no --directions)', '123')
    .option('--norm <kind>', `direction normalization: ${NORMALIZATIONS.join(', ')}`, 'filter')
    .option('--ignore <what>', 'biasbn (zero directions on tensors with ≤ 1 dim) or none', 'biasbn')
    .option('--orthogonal', 'Gram–Schmidt the second direction against the first')
    .option('--subset <size>', "evaluation subset: a count, a fraction or 'all' (run: the run's subset; files: all)")
    .option('--subset-seed <n>', 'seed of the evaluation subset', '0');
}

export function gridFromFlags(x: string | undefined, y: string | undefined, defX = '-1:1:51'): Grid {
  try {
    const g: Grid = { x: parseAxis(x ?? defX, '--x') };
    if (y) g.y = parseAxis(y, '--y');
    return g;
  } catch (e) {
    throw new LosscapeError('usage', (e as Error).message);
  }
}

function parseSubset(v: string | undefined): number | 'all' | undefined {
  if (v === undefined) return undefined;
  if (v === 'all') return 'all';
  return numberFlag(v, '--subset', { min: 0 });
}

export async function resolveInputs(run: string | undefined, f: InputFlags, twoD: boolean): Promise<Inputs> {
  const norm = choiceFlag(f.norm, '--norm', NORMALIZATIONS) ?? 'filter';
  const ignore = choiceFlag(f.ignore, '--ignore', ['biasbn', 'none'] as const) ?? 'biasbn';
  const dirSeed = numberFlag(f.dirSeed, '--dir-seed', { integer: true, min: 0 }) ?? 123;
  const subsetSeed = numberFlag(f.subsetSeed, '--subset-seed', { integer: true, min: 0 }) ?? 0;
  const warnings: string[] = [];
  const subset = parseSubset(f.subset);
  if (run && f.model) throw new LosscapeError('usage', 'give either a run folder or --model/--data, not both');
  if (!run && !f.model) throw new LosscapeError('usage', 'give a run folder, or --model FILE.onnx with --data FILE');
  for (const [flag, p] of [
    ['--model', f.model],
    ['--data', f.data],
    ['--test-data', f.testData],
    ['--directions', f.directions],
  ] as const) {
    if (p && !existsSync(p)) throw new LosscapeError('usage', `${flag} ${p}: no such file`);
  }

  let model: Model;
  let theta: Float32Array;
  let data: Dataset;
  let test: Dataset | undefined;
  let store: RunStore | undefined;
  let checkpoint: number | undefined;
  const context: Record<string, unknown> = {};
  if (run) {
    store = new RunStore(run);
    if (!store.exists()) throw new LosscapeError('usage', `${run} is not a run folder (no manifest.json)`);
    const m = store.readManifest();
    const cfg = resolveConfig(m.config, `${run}/manifest.json`);
    const thetas = await store.readCheckpoints();
    if (thetas.size === 0) throw new LosscapeError('usage', `${run} has no checkpoints yet`);
    checkpoint = numberFlag(f.checkpoint, '--checkpoint', { integer: true, min: 0 }) ?? Math.max(...thetas.keys());
    const c = thetas.get(checkpoint);
    if (!c) throw new LosscapeError('usage', `${run} has no checkpoint ${checkpoint} (it has ${[...thetas.keys()].join(', ')})`);
    const d = await prepareData(cfg.data);
    model = (await resolveModel(cfg.model, d.train.inputShape, d.train.outputDim)).model;
    theta = c.theta;
    data = subset === undefined ? d.evalSubset : take(d.train, subsetIndices(d.train, { size: subset, seed: subsetSeed }));
    test = d.testSubset;
    Object.assign(context, { run: m.configHash, checkpoint, subset: subset ?? 'run', subsetSeed });
  } else {
    if (!f.data) throw new LosscapeError('usage', '--model needs --data (the samples to evaluate the loss on)');
    const { loadOnnxModel } = await import('../model/onnx/load.js');
    const { loadDataFile, fitToModelInput } = await import('../data/files.js');
    const inputShape = f.inputShape ? parseShape(f.inputShape) : undefined;
    const imp = await loadOnnxModel(f.model!, { inputShape });
    warnings.push(...imp.warnings.map((w) => `${f.model}: ${w}`));
    model = imp.model;
    theta = imp.theta;
    const classes = model.outputDim;
    const all = fitToModelInput(await loadDataFile(f.data, { classes }), model.inputShape);
    data = subset === undefined || subset === 'all' ? all : take(all, subsetIndices(all, { size: subset, seed: subsetSeed }));
    if (f.testData) test = fitToModelInput(await loadDataFile(f.testData, { classes }), model.inputShape);
    Object.assign(context, {
      model: hashBytes(imp.graphBytes),
      data: hashBytes(data.x, data.y),
      test: test ? hashBytes(test.x, test.y) : null,
    });
  }

  let dx: Float32Array;
  let dy: Float32Array | undefined;
  let cosine: number;
  let directionSource: string;
  if (f.directions) {
    const df = await readDirectionFile(f.directions, model.layout);
    if (twoD && !df.dy) throw new LosscapeError('usage', `${f.directions} has no ydirection; give --x only for a 1-D slice`);
    dx = df.dx;
    dy = twoD ? df.dy : undefined;
    const { cosine: cos } = await import('../directions/directions.js');
    cosine = dy ? cos(dx, dy) : 0;
    directionSource = f.directions;
  } else {
    const plane = randomPlane(theta, model.layout, { seed: dirSeed, norm: norm as Normalization, ignore, orthogonal: f.orthogonal });
    dx = plane.dx;
    dy = twoD ? plane.dy : undefined;
    cosine = plane.cosine;
    directionSource = `random seed ${dirSeed}, ${norm}, ignore ${ignore}${f.orthogonal ? ', orthogonal' : ''}`;
  }
  return { model, theta, data, test, dx, dy, cosine, directionSource, context, store, checkpoint, warnings };
}
