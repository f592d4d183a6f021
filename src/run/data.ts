/** Builds the datasets a run config describes: train/test split and the fixed evaluation subsets. */
import type { Dataset } from '../data/dataset.js';
import { loadMnist } from '../data/mnist.js';
import { type SyntheticKind, synthetic } from '../data/synthetic.js';
import type { DataSpec } from './config.js';
import { type RunData, splitData } from './split.js';

export type { RunData };
export { splitData };

export async function loadSource(spec: DataSpec): Promise<Dataset> {
  if (spec.source === 'mnist') return loadMnist();
  if (spec.source === 'file') {
    const { loadDataFile } = await import('../data/files.js');
    return loadDataFile(spec.path!, {
      x: spec.x,
      y: spec.y,
      labels: spec.labels,
      inputShape: spec.inputShape,
      scale: spec.scale,
      classes: spec.classes,
      task: spec.task,
    });
  }
  return synthetic({ kind: spec.source as SyntheticKind, n: spec.n, noise: spec.noise, seed: spec.splitSeed });
}

export async function prepareData(spec: DataSpec): Promise<RunData> {
  return splitData(await loadSource(spec), spec);
}
