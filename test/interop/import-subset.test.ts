/** `import --surfaces`: the evaluation subset defaults to all of the train split, and a small one is called out. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silent } from '../../src/core/progress.js';
import { FEW_SAMPLES, importRun } from '../../src/run/import.js';
import { FIXTURE } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-import-subset-'));
const src = join(dir, 'ckpts');
mkdirSync(src);
copyFileSync(`${FIXTURE}model.onnx`, join(src, 'final.onnx'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function importWith(name: string, subset?: number): Promise<{ warnings: string[]; size: number; train: number }> {
  const warnings: string[] = [];
  const m = await importRun(src, {
    out: join(dir, name),
    data: `${FIXTURE}data.h5`,
    surfaces: true,
    x: '-1:1:3',
    y: '-1:1:3',
    ...(subset !== undefined ? { subset } : {}),
    progress: { ...silent, warn: (w: string) => warnings.push(w) },
  });
  return { warnings, size: m.data.subset.size, train: m.data.train };
}

describe('import --surfaces subset', () => {
  it('defaults to the whole train split, without a warning', async () => {
    const r = await importWith('all');
    expect(r.size).toBe(r.train);
    expect(r.size).toBeGreaterThanOrEqual(FEW_SAMPLES);
    expect(r.warnings.filter((w) => w.includes('sample'))).toEqual([]);
  });

  it(`warns when the landscapes rest on fewer than ${FEW_SAMPLES} samples`, async () => {
    const r = await importWith('five', 5);
    expect(r.size).toBe(5);
    expect(r.warnings.some((w) => w.startsWith('the landscapes are evaluated on only 5 sample(s)'))).toBe(true);
  });
});
