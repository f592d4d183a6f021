/** Tiny trained runs for the study tests (runPipeline directly, no CLI build needed). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.js';
import { resolveConfig } from '../../src/run/config.js';
import { runPipeline } from '../../src/run/pipeline.js';
import { type CompareRow, compareStudy } from '../../src/studies/compare/study.js';
import { loadStudyFile } from '../../src/studies/config.js';
import { tinyConfig } from '../helpers/cli.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `losscape-studies-${prefix}-`));
}

/** Train the tiny spirals config (overrides merged at the top level) into `dir`. */
export async function tinyRun(dir: string, over: Record<string, unknown> = {}): Promise<string> {
  const cfg = resolveConfig(tinyConfig({ surface: { x: '-1:1:5', y: '-1:1:3', chunk: 8 }, ...over }));
  await runPipeline(cfg, dir);
  return dir;
}

/** examples/paper/. */
export const PAPER = join(import.meta.dirname, '..', '..', 'examples', 'paper');

/** Fashion-MNIST (the Debian package) shrunk k-fold, 256 + 256 images, 64-image evaluation subsets. */
export const smallData = (downsample: number) => ({
  source: 'fashion-mnist',
  path: FASHION_MNIST_DIR,
  downsample,
  trainSize: 256,
  testSize: 256,
  normalize: 'channel',
  subset: { size: 64, seed: 0 },
  testSubset: { size: 64, seed: 0 },
});

/** A study file of examples/paper/ with `override` and `variants` in place of its own, light sharpness settings, no report. */
export async function runReduced(
  file: string,
  override: Record<string, unknown>,
  variants: Record<string, Record<string, unknown>>,
  out = tempDir(file.replace(/\.yaml$/, '')),
): Promise<Map<string, CompareRow>> {
  const study = loadStudyFile(join(PAPER, file));
  study.config.override = override;
  study.config.variants = variants;
  study.config.sharpness = { epsilon: 1e-3, traceProbes: 2, tol: 1e-3, params: 'all', seed: 0 };
  study.config.report = false;
  const r = await compareStudy(study, { out });
  return new Map(r.rows.map((row) => [row.variant, row]));
}
