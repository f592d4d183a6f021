/**
 * The paper models of the zoo (Li et al. 2018): CIFAR ResNet-20/56/110 with 1×1-conv or option-A
 * shortcuts, their plain twins, Wide-ResNets and VGG-9. Parameter counts are the published ones
 * (He et al. 2016: ResNet-20/56/110 with option A have 0.27M/0.85M/1.7M) and PyTorch's for the
 * same modules; logits agree with an independent PyTorch forward pass (zoo-paper.py) in eval
 * and train mode.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { isLearnable } from '../../src/core/layout.js';
import { Rng } from '../../src/core/rng.js';
import { ensureJax } from '../../src/model/jax.js';
import { buildModel } from '../../src/model/zoo.js';

const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

function learnableCount(spec: Record<string, unknown>, input = [3, 32, 32]): number {
  const m = buildModel(spec, input, 10);
  return m.layout.entries.filter((e) => isLearnable(e.role)).reduce((a, e) => a + e.size, 0);
}

describe('paper models: parameter counts', () => {
  it('ResNet-20/56/110 with option-A shortcuts: 269,722 / 853,018 / 1,727,962 (He et al.: 0.27M / 0.85M / 1.7M)', () => {
    expect(learnableCount({ type: 'cifar-resnet', depth: 20, shortcut: 'A' })).toBe(269722);
    expect(learnableCount({ type: 'cifar-resnet', depth: 56, shortcut: 'A' })).toBe(853018);
    expect(learnableCount({ type: 'cifar-resnet', depth: 110, shortcut: 'A' })).toBe(1727962);
  });
  it('1×1-conv shortcuts, widen 2, plain twins and VGG-9 have the counts of the same PyTorch modules', () => {
    expect(learnableCount({ type: 'cifar-resnet', depth: 20 })).toBe(272474);
    expect(learnableCount({ type: 'cifar-resnet', depth: 56, widen: 2 })).toBe(3412394);
    // the plain twin drops the shortcut convs: as many weights as option A
    expect(learnableCount({ type: 'cifar-resnet', depth: 56, skip: false })).toBe(853018);
    expect(learnableCount({ type: 'vgg' })).toBe(2789706);
  });
  it('a depth that is not 6n + 2 is refused', () => {
    expect(() => buildModel({ type: 'cifar-resnet', depth: 21 }, [3, 32, 32], 10)).toThrow(/6n \+ 2/);
  });
});

/** Mean and standard deviation of one tensor of a model's initial weights. */
function stats(spec: Record<string, unknown>, name: string, input = [3, 32, 32]) {
  const m = buildModel(spec, input, 10);
  const e = m.layout.entries.find((t) => t.name === name);
  if (!e) throw new Error(`no tensor ${name}`);
  const v = m.init(0).subarray(e.offset, e.offset + e.size);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  const absMax = v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  return { mean, sd, absMax, n: v.length };
}

describe('paper models: initialization', () => {
  it("init: kaiming is Li et al.'s init_params: convs N(0, 2/fan_in), dense weights N(0, 1e-6), zero biases, BN 1 and 0", () => {
    const spec = { type: 'cifar-resnet', depth: 56, shortcut: 'conv', init: 'kaiming' };
    // 64·64·9 = 36,864 samples: the standard deviation within 2 % (its sampling error is 0.4 %)
    const conv = stats(spec, 'layer3.3.conv2.weight');
    expect(conv.n).toBe(36864);
    expect(Math.abs(conv.sd / Math.sqrt(2 / (64 * 9)) - 1)).toBeLessThan(0.02);
    expect(Math.abs(conv.mean)).toBeLessThan(0.02 * conv.sd);
    // normal, not uniform: a uniform law of this deviation never exceeds √3·sd
    expect(conv.absMax).toBeGreaterThan(3.5 * conv.sd);
    const shortcut = stats(spec, 'layer2.0.downsample.0.weight');
    expect(Math.abs(shortcut.sd / Math.sqrt(2 / 16) - 1)).toBeLessThan(0.1);
    const fc = stats(spec, 'fc.weight');
    expect(Math.abs(fc.sd / 1e-3 - 1)).toBeLessThan(0.1);
    expect(stats(spec, 'fc.bias').absMax).toBe(0);
    expect(stats(spec, 'layer1.0.bn1.weight')).toMatchObject({ mean: 1, sd: 0 });
    expect(stats(spec, 'layer1.0.bn1.bias').absMax).toBe(0);
    // the CNN's convs carry biases: zero too
    expect(stats({ type: 'cnn', channels: [4], kernel: 3, init: 'kaiming' }, 'conv1.bias', [1, 8, 8]).absMax).toBe(0);
  });
  it("without init (or init: torch): PyTorch's U(−1/√fan_in, 1/√fan_in), the same numbers either way", () => {
    const conv = stats({ type: 'cifar-resnet', depth: 56 }, 'layer3.3.conv2.weight');
    const bound = 1 / Math.sqrt(64 * 9);
    expect(conv.absMax).toBeLessThan(bound);
    expect(conv.absMax).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(conv.sd / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    const a = buildModel({ type: 'cifar-resnet', depth: 8 }, [3, 8, 8], 10).init(4);
    const b = buildModel({ type: 'cifar-resnet', depth: 8, init: 'torch' }, [3, 8, 8], 10).init(4);
    expect(b).toEqual(a);
  });
  it('an unknown init is refused, naming the choices', () => {
    expect(() => buildModel({ type: 'cifar-resnet', depth: 8, init: 'xavier' }, [3, 8, 8], 10)).toThrow(/torch.*kaiming/);
  });
});

const cases: { spec: Record<string, unknown>; input: number[]; train: boolean }[] = [
  { spec: { type: 'cifar-resnet', depth: 8, shortcut: 'A' }, input: [3, 8, 8], train: false },
  { spec: { type: 'cifar-resnet', depth: 8, shortcut: 'conv' }, input: [3, 8, 8], train: true },
  { spec: { type: 'cifar-resnet', depth: 14, skip: false }, input: [3, 8, 8], train: false },
  { spec: { type: 'vgg', widen: 0.125 }, input: [3, 16, 16], train: false },
  { spec: { type: 'vgg', widen: 0.125 }, input: [1, 16, 16], train: true },
];

describe.runIf(hasTorch)('paper models: logits agree with PyTorch', () => {
  for (const c of cases) {
    it(`${JSON.stringify(c.spec)} on [${c.input}] (${c.train ? 'train' : 'eval'} mode)`, async () => {
      await ensureJax();
      const model = buildModel(c.spec, c.input, 10);
      const theta = model.init(3);
      // running statistics away from (0, 1), so that eval mode uses them
      const rng = new Rng(5, 'default');
      for (const e of model.layout.entries) {
        if (e.role === 'running_mean') for (let i = e.offset; i < e.offset + e.size; i++) theta[i] = 0.2 * rng.normal();
        if (e.role === 'running_var') for (let i = e.offset; i < e.offset + e.size; i++) theta[i] = 0.5 + rng.uniform();
      }
      const n = 4;
      const x = Float32Array.from({ length: n * c.input.reduce((a, b) => a * b, 1) }, () => rng.normal());
      const params = model.layout.entries.map((e) => np.array(theta.slice(e.offset, e.offset + e.size)).reshape(e.shape));
      const r = model.apply(params, np.array(x).reshape([n, ...c.input]), { train: c.train, conv: 'lax' });
      r.batchStats.forEach((s) => s.dispose());
      const mine = await r.out.data();
      const req = {
        spec: model.name.includes('no-skip') ? { ...c.spec, skip: false } : c.spec,
        params: Object.fromEntries(model.layout.entries.map((e) => [e.name, [e.shape, Array.from(theta.subarray(e.offset, e.offset + e.size))]])),
        x: [[n, ...c.input], Array.from(x)],
        train: c.train,
      };
      const py = spawnSync(PY, [join(import.meta.dirname, 'zoo-paper.py')], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(py.stderr).toBe('');
      const ref = JSON.parse(py.stdout) as number[];
      expect(mine.length).toBe(ref.length);
      const scale = Math.max(...ref.map(Math.abs));
      for (let i = 0; i < ref.length; i++) expect(Math.abs(mine[i]! - ref[i]!)).toBeLessThan(1e-4 * scale + 1e-5);
    });
  }
});
