import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LosscapeError } from '../../src/core/errors.js';
import { loadCifar } from '../../src/data/cifar.js';
import { classCounts, count } from '../../src/data/dataset.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../../src/data/fashion-mnist.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** The pixel make-cifar.py writes at channel c, row r, column w of global image g, in [0, 1]. */
const pixel = (g: number, c: number, r: number, w: number) => ((31 * g + 7 * c + 3 * r + w) % 256) / 255;

describe('CIFAR batches (tiny files in the standard formats, written by fixtures/make-cifar.py)', () => {
  for (const format of ['cifar-10-batches-bin', 'cifar-10-batches-py']) {
    it(`CIFAR-10 ${format}: five training batches in order, planar RGB as [3, 32, 32], labels`, () => {
      const { train, test } = loadCifar('cifar10', join(FIXTURES, format));
      expect(train.inputShape).toEqual([3, 32, 32]);
      expect(count(train)).toBe(10);
      expect(count(test)).toBe(2);
      expect(train.outputDim).toBe(10);
      // image k of batch b is global image 16·b + k
      const globals = [0, 1, 16, 17, 32, 33, 48, 49, 64, 65];
      globals.forEach((g, i) => {
        expect(train.y[i]).toBe(g % 10);
        for (const [c, r, w] of [
          [0, 0, 0],
          [1, 5, 7],
          [2, 31, 30],
        ] as const) {
          expect(train.x[i * 3072 + c * 1024 + r * 32 + w]).toBeCloseTo(pixel(g, c, r, w), 6);
        }
      });
      expect(test.x[3072 + 2 * 1024 + 3 * 32 + 4]).toBeCloseTo(pixel(1, 2, 3, 4), 6);
    });
  }
  it('the binary and the Python batches give the same data sets; the parent folder is found too', () => {
    const a = loadCifar('cifar10', join(FIXTURES, 'cifar-10-batches-bin'));
    const b = loadCifar('cifar10', FIXTURES);
    const c = loadCifar('cifar10', join(FIXTURES, 'cifar-10-batches-py'));
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(c.train.x.buffer))).toBe(true);
    expect([...a.train.y]).toEqual([...c.train.y]);
    expect([...b.test.y]).toEqual([...a.test.y]);
  });
  for (const format of ['cifar-100-binary', 'cifar-100-python']) {
    it(`CIFAR-100 ${format} (pickle protocol 4 for the Python one): fine labels`, () => {
      const { train, test } = loadCifar('cifar100', join(FIXTURES, format));
      expect(train.outputDim).toBe(100);
      expect([...train.y]).toEqual([1, 4, 7]);
      expect([...test.y]).toEqual([1, 4]);
      expect(train.x[2 * 3072 + 1024 + 33]).toBeCloseTo(pixel(2, 1, 1, 1), 6);
    });
  }
  it('a folder without batches, or a truncated batch, is one clear line', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cifar-'));
    expect(() => loadCifar('cifar10', empty)).toThrow(/no CIFAR-10 batches found/);
    for (const f of ['train.bin', 'test.bin']) writeFileSync(join(empty, f), new Uint8Array(100));
    expect(() => loadCifar('cifar100', empty)).toThrow(/100 bytes is not a whole number of 3074-byte CIFAR records/);
  });
});

/** A gzipped IDX file: magic (0, 0, type 8 = uint8, dims), big-endian dims, bytes. */
function idx(shape: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.writeUInt8(8, 2);
  head.writeUInt8(shape.length, 3);
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, data]));
}

describe('Fashion-MNIST (the Debian package layout)', () => {
  it('reads the four gzipped IDX files as [1, 28, 28] images in [0, 1] with their labels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fmnist-'));
    const img = (n: number, seed: number) => Uint8Array.from({ length: n * 784 }, (_, i) => (i * seed) % 256);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), idx([3, 28, 28], img(3, 7)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), idx([3], Uint8Array.from([9, 0, 3])));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), idx([2, 28, 28], img(2, 5)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), idx([2], Uint8Array.from([1, 2])));
    const { train, test } = loadFashionMnist(dir);
    expect(train.inputShape).toEqual([1, 28, 28]);
    expect([...train.y]).toEqual([9, 0, 3]);
    expect([...test.y]).toEqual([1, 2]);
    expect(train.outputDim).toBe(10);
    expect(train.x[1000]).toBeCloseTo(((1000 * 7) % 256) / 255, 6);
    expect(test.x[1567]).toBeCloseTo(((1567 * 5) % 256) / 255, 6);
  });
  it('missing files are one line naming the Debian package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fmnist-'));
    let err: unknown;
    try {
      loadFashionMnist(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LosscapeError);
    expect((err as Error).message).toMatch(
      /^Fashion-MNIST not found \(.*train-images-idx3-ubyte\.gz is missing\): install it with `sudo apt-get install dataset-fashion-mnist`$/,
    );
  });
  it.runIf(existsSync(FASHION_MNIST_DIR))('the installed package: 60,000 + 10,000 images, 6,000 per class, the known first labels', () => {
    const { train, test } = loadFashionMnist();
    expect(count(train)).toBe(60000);
    expect(count(test)).toBe(10000);
    expect(classCounts(train)).toEqual(new Array(10).fill(6000));
    expect([...train.y.slice(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  });
});
