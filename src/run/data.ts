/** Builds the datasets a run config describes: train/test split and the fixed evaluation subsets. */
import { loadCifar } from '../data/cifar.js';
import type { Dataset, TrainTest } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadMnist } from '../data/mnist.js';
import { type SyntheticKind, synthetic } from '../data/synthetic.js';
import type { DataSpec } from './config.js';
import { type RunData, splitData, withSubsets } from './split.js';

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

/** Data sets that come with their own training and test splits. */
function loadSplitSource(spec: DataSpec): TrainTest | null {
  if (spec.source === 'fashion-mnist') return loadFashionMnist(spec.path);
  if (spec.source === 'cifar10' || spec.source === 'cifar100') return loadCifar(spec.source, spec.path!);
  return null;
}

export async function prepareData(spec: DataSpec): Promise<RunData> {
  const fixed = loadSplitSource(spec);
  return fixed ? withSubsets(fixed.train, fixed.test, { ...fixed.train, name: spec.source }, spec) : splitData(await loadSource(spec), spec);
}
