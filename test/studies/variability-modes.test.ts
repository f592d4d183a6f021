import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silent } from '../../src/core/progress.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { modesStudy } from '../../src/studies/modes/study.js';
import { pointwiseSpread } from '../../src/studies/variability/spread.js';
import { variabilityStudy } from '../../src/studies/variability/study.js';
import { loadScene } from '../../src/viewer/server/scene.js';
import { tempDir, tinyRun } from './helpers.js';

describe('direction variability', () => {
  it('K planes: per-point min ≤ median ≤ max over the seed files, per-seed statistics', async () => {
    const dir = tempDir('variability');
    const run = await tinyRun(join(dir, 'run'));
    const r = await variabilityStudy(run, { count: 3, radius: 0.5, out: join(dir, 'v') });
    expect(r.seeds).toEqual([123, 125, 127]);
    const files = await Promise.all(r.seeds.map((s) => readGridFile(join(dir, 'v', `seed-${s}`, 'surfaces', 'ckpt-0002.h5'))));
    const spread = await readGridFile(join(dir, 'v', 'spread.h5'));
    const own = pointwiseSpread(files.map((f) => f.values.train_loss!));
    expect(Array.from(spread.values.loss_min!)).toEqual(Array.from(own.min));
    for (let i = 0; i < own.min.length; i++) {
      expect(own.min[i]).toBeLessThanOrEqual(own.median[i]!);
      expect(own.median[i]).toBeLessThanOrEqual(own.max[i]!);
    }
    // the planes differ, the centre does not
    expect(r.spread.max).toBeGreaterThan(0);
    expect(new Set(r.rows.map((x) => x.centre)).size).toBe(1);
    // the finite-difference curvature approximates the exact one (smooth tanh net, small radius)
    for (const row of r.rows) {
      expect(row.curvD).toBeGreaterThan(0);
      expect(Math.abs(row.fdD - row.curvD)).toBeLessThan(0.2 * Math.abs(row.curvD) + 1e-3);
    }
    // the K landscapes open together in the compare viewer
    const scene = await loadScene(r.seeds.map((s) => join(dir, 'v', `seed-${s}`)));
    expect(scene.runs.every((x) => !x.error && x.frames.length === 1)).toBe(true);
  });
});

describe('train vs eval mode', () => {
  it('BN + dropout: both surfaces written, they differ, the difference is their difference', async () => {
    const dir = tempDir('modes');
    const run = await tinyRun(join(dir, 'run'), {
      model: { type: 'mlp', hidden: [16], activation: 'tanh', batchNorm: true, dropout: 0.2 },
      surface: { x: '-1:1:5', y: '-1:1:3', chunk: 8, batchSize: 40 },
    });
    const r = await modesStudy(run, { out: join(dir, 'm') });
    expect(r.identical).toBe(false);
    const ev = await readGridFile(join(dir, 'm', 'eval', 'surfaces', 'ckpt-0002.h5'));
    const tr = await readGridFile(join(dir, 'm', 'train', 'surfaces', 'ckpt-0002.h5'));
    expect(ev.attrs.mode).toBe('eval');
    expect(tr.attrs.mode).toBe('train');
    const a = ev.values.train_loss!;
    const b = tr.values.train_loss!;
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(b[i]! - a[i]!));
    expect(max).toBeGreaterThan(1e-4);
    expect(r.diff.maxAbs).toBeCloseTo(max, 12);
    const d = await readGridFile(join(dir, 'm', 'difference.h5'));
    expect(d.values.difference![3]).toBeCloseTo(b[3]! - a[3]!, 12);
    const scene = await loadScene([join(dir, 'm', 'eval'), join(dir, 'm', 'train')]);
    expect(scene.runs.map((x) => x.name)).toEqual(['eval mode', 'train mode']);
  });

  it('without BN and dropout both modes agree exactly', async () => {
    const dir = tempDir('modes0');
    const run = await tinyRun(join(dir, 'run'));
    const warnings: string[] = [];
    const r = await modesStudy(run, { out: join(dir, 'm'), progress: { ...silent, warn: (m: string) => warnings.push(m) } });
    expect(r.identical).toBe(true);
    expect(r.diff.maxAbs).toBe(0);
    // it says so, and points to a run where the modes differ
    expect(warnings.join('\n')).toContain('train and eval mode coincide for this model');
    expect(readFileSync(r.tables.md, 'utf8')).toContain('examples/train-vs-eval.yaml');
  });
});
