/** The exported real architectures of test/fixtures/real-models (scripts/real-models/make_fixtures.py). */
import { readFileSync } from 'node:fs';
import type { Dataset } from '../../../src/data/dataset.js';
import { fitToModelInput, loadDataFile } from '../../../src/data/files.js';

export const REAL = new URL('../../fixtures/real-models/', import.meta.url).pathname;

export interface Meta {
  input_shape: number[];
  opset: number;
  logits_first4: number[][];
  parameters: { name: string; shape: number[] }[];
  state_dict: { name: string; shape: number[] }[];
  data?: unknown;
}

export function realMeta(name: string): Meta {
  return JSON.parse(readFileSync(`${REAL}${name}.json`, 'utf8')) as Meta;
}

export async function realData(name: string, inputShape: number[], n: number): Promise<Dataset> {
  const ds = fitToModelInput(await loadDataFile(realMeta(name).data ? `${REAL}${name}.x.npy` : `${REAL}data.h5`), inputShape);
  const d = inputShape.reduce((a, b) => a * b, 1);
  return { ...ds, x: ds.x.slice(0, n * d), y: ds.y.slice(0, n), outputDim: 5 };
}
