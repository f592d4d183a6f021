/**
 * A run that fails part-way: the manifest says status 'failed' with the reason, every engine
 * the pipeline created is disposed, and a rerun of the same config resumes and completes
 * with the same checkpoints as an uninterrupted run.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LosscapeError } from '../../src/core/errors.js';
import type { ProgressSink } from '../../src/core/progress.js';
import type { LossEngine } from '../../src/engine/engine.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { resolveConfig } from '../../src/run/config.js';
import { runPipeline } from '../../src/run/pipeline.js';
import type { Manifest } from '../../src/store/run-store.js';
import { tinyConfig } from '../helpers/cli.js';

/** Engines the pipeline created and disposed; `failPlaneAfter` makes the n+1-th plane evaluation throw. */
const engines = vi.hoisted(() => ({ created: 0, disposed: 0, planes: 0, failPlaneAfter: Number.POSITIVE_INFINITY }));

vi.mock('../../src/engine/registry.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/engine/registry.js')>();
  return {
    ...orig,
    createEngine: async (...args: Parameters<typeof orig.createEngine>): Promise<LossEngine> => {
      const e = await orig.createEngine(...args);
      engines.created++;
      return new Proxy(e, {
        get(target, key) {
          if (key === 'dispose') {
            return () => {
              engines.disposed++;
              return target.dispose();
            };
          }
          if (key === 'evaluatePlane') {
            return (...a: Parameters<LossEngine['evaluatePlane']>) => {
              if (engines.planes++ >= engines.failPlaneAfter) throw new Error('injected engine failure\nsecond line');
              return target.evaluatePlane(...a);
            };
          }
          const v = Reflect.get(target, key, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
  };
});

const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const tempRun = () => join(mkdtempSync(join(tmpdir(), 'losscape-pipeline-')), 'run');

function logs(): { sink: ProgressSink; lines: string[] } {
  const lines: string[] = [];
  const sink: ProgressSink = { log: (l) => lines.push(l), warn: (l) => lines.push(l), task: () => ({ update() {}, end() {} }) };
  return { sink, lines };
}

afterEach(() => {
  Object.assign(engines, { created: 0, disposed: 0, planes: 0, failPlaneAfter: Number.POSITIVE_INFINITY });
});

describe('a run that fails', () => {
  it('training diverges: status failed with the reason, every engine disposed', async () => {
    const dir = tempRun();
    const cfg = resolveConfig(tinyConfig({ train: { epochs: 2, batchSize: 32, optimizer: { type: 'adam', lr: 1e38 }, seed: 3, checkpointEvery: 4 } }));
    const err = await runPipeline(cfg, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LosscapeError);
    expect((err as LosscapeError).kind).toBe('failed');
    const m = manifestOf(dir);
    expect(m.status).toBe('failed');
    expect(m.error).toBe((err as Error).message);
    expect(m.error).toMatch(/diverged/);
    // the train and test splits' metrics engines of the checkpoints, and the two subsets' engines
    expect(engines.created).toBe(4);
    expect(engines.disposed).toBe(engines.created);
  }, 120_000);

  it('a landscape fails: status failed with its first line; the rerun resumes to the uninterrupted result', async () => {
    const cfg = resolveConfig(tinyConfig({ train: { epochs: 2, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 }, seed: 3, checkpointEvery: 6 } }));
    const ref = tempRun();
    const mRef = await runPipeline(cfg, ref);
    expect(engines.disposed).toBe(engines.created);
    const planesPerRun = engines.planes;

    const dir = tempRun();
    engines.failPlaneAfter = engines.planes + Math.floor(planesPerRun / 2);
    await expect(runPipeline(cfg, dir)).rejects.toThrow(/injected engine failure/);
    const failed = manifestOf(dir);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('injected engine failure');
    expect(failed.checkpoints.length).toBeGreaterThan(0);
    expect(failed.frames.length).toBeLessThan(mRef.frames.length);
    expect(engines.disposed).toBe(engines.created);

    engines.failPlaneAfter = Number.POSITIVE_INFINITY;
    const { sink, lines } = logs();
    const m = await runPipeline(cfg, dir, { progress: sink });
    expect(lines.some((l) => /resuming the run/.test(l))).toBe(true);
    expect(m.status).toBe('complete');
    expect(m.error).toBeUndefined();
    expect(manifestOf(dir).status).toBe('complete');
    expect(m.checkpoints).toEqual(mRef.checkpoints);
    expect(m.frames.length).toBe(mRef.frames.length);
    for (const f of mRef.frames) {
      const a = await readGridFile(join(ref, f.surface!));
      const b = await readGridFile(join(dir, f.surface!));
      expect(Buffer.from(b.values.train_loss!.buffer).equals(Buffer.from(a.values.train_loss!.buffer))).toBe(true);
    }
    expect(engines.disposed).toBe(engines.created);
  }, 300_000);
});
