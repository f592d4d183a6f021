/**
 * The PCA study's files as the paper's plot_2D.plot_contour_trajectory reads them: the
 * surface (xcoordinates, ycoordinates, train_loss), the direction file's
 * explained_variance_ratio_ and the projection file's proj_xcoord / proj_ycoord. The layout
 * is checked through h5wasm always, and through h5py (and matplotlib, running the function's
 * own reads and plots) where /usr/bin/python3 has them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readH5 } from '../../src/io/h5.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { pcaFigure } from '../../src/studies/pca/figure.js';
import { pcaStudy } from '../../src/studies/pca/study.js';
import { tempDir, tinyRun } from './helpers.js';

const PY = '/usr/bin/python3';
const has = (mods: string) => spawnSync(PY, ['-c', `import ${mods}`]).status === 0;
const haveH5py = has('h5py, numpy');
const haveMatplotlib = haveH5py && has('matplotlib');

// plot_contour_trajectory from the paper's plot_2D.py (tomgoldstein/loss-landscape), its reads and
// plots unchanged except that the projection datasets are read into numpy arrays before plt.plot
// (matplotlib 3.6+ cannot index an h5py Dataset with [:, np.newaxis], whatever file it comes
// from); the figure goes to a PNG instead of a PDF, and what it read is printed as JSON. Python
// warnings are off: its fixed log-spaced contour levels (10 … 1e8) miss small losses.
const PLOT_CONTOUR_TRAJECTORY = `
import sys, json, h5py, numpy as np
surf_file, dir_file, proj_file, draw = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1'
surf_name = 'train_loss'
f = h5py.File(surf_file, 'r')
x = np.array(f['xcoordinates'][:])
y = np.array(f['ycoordinates'][:])
X, Y = np.meshgrid(x, y)
Z = np.array(f[surf_name][:])
pf = h5py.File(proj_file, 'r')
df = h5py.File(dir_file, 'r')
ratio_x = df['explained_variance_ratio_'][0]
ratio_y = df['explained_variance_ratio_'][1]
if draw:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig = plt.figure()
    CS1 = plt.contour(X, Y, Z, levels=np.arange(0.1, 10, 0.5))
    CS2 = plt.contour(X, Y, Z, levels=np.logspace(1, 8, num=8))
    plt.plot(np.array(pf['proj_xcoord']), np.array(pf['proj_ycoord']), marker='.')
    plt.xlabel('1st PC: %.2f %%' % (ratio_x*100), fontsize='xx-large')
    plt.ylabel('2nd PC: %.2f %%' % (ratio_y*100), fontsize='xx-large')
    fig.savefig(proj_file + '_' + surf_name + '_2dcontour_proj.png', dpi=50, bbox_inches='tight')
print(json.dumps({
  'meshgrid_ok': bool(Z.shape == X.shape),
  'proj': [list(map(float, pf['proj_xcoord'][:])), list(map(float, pf['proj_ycoord'][:]))],
  'proj_dtypes': [str(pf['proj_xcoord'].dtype), str(pf['proj_ycoord'].dtype)],
  'ratio': [float(ratio_x), float(ratio_y)],
  'dir_keys': sorted(df.keys()),
}))
`;

let run: string;
let manifest: {
  pca: { path: [number, number][]; explained: [number, number]; projection: string; directions: string; surface: string };
  checkpoints: unknown[];
};

beforeAll(async () => {
  run = await tinyRun(join(tempDir('pca-ref'), 'run'));
  await pcaStudy(run, { n: 7 });
  manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
}, 120_000);
afterAll(() => rmSync(dirname(run), { recursive: true, force: true }));

describe('PCA files in the reference layout', () => {
  it('projection file: proj_xcoord / proj_ycoord, one float64 per checkpoint, the path the viewer draws', async () => {
    expect(manifest.pca.projection).toBe('pca/projection.h5');
    const h = await readH5(join(run, manifest.pca.projection));
    const px = h.get('proj_xcoord')!;
    const py = h.get('proj_ycoord')!;
    expect(px.shape).toEqual([manifest.checkpoints.length]);
    expect(py.shape).toEqual([manifest.checkpoints.length]);
    expect(px.value).toBeInstanceOf(Float64Array);
    expect(Array.from(px.value as Float64Array)).toEqual(manifest.pca.path.map((p) => p[0]));
    expect(Array.from(py.value as Float64Array)).toEqual(manifest.pca.path.map((p) => p[1]));
    expect(h.attrs.dir_file).toBe('pca/directions.h5');

    const d = await readH5(join(run, manifest.pca.directions));
    expect(Array.from(d.get('explained_variance_ratio_')!.value as Float64Array)).toEqual(manifest.pca.explained);
    const ev = d.get('explained_variance_')!.value as Float64Array;
    const sv = d.get('singular_values_')!.value as Float64Array;
    // sklearn: explained_variance_ = singular_values_² / (n_samples − 1), ratios of the same variances
    const k = manifest.checkpoints.length;
    for (let i = 0; i < 2; i++) expect(ev[i]!).toBeCloseTo(sv[i]! ** 2 / (k - 1), 12);
    expect(ev[1]! / ev[0]!).toBeCloseTo(manifest.pca.explained[1] / manifest.pca.explained[0], 8);
    expect(d.children('xdirection').length).toBeGreaterThan(0);
  });

  it(`plot_contour_trajectory's reads (and plots, with matplotlib) work on the files${haveH5py ? '' : ' (skipped: no python3-h5py)'}`, (ctx) => {
    if (!haveH5py) ctx.skip();
    const p = spawnSync(
      PY,
      [
        '-W',
        'ignore',
        '-c',
        PLOT_CONTOUR_TRAJECTORY,
        join(run, manifest.pca.surface),
        join(run, manifest.pca.directions),
        join(run, manifest.pca.projection),
        haveMatplotlib ? '1' : '0',
      ],
      { encoding: 'utf8' },
    );
    expect(p.stderr).toBe('');
    const r = JSON.parse(p.stdout);
    expect(r.meshgrid_ok).toBe(true);
    expect(r.proj).toEqual([manifest.pca.path.map((q) => q[0]), manifest.pca.path.map((q) => q[1])]);
    expect(r.proj_dtypes).toEqual(['float64', 'float64']);
    expect(r.ratio).toEqual(manifest.pca.explained);
    expect(r.dir_keys).toEqual(['explained_variance_', 'explained_variance_ratio_', 'singular_values_', 'xdirection', 'ydirection']);
    if (haveMatplotlib)
      expect(
        readFileSync(`${join(run, manifest.pca.projection)}_train_loss_2dcontour_proj.png`)
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
  });

  it('the figure: equal aspect, PC1/PC2 axis titles with the explained variance, ticks on both axes', async () => {
    const f = await pcaFigure(run, false);
    const svg = readFileSync(f.svg, 'utf8');
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThanOrEqual(600);
    const [e1, e2] = manifest.pca.explained;
    expect(svg).toContain(`PC1 (${(100 * e1).toFixed(1)} % of the variance)`);
    expect(svg).toContain(`PC2 (${(100 * e2).toFixed(1)} % of the variance)`);
    // heatmap cells: their union is as wide and as high as the grid's ranges at one scale
    const g = (await readGridFile(join(run, manifest.pca.surface))).grid;
    const cells = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#[0-9a-f]{6}"\/>/g)].map((m) =>
      m.slice(1).map(Number),
    );
    expect(cells).toHaveLength(g.x.n * g.y!.n);
    const w = Math.max(...cells.map((c) => c[0]!)) - Math.min(...cells.map((c) => c[0]!));
    const h = Math.max(...cells.map((c) => c[1]!)) - Math.min(...cells.map((c) => c[1]!));
    // cell-centre spans: (n − 1) cells per axis
    expect(w / h).toBeCloseTo((g.x.max - g.x.min) / (g.y!.max - g.y!.min), 1);
    const ticks = [...svg.matchAll(/<line [^>]*stroke="#444"\/>/g)];
    expect(ticks.length).toBeGreaterThanOrEqual(6);
  });
});
