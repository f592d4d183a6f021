/** Tiny trained runs for the study tests (runPipeline directly, no CLI build needed). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/run/config.js';
import { runPipeline } from '../../src/run/pipeline.js';
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
