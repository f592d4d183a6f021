import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { loadRun } from '../../src/viewer/server/scene.js';
import { cli, errorLines } from '../helpers/cli.js';
import { tempDir, tinyRun } from './helpers.js';

describe('study commands (CLI)', () => {
  it('losscape pca: directions, surface, manifest entry for the viewer, and says the path is a projection', async () => {
    const dir = tempDir('cli-pca');
    const run = await tinyRun(join(dir, 'run'), { train: { epochs: 4, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 }, seed: 3 } });
    const r = cli(['pca', run, '--n', '9']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pca: .*surface\.h5 explained 0\.\d+ 0\.\d+ \(the path is a projection; contours off the plane may differ\)\n$/);
    expect(r.stderr).toContain('The path is the projection of the training trajectory onto the PCA plane');
    const m = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(m.pca.surface).toBe('pca/surface.h5');
    expect(m.pca.path).toHaveLength(m.checkpoints.length);
    expect(m.pca.path[m.pca.path.length - 1]).toEqual([0, 0]);
    expect(m.pca.explained[0] + m.pca.explained[1]).toBeLessThanOrEqual(1 + 1e-12);
    const gf = await readGridFile(join(run, 'pca', 'surface.h5'));
    expect(String(gf.attrs.note)).toMatch(/projection/);
    expect(gf.grid.x.n).toBe(9);
    // the path lies inside the grid
    for (const [x, y] of m.pca.path as [number, number][]) {
      expect(x).toBeGreaterThanOrEqual(gf.grid.x.min);
      expect(x).toBeLessThanOrEqual(gf.grid.x.max);
      expect(y).toBeGreaterThanOrEqual(gf.grid.y!.min);
      expect(y).toBeLessThanOrEqual(gf.grid.y!.max);
    }
    const scene = await loadRun(run);
    expect(scene.pca?.surface).toBeDefined();
    expect(scene.pca?.explained).toEqual(m.pca.explained);

    // the same through a study config naming the run
    writeFileSync(join(dir, 'pca.yaml'), `study: pca\nname: p\nrun: run\npca: { n: 7, ignore: none }\n`);
    const s = cli(['study', join(dir, 'pca.yaml'), '--out', join(dir, 'p'), '--quiet']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('the path is a projection');
    expect((await readGridFile(join(run, 'pca', 'surface.h5'))).attrs.ignore).toBe('none');
  });

  it('bad inputs are one line', () => {
    const dir = tempDir('cli-bad');
    const r = cli(['fidelity', join(dir, 'nope')]);
    expect(r.code).toBe(2);
    expect(errorLines(r)).toEqual([`losscape: ${join(dir, 'nope')} is not a run folder (no manifest.json)`]);
    writeFileSync(join(dir, 's.yaml'), 'study: taylor\nname: t\n');
    const s = cli(['study', join(dir, 's.yaml')]);
    expect(s.code).toBe(2);
    expect(errorLines(s)).toHaveLength(1);
    expect(s.stderr).toContain('give either "run"');
  });
});
