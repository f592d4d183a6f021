/**
 * The train/test split and the fixed evaluation subsets of a loaded data set (no file access,
 * so the browser playground splits its data with the same code as runs).
 */
import { type Dataset, take, validateDataset } from '../data/dataset.js';
import { channelStats, downsample, normalizeChannels } from '../data/normalize.js';
import { splitIndices, subsetIndices } from '../data/subset.js';
import type { SubsetInfo } from '../store/run-store.js';
import type { DataSpec } from './config.js';

export interface RunData {
  all: Dataset;
  train: Dataset;
  test: Dataset;
  /** The fixed evaluation subset (of the train split) every landscape point uses. */
  evalSubset: Dataset;
  testSubset?: Dataset;
  subset: SubsetInfo;
  testSubsetInfo?: SubsetInfo;
}

/** The train/test split and the fixed evaluation subsets of a loaded dataset. */
export function splitData(all: Dataset, spec: DataSpec): RunData {
  validateDataset(all);
  const [trIdx, teIdx] = splitIndices(all, spec.testFraction, spec.splitSeed);
  return withSubsets(take(all, trIdx, `${all.name}-train`), take(all, teIdx, `${all.name}-test`), all, spec);
}

/** The training and test subsets (trainSize, testSize), downsampling, the normalization and the fixed evaluation subsets of a train/test pair. */
export function withSubsets(train0: Dataset, test0: Dataset, all: Dataset, spec: DataSpec): RunData {
  let train = train0;
  let test = test0;
  if (spec.trainSize !== 'all') train = take(train, subsetIndices(train, { size: spec.trainSize, seed: spec.splitSeed }), train.name);
  if (spec.testSize !== undefined && spec.testSize !== 'all') test = take(test, subsetIndices(test, { size: spec.testSize, seed: spec.splitSeed }), test.name);
  if (spec.downsample) {
    train = downsample(train, spec.downsample);
    test = downsample(test, spec.downsample);
  }
  if (spec.normalize === 'channel') {
    const stats = channelStats(train);
    train = normalizeChannels(train, stats);
    test = normalizeChannels(test, stats);
  }
  const sIdx = subsetIndices(train, spec.subset);
  const out: RunData = {
    all,
    train,
    test,
    evalSubset: take(train, sIdx, `${all.name}-subset`),
    subset: { seed: spec.subset.seed, size: sIdx.length, indices: [...sIdx] },
  };
  if (spec.testSubset) {
    const tIdx = subsetIndices(test, spec.testSubset);
    out.testSubset = take(test, tIdx, `${all.name}-test-subset`);
    out.testSubsetInfo = { seed: spec.testSubset.seed, size: tIdx.length, indices: [...tIdx] };
  }
  return out;
}
