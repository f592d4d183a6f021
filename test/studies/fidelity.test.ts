import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fidelityStudy } from '../../src/studies/fidelity/study.js';
import { parseSize } from '../../src/studies/parse.js';
import { loadRun } from '../../src/viewer/server/scene.js';
import { tempDir, tinyRun } from './helpers.js';

describe('subset fidelity', () => {
  it('100 % gives zero error; smaller subsets do not; tables and one-frame runs are written', async () => {
    const dir = tempDir('fidelity');
    const run = await tinyRun(join(dir, 'run'));
    const r = await fidelityStudy(run, { sizes: [parseSize('100%'), parseSize('10%'), 0.5], x: '-1:1:5', y: '-1:1:3', out: join(dir, 'fid') });
    expect(r.rows.map((x) => x.size)).toEqual(['100%', '10%', '50%']);
    const all = r.rows[0]!;
    expect(all.samples).toBe(r.trainSamples);
    expect(all.maxRelErr).toBe(0);
    expect(all.meanRelErr).toBe(0);
    expect(all.maxAccDiff).toBe(0);
    expect(r.rows[1]!.samples).toBe(Math.round(0.1 * r.trainSamples));
    expect(r.rows[1]!.maxRelErr).toBeGreaterThan(0);
    expect(r.rows[1]!.meanRelErr).toBeLessThanOrEqual(r.rows[1]!.maxRelErr);
    expect(existsSync(r.tables.csv)).toBe(true);
    const csv = (await import('node:fs')).readFileSync(r.tables.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('size,samples,seed,max_rel_err,mean_rel_err,center_rel_err,max_acc_diff,mean_acc_diff');
    expect(csv[1]!.startsWith('100%,')).toBe(true);
    // the landscapes are viewable runs
    const scene = await loadRun(join(dir, 'fid', 'full'));
    expect(scene.error).toBeUndefined();
    expect(scene.frames).toHaveLength(1);
  });

  it('parses sizes', () => {
    expect(parseSize('5%')).toBe(0.05);
    expect(parseSize('100%')).toBe('all');
    expect(parseSize('0.2')).toBe(0.2);
    expect(parseSize('500')).toBe(500);
    expect(() => parseSize('1.5')).toThrow(/whole number/);
    expect(() => parseSize('0%')).toThrow();
  });
});
