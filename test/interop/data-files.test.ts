import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fitToModelInput, loadDataFile, siblingLabels } from '../../src/data/files.js';
import { parseCsv } from '../../src/io/csv.js';
import { writeH5 } from '../../src/io/h5.js';
import { readIdx, writeIdx } from '../../src/io/idx.js';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { crc32, readZip, writeZip, zipEntries } from '../../src/io/zip.js';
import { FIXTURE, fixtureData } from '../helpers/fixture.js';

const DATA = new URL('./data/', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-data-'));
const X = Float32Array.from({ length: 36 }, (_, i) => Math.fround(i / 10));
const Y = [0, 1, 2, 2, 1, 0];

async function oneLine(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: Error) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(Error);
  const msg = (e as Error).message;
  expect(msg.split('\n')).toHaveLength(1);
  return msg;
}

describe('format readers (files written by numpy 1.24 / h5py, see data/make_data.py)', () => {
  it('NPY: little/big endian, Fortran order, float64/uint8/int64', () => {
    const le = readNpy(readFileSync(`${DATA}x.npy`), 'x.npy');
    expect(le.shape).toEqual([6, 2, 3]);
    expect(le.dtype).toBe('float32');
    expect(Array.from(le.data)).toEqual(Array.from(X));
    const be = readNpy(readFileSync(`${DATA}x_bigendian.npy`), 'b');
    expect(be.shape).toEqual([6, 6]);
    expect(Array.from(be.data)).toEqual(Array.from(X));
    const f = readNpy(readFileSync(`${DATA}x_fortran_f64.npy`), 'f');
    expect(f.dtype).toBe('float64');
    expect(Array.from(f.data)).toEqual(Array.from(X));
    const y = readNpy(readFileSync(`${DATA}y.npy`), 'y');
    expect(y.dtype).toBe('int64');
    expect(Array.from(y.data)).toEqual(Y);
    // round trip through our writer
    const w = readNpy(writeNpy({ shape: [3, 2], dtype: 'int64', data: [1, -2, 3, 4, 5, 6] }), 'w');
    expect([w.shape, w.dtype, Array.from(w.data)]).toEqual([[3, 2], 'int64', [1, -2, 3, 4, 5, 6]]);
  });

  it('NPZ: stored (numpy savez, ZIP64 local headers) and deflated (savez_compressed) entries', () => {
    for (const f of ['xy_stored.npz', 'xy_deflated.npz']) {
      const bytes = readFileSync(DATA + f);
      const es = zipEntries(bytes, f);
      expect(es.map((e) => e.method)).toEqual(f.includes('stored') ? [0, 0] : [8, 8]);
      const m = readZip(bytes, f);
      expect([...m.keys()]).toEqual(f.includes('stored') ? ['X.npy', 'labels.npy'] : ['data.npy', 'targets.npy']);
    }
    // our writer, read back, CRC checked
    const a = new TextEncoder().encode('hello zip '.repeat(50));
    for (const deflate of [false, true]) {
      const z = writeZip(
        [
          { name: 'a.txt', data: a },
          { name: 'b/c.bin', data: Uint8Array.of(1, 2, 3) },
        ],
        deflate,
      );
      const m = readZip(z, 'z');
      expect(new TextDecoder().decode(m.get('a.txt'))).toBe('hello zip '.repeat(50));
      expect(Array.from(m.get('b/c.bin')!)).toEqual([1, 2, 3]);
    }
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('IDX (gzipped MNIST format) and CSV', () => {
    const im = readIdx(readFileSync(`${DATA}tiny-images-idx3-ubyte.gz`), 'im');
    expect(im.shape).toEqual([4, 3, 3]);
    expect(im.dtype).toBe('uint8');
    expect(im.data[35]).toBe(35);
    const f = readIdx(writeIdx({ shape: [2, 2], dtype: 'float32', data: [1.5, -2, 3, 4] }), 'f');
    expect(Array.from(f.data)).toEqual([1.5, -2, 3, 4]);
    const t = parseCsv('# comment\na;b;"label"\n1;2;0\n3.5;-4;1\n', 'c.csv');
    expect([t.header, t.rows, t.cols, Array.from(t.values)]).toEqual([['a', 'b', 'label'], 2, 3, [1, 2, 0, 3.5, -4, 1]]);
    expect(parseCsv('1,2\n3,4\n', 'n').header).toBeNull();
  });
});

describe('loadDataFile', () => {
  it('HDF5: the fixture data.h5 (X float32 [1000, 784], y int64) equals the raw fixture files', async () => {
    const d = await loadDataFile(`${FIXTURE}data.h5`);
    const f = fixtureData();
    expect([d.name, d.inputShape, d.outputDim, d.task]).toEqual(['data.h5', [784], 10, 'classification']);
    expect(d.x.length).toBe(f.x.length);
    expect(d.x.every((v, i) => v === f.x[i])).toBe(true);
    expect(Array.from(d.y)).toEqual(Array.from(f.y));
  });

  it('NPY pair found by name (x.npy → y.npy), NPZ with X/labels and data/targets keys', async () => {
    expect(siblingLabels(`${DATA}x.npy`)).toBe(`${DATA}y.npy`);
    const a = await loadDataFile(`${DATA}x.npy`);
    expect([a.inputShape, a.outputDim, a.task, Array.from(a.y)]).toEqual([[2, 3], 3, 'classification', Y]);
    expect(Array.from(a.x)).toEqual(Array.from(X));
    for (const f of ['xy_stored.npz', 'xy_deflated.npz']) {
      const d = await loadDataFile(DATA + f, { inputShape: [6] });
      expect([d.inputShape, d.outputDim, Array.from(d.y)]).toEqual([[6], 3, Y]);
      expect(Array.from(d.x)).toEqual(Array.from(X));
    }
    // a folder with x.npy / y.npy
    const dir = tmp();
    copyFileSync(`${DATA}x.npy`, join(dir, 'x.npy'));
    copyFileSync(`${DATA}y.npy`, join(dir, 'y.npy'));
    expect((await loadDataFile(dir)).x.length).toBe(36);
  });

  it('float64 Fortran-order and uint8 inputs (uint8 scaled by 1/255 unless told otherwise)', async () => {
    const f = await loadDataFile(`${DATA}x_fortran_f64.npy`, { labels: `${DATA}y.npy` });
    expect(Array.from(f.x)).toEqual(Array.from(X));
    const u = await loadDataFile(`${DATA}x_uint8.npy`, { labels: `${DATA}y.npy` });
    expect(u.x[1]).toBeCloseTo(1 / 255, 7);
    const raw = await loadDataFile(`${DATA}x_uint8.npy`, { labels: `${DATA}y.npy`, scale: 1 });
    expect(raw.x[35]).toBe(35);
  });

  it('IDX pair (gzip), labels file found by name', async () => {
    const d = await loadDataFile(`${DATA}tiny-images-idx3-ubyte.gz`);
    expect([d.inputShape, d.outputDim, Array.from(d.y)]).toEqual([[3, 3], 5, [3, 1, 4, 1]]);
    expect(d.x[1]).toBeCloseTo(1 / 255, 7);
    // not gzipped, inside a folder
    const dir = tmp();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), writeIdx({ shape: [2, 2, 2], dtype: 'uint8', data: [0, 1, 2, 3, 4, 5, 6, 255] }));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), writeIdx({ shape: [2], dtype: 'uint8', data: [1, 0] }));
    const e = await loadDataFile(dir, { scale: 1 });
    expect([e.inputShape, Array.from(e.x), Array.from(e.y)]).toEqual([
      [2, 2],
      [0, 1, 2, 3, 4, 5, 6, 255],
      [1, 0],
    ]);
  });

  it('CSV: header, label column by name or the last column; gzip; regression targets', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.csv'), 'label,f1,f2\n1,0.5,0.25\n0,1,2\n2,3,4\n');
    const a = await loadDataFile(join(dir, 'a.csv'));
    expect([a.inputShape, Array.from(a.y), Array.from(a.x), a.outputDim]).toEqual([[2], [1, 0, 2], [0.5, 0.25, 1, 2, 3, 4], 3]);
    writeFileSync(join(dir, 'b.csv.gz'), gzipSync('0.5,0.25,1\n1,2,0\n'));
    const b = await loadDataFile(join(dir, 'b.csv.gz'));
    expect([Array.from(b.y), Array.from(b.x)]).toEqual([
      [1, 0],
      [0.5, 0.25, 1, 2],
    ]);
    writeFileSync(join(dir, 'c.csv'), 'x,t\n1,0.5\n2,1.5\n');
    const c = await loadDataFile(join(dir, 'c.csv'), { y: 't' });
    expect([c.task, c.outputDim, Array.from(c.y)]).toEqual(['regression', 1, [0.5, 1.5]]);
    const byIndex = await loadDataFile(join(dir, 'a.csv'), { y: '2' });
    expect(Array.from(byIndex.y)).toEqual([0.25, 2, 4]);
  });

  it('HDF5 written here: custom dataset names, float64 inputs, one-hot labels', async () => {
    const dir = tmp();
    const p = join(dir, 'd.h5');
    await writeH5(p, {
      inputs: { data: Float64Array.from(X), shape: [6, 6] },
      onehot: { data: Float32Array.from(Y.flatMap((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)))), shape: [6, 3] },
    });
    const d = await loadDataFile(p, { y: 'onehot' });
    expect([d.inputShape, d.outputDim, d.task, Array.from(d.y)]).toEqual([[6], 3, 'classification', Y]);
  });

  it('wrong shapes and broken files are one clear line', async () => {
    expect(await oneLine(loadDataFile(`${DATA}x.npy`, { labels: `${DATA}y_short.npy` }))).toBe(
      `${DATA}x.npy has 6 samples (shape [6,2,3]) but ${DATA}y_short.npy has 5 labels (shape [5])`,
    );
    expect(await oneLine(loadDataFile(`${DATA}x.npy`, { inputShape: [7] }))).toBe(
      `${DATA}x.npy: samples of shape [2,3] (6 values) cannot be viewed as [7] (7 values)`,
    );
    const dir = tmp();
    const full = readFileSync(`${DATA}x.npy`);
    writeFileSync(join(dir, 'x.npy'), full.subarray(0, 200));
    copyFileSync(`${DATA}y.npy`, join(dir, 'y.npy'));
    expect(await oneLine(loadDataFile(join(dir, 'x.npy')))).toMatch(/x\.npy: truncated \.npy data: shape \(6, 2, 3\) <f4 needs 144 bytes, the file has 72$/);
    writeFileSync(join(dir, 'z.npz'), readFileSync(`${DATA}xy_deflated.npz`).subarray(0, 300));
    expect(await oneLine(loadDataFile(join(dir, 'z.npz')))).toMatch(/z\.npz: not a zip archive, or truncated/);
    expect(await oneLine(loadDataFile(`${DATA}xy_stored.npz`, { x: 'nope' }))).toMatch(/no inputs "nope" \(it has: X, labels\)$/);
    writeFileSync(join(dir, 'lonely.npy'), full);
    expect(await oneLine(loadDataFile(join(dir, 'lonely.npy')))).toMatch(/found no labels file next to it/);
    writeFileSync(join(dir, 'neg.csv'), '1,2,-1\n');
    expect(await oneLine(loadDataFile(join(dir, 'neg.csv')))).toMatch(/label -1 of sample 0 is not a class index/);
    writeFileSync(join(dir, 'bad.csv'), '1,2,0\n1,x,1\n');
    expect(await oneLine(loadDataFile(join(dir, 'bad.csv')))).toBe(`${join(dir, 'bad.csv')}: line 2, column 2: "x" is not a number`);
    expect(await oneLine(loadDataFile(join(dir, 'missing.h5')))).toBe(`${join(dir, 'missing.h5')}: no such file`);
  });

  it('fitToModelInput reshapes equal-size samples and rejects the rest in one line', async () => {
    const d = await loadDataFile(`${DATA}x.npy`);
    expect(fitToModelInput(d, [1, 2, 3]).inputShape).toEqual([1, 2, 3]);
    expect(() => fitToModelInput(d, [784])).toThrow(
      /^data "x.npy": samples of shape \[2,3\] \(6 values\) do not fit the model's input \[784\] \(784 values\)$/,
    );
  });
});
