/**
 * The reference code's HDF5 files: reading its surface and direction files, and
 * writing ours so that its plotting scripts (plot_2D.py: meshgrid(x, y) against
 * f['train_loss'][:]) read them. h5py checks run only where /usr/bin/python3 has h5py.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coordinates } from '../../src/core/grid.js';
import { makeLayout } from '../../src/core/layout.js';
import { readDirectionFile, writeDirectionFile } from '../../src/directions/file.js';
import { readH5 } from '../../src/io/h5.js';
import { emptyGridFile, readGridFile, writeGridFile } from '../../src/jobs/grid-file.js';
import { FIXTURE, fixtureDirections, fixtureSurface } from '../helpers/fixture.js';

const PY = '/usr/bin/python3';
const h5py = spawnSync(PY, ['-c', 'import h5py, numpy'], { encoding: 'utf8' });
const haveH5py = h5py.status === 0;
const skipReason = haveH5py ? '' : ` (skipped: ${PY} with h5py not available — install python3-h5py)`;

function python(script: string, ...args: string[]): string {
  const r = spawnSync(PY, ['-c', script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-h5-'));

describe("reading the reference code's files", () => {
  it('surface.h5: coordinates, train_loss/train_acc [21, 21] float64 and the string dir_file dataset', async () => {
    const raw = await readH5(`${FIXTURE}surface.h5`);
    expect(raw.keys.sort()).toEqual(['dir_file', 'train_acc', 'train_loss', 'xcoordinates', 'ycoordinates']);
    expect(raw.get('dir_file')!.value).toBe('directions.h5');
    const gf = await readGridFile(`${FIXTURE}surface.h5`);
    expect(gf.grid).toEqual({ x: { min: -1, max: 1, n: 21 }, y: { min: -1, max: 1, n: 21 } });
    expect(Object.keys(gf.values).sort()).toEqual(['train_acc', 'train_loss']);
    expect(gf.attrs.source).toBe('reference-code');
    expect(gf.done.every((d) => d === 1)).toBe(true);
    const ref = fixtureSurface();
    for (let i = 0; i < 21; i++) {
      for (let j = 0; j < 21; j++) {
        expect(gf.values.train_loss![i * 21 + j]).toBe(ref.loss[i]![j]);
        expect(gf.values.train_acc![i * 21 + j]).toBe(ref.acc[i]![j]);
      }
    }
  });

  it('directions.h5 against a layout; wrong layouts are one clear line', async () => {
    const layout = makeLayout([
      { name: 'fc1.weight', shape: [64, 784], role: 'weight' },
      { name: 'fc1.bias', shape: [64], role: 'bias' },
      { name: 'fc2.weight', shape: [10, 64], role: 'weight' },
      { name: 'fc2.bias', shape: [10], role: 'bias' },
    ]);
    const d = await readDirectionFile(`${FIXTURE}directions.h5`, layout);
    const [dx, dy] = await fixtureDirections();
    expect(d.dx).toEqual(dx);
    expect(d.dy).toEqual(dy);
    const wrong = makeLayout([{ name: 'w', shape: [10], role: 'weight' }]);
    await expect(readDirectionFile(`${FIXTURE}directions.h5`, wrong)).rejects.toThrow(/has 4 tensors but the model has 1 parameter tensors$/);
  });
});

describe('writing files the reference plotting scripts read', () => {
  // a non-square grid with a known function: loss(x, y) = 1 + x + 10·y, acc = 50 + y
  const grid = { x: { min: -1, max: 2, n: 4 }, y: { min: -0.5, max: 0.5, n: 3 } };
  const xs = coordinates(grid.x);
  const ys = coordinates(grid.y);
  async function writeKnown(path: string) {
    const gf = emptyGridFile(grid, ['train_loss', 'train_acc'], { dir_file: 'directions/ckpt-0000.h5', checkpoint: 0 });
    for (let i = 0; i < ys.length; i++) {
      for (let j = 0; j < xs.length; j++) {
        gf.values.train_loss![i * xs.length + j] = 1 + xs[j]! + 10 * ys[i]!;
        gf.values.train_acc![i * xs.length + j] = 50 + ys[i]!;
        gf.done[i * xs.length + j] = 1;
      }
    }
    await writeGridFile(path, gf);
  }

  it('surface file re-read with h5wasm: names, shapes [ny, nx], dtypes, element [i, j] = (x[j], y[i])', async () => {
    const p = join(tmp(), 's.h5');
    await writeKnown(p);
    const h = await readH5(p);
    expect(h.keys.sort()).toEqual(['computed', 'train_acc', 'train_loss', 'xcoordinates', 'ycoordinates']);
    expect(h.get('train_loss')!.shape).toEqual([3, 4]);
    expect(h.get('train_loss')!.value).toBeInstanceOf(Float64Array);
    expect(h.get('xcoordinates')!.value).toBeInstanceOf(Float64Array);
    expect(h.get('computed')!.value).toBeInstanceOf(Uint8Array);
    expect(h.attrs.convention).toMatch(/element \[i, j\] holds the point \(x = xcoordinates\[j\], y = ycoordinates\[i\]\)/);
    const back = await readGridFile(p);
    expect(back.grid).toEqual(grid);
    expect(back.values.train_loss![1 * 4 + 3]).toBeCloseTo(1 + xs[3]! + 10 * ys[1]!, 12);
  });

  it(`surface and direction files read by h5py like the reference plot_2D.py / net_plotter.py${skipReason}`, async (ctx) => {
    if (!haveH5py) ctx.skip();
    const dir = tmp();
    const p = join(dir, 's.h5');
    await writeKnown(p);
    const out = python(
      `
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
x = f['xcoordinates'][:]; y = f['ycoordinates'][:]
X, Y = np.meshgrid(x, y)                      # what plot_2D.py does
Z = np.array(f['train_loss'][:])
print(json.dumps({
  'keys': sorted(f.keys()),
  'dtypes': {k: str(f[k].dtype) for k in f.keys()},
  'shapes': {k: list(f[k].shape) for k in f.keys()},
  'meshgrid_ok': bool(Z.shape == X.shape and np.allclose(Z, 1 + X + 10 * Y)),
  'acc_ok': bool(np.allclose(f['train_acc'][:], 50 + Y)),
  'dir_file': f.attrs['dir_file'] if isinstance(f.attrs['dir_file'], str) else f.attrs['dir_file'].decode(),
}))`,
      p,
    );
    const r = JSON.parse(out);
    expect(r.keys).toEqual(['computed', 'train_acc', 'train_loss', 'xcoordinates', 'ycoordinates']);
    expect(r.dtypes).toEqual({ computed: 'uint8', train_acc: 'float64', train_loss: 'float64', xcoordinates: 'float64', ycoordinates: 'float64' });
    expect(r.shapes).toEqual({ computed: [3, 4], train_acc: [3, 4], train_loss: [3, 4], xcoordinates: [4], ycoordinates: [3] });
    expect(r.meshgrid_ok).toBe(true);
    expect(r.acc_ok).toBe(true);
    expect(r.dir_file).toBe('directions/ckpt-0000.h5');

    // direction file: groups xdirection / ydirection, datasets "0".."k-1" float32 with the tensors' shapes
    const layout = makeLayout([
      { name: 'conv.weight', shape: [2, 1, 3, 3], role: 'weight' },
      { name: 'conv.bias', shape: [2], role: 'bias' },
    ]);
    const dx = Float32Array.from({ length: 20 }, (_, i) => i);
    const dy = Float32Array.from({ length: 20 }, (_, i) => -i);
    const dp = join(dir, 'd.h5');
    await writeDirectionFile(dp, layout, dx, dy, { norm: 'filter' });
    const d = JSON.parse(
      python(
        `
import sys, json, h5py
f = h5py.File(sys.argv[1], 'r')
# net_plotter.load_directions: [f['xdirection'][str(i)] for i in range(len(f['xdirection']))]
xs = [f['xdirection'][str(i)] for i in range(len(f['xdirection']))]
print(json.dumps({'n': len(xs), 'dtypes': [str(a.dtype) for a in xs], 'shapes': [list(a.shape) for a in xs],
                  'y00': float(f['ydirection']['0'][1, 0, 0, 0]), 'norm': str(f.attrs['norm'])}))`,
        dp,
      ),
    );
    expect(d).toEqual({ n: 2, dtypes: ['float32', 'float32'], shapes: [[2, 1, 3, 3], [2]], y00: -9, norm: 'filter' });
  });

  it(`the fixture surface.h5 and our re-write of it hold the same arrays (h5py)${skipReason}`, async (ctx) => {
    if (!haveH5py) ctx.skip();
    const gf = await readGridFile(`${FIXTURE}surface.h5`);
    const p = join(tmp(), 'rewrite.h5');
    await writeGridFile(p, { ...gf, attrs: { dir_file: 'directions.h5' } });
    const r = python(
      `
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], 'r'); b = h5py.File(sys.argv[2], 'r')
print(all(np.array_equal(a[k][:], b[k][:]) for k in ['xcoordinates', 'ycoordinates', 'train_loss', 'train_acc']))`,
      `${FIXTURE}surface.h5`,
      p,
    );
    expect(r.trim()).toBe('True');
    expect(readFileSync(p).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});
