/**
 * The Li et al. (2018) reproductions, end to end at reduced size (depth 56: repro-depth56.test.ts): the study files of
 * examples/paper/ as documented, with an `override` that shrinks them (Fashion-MNIST images
 * averaged down to 7×7, 256 training and test images, narrow nets, a few epochs, 3×3 grids). The
 * full-size runs are the same files without the override (docs/studies.md).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.js';
import { readH5 } from '../../src/io/h5.js';
import { loadConfigFile } from '../../src/run/config.js';
import { planVariants } from '../../src/studies/compare/study.js';
import { loadStudyFile } from '../../src/studies/config.js';
import { PAPER, runReduced, smallData, tempDir } from './helpers.js';

describe('examples/paper', () => {
  for (const f of ['skip-vs-noskip.yaml', 'batch-size.yaml']) {
    it(`${f}: the documented full-size study resolves (paper recipe, CIFAR-10)`, () => {
      const s = loadStudyFile(join(PAPER, f));
      const plans = planVariants(s, '/tmp/x');
      expect(plans.length).toBeGreaterThanOrEqual(2);
      for (const p of plans) {
        expect(p.config.data.source).toBe('cifar10');
        expect(p.config.train.epochs).toBe(300);
        expect(p.config.train.optimizer).toMatchObject({ type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
        expect(p.config.train.schedule).toEqual({ type: 'step', milestones: [150, 225, 275], gamma: 0.1 });
        expect(p.config.train.augment).toEqual({ crop: 4, flip: true });
      }
    });
  }
  it('skip-vs-noskip-fashion.yaml: the documented Fashion-MNIST study resolves (ResNet-20/56 ×1/2 and plain twins, 14×14, 30,000 images, 10 epochs)', () => {
    const s = loadStudyFile(join(PAPER, 'skip-vs-noskip-fashion.yaml'));
    const plans = planVariants(s, '/tmp/x');
    expect(plans.map((p) => p.name)).toEqual(['resnet20', 'resnet20-noskip', 'resnet56', 'resnet56-noskip']);
    for (const p of plans) {
      expect(p.config.data).toMatchObject({ source: 'fashion-mnist', downsample: 2, trainSize: 30000 });
      expect(p.config.model).toMatchObject({ type: 'cifar-resnet', widen: 0.5, skip: !p.name.endsWith('noskip') });
      expect(p.config.train).toMatchObject({ epochs: 10, batchSize: 128, schedule: 'cosine', augment: { crop: 2, flip: true } });
      expect(p.config.hessian).toMatchObject({ x: '-0.5:0.5:3', tol: 1e-3 });
    }
  });
  it.each([
    { file: 'skip-vs-noskip-fashion-56.yaml', downsample: 2, widen: 0.5, crop: 2, epochs: 20, surfaceX: '-1:1:21' },
    { file: 'skip-vs-noskip-fashion-56-long.yaml', downsample: 4, widen: 0.25, crop: 1, epochs: 50, surfaceX: '-1:1:21' },
    { file: 'skip-vs-noskip-fashion-56-28.yaml', downsample: 1, widen: 0.25, crop: 4, epochs: 15, surfaceX: '-1:1:11' },
  ])(
    "$file: the depth-56 pair of that study, with Li et al.'s initialization and Nesterov momentum, $epochs epochs, channels ×$widen, images downsampled $downsample×",
    ({ file, downsample, widen, crop, epochs, surfaceX }) => {
      const s = loadStudyFile(join(PAPER, file));
      const plans = planVariants(s, '/tmp/x');
      expect(plans.map((p) => p.name)).toEqual(['resnet56-noskip', 'resnet56']);
      for (const p of plans) {
        expect(p.config.data).toMatchObject({ source: 'fashion-mnist', downsample, trainSize: 30000 });
        expect(p.config.model).toMatchObject({ type: 'cifar-resnet', depth: 56, widen, init: 'kaiming', skip: p.name === 'resnet56' });
        expect(p.config.train).toMatchObject({ epochs, batchSize: 128, schedule: 'cosine', augment: { crop, flip: true } });
        expect(p.config.train.optimizer).toMatchObject({ type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true });
        expect(p.config.surface).toMatchObject({ x: surfaceX, every: epochs });
        expect(p.config.hessian).toMatchObject({ x: '-0.5:0.5:3', tol: 1e-3, every: epochs, initial: false });
      }
    },
  );
});

describe('examples/paper/init-vs-nesterov-56.yaml', () => {
  it("crosses PyTorch's and Li et al.'s init with plain and Nesterov momentum, for the residual and the plain ResNet-56, at the depth-56 test's reduced size", () => {
    const plans = planVariants(loadStudyFile(join(PAPER, 'init-vs-nesterov-56.yaml')), '/tmp/x');
    expect(plans).toHaveLength(8);
    const seen = new Set<string>();
    for (const p of plans) {
      const { model, train, data, hessian } = p.config;
      const m = model as { skip?: boolean; init?: string };
      const opt = train.optimizer as { nesterov?: boolean };
      const key = `${m.skip === false ? 'plain' : 'res'}-${m.init}-${opt.nesterov ? 'nesterov' : 'sgd'}`;
      expect(p.name).toBe(key);
      seen.add(key);
      // test/studies/repro-depth56.test.ts runs the kaiming-nesterov pair of this file
      expect(model).toMatchObject({ type: 'cifar-resnet', depth: 56, widen: 0.25, shortcut: 'A' });
      expect(data).toMatchObject({ source: 'fashion-mnist', downsample: 4, trainSize: 512, testSize: 256, subset: { size: 128 }, testSubset: { size: 128 } });
      expect(train).toMatchObject({ epochs: 10, batchSize: 32, seed: 0, augment: { crop: 0, flip: false } });
      expect(train.optimizer).toMatchObject({ type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
      expect(hessian).toMatchObject({ x: '-0.5:0.5:3', y: '-0.5:0.5:3', tol: 1e-3, initial: false });
    }
    expect(seen.size).toBe(8);
  });
});

describe('examples/paper/resnet20-fashion-28.yaml', () => {
  it('is the documented run: ResNet-20 ×1/2 on all 60,000 Fashion-MNIST images at 28×28, 10 epochs, cosine lr 0.1', () => {
    const c = loadConfigFile(join(PAPER, 'resnet20-fashion-28.yaml'));
    expect(c.data).toMatchObject({ source: 'fashion-mnist', trainSize: 60000 });
    expect(c.data.downsample ?? 1).toBe(1);
    expect(c.model).toMatchObject({ type: 'cifar-resnet', depth: 20, widen: 0.5, shortcut: 'A' });
    expect(c.train).toMatchObject({ epochs: 10, batchSize: 128, schedule: 'cosine', augment: { crop: 2, flip: true } });
    expect(c.train.optimizer).toMatchObject({ type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  });
});

describe.runIf(existsSync(FASHION_MNIST_DIR))('Li et al. (2018) reproductions at reduced size', () => {
  it('batch-size.yaml: both nets reach a minimum; the large-batch one is the sharper by λmax', async () => {
    // batch 16 vs 256 (all of the 256 images) instead of 128 vs 8192 of 50,000; 60 epochs, so that
    // the full-batch net (60 steps) gets to a minimum too, at the edge of stability 2/η = 40
    const rows = await runReduced(
      'batch-size.yaml',
      {
        data: smallData(2),
        model: { widen: 0.0625 },
        train: { epochs: 60, augment: { crop: 0, flip: false }, checkpointEvery: 'epoch', schedule: 'constant', optimizer: { lr: 0.05 } },
        surface: { x: '-1:1:5', y: null, every: 1000 },
      },
      { 'small-batch': { train: { batchSize: 16 } }, 'large-batch': { train: { batchSize: 256 } } },
    );
    const small = rows.get('small-batch')!;
    const large = rows.get('large-batch')!;
    for (const r of [small, large]) expect(r.train_loss!).toBeLessThan(0.3);
    expect(large.lambda_max!).toBeGreaterThan(2 * small.lambda_max!);
  }, 900_000);

  it('skip-vs-noskip.yaml: the plain ResNet-20 ends sharper by λmax; both get |λmin/λmax| maps', async () => {
    const out = tempDir('skip-vs-noskip');
    const rows = await runReduced(
      'skip-vs-noskip.yaml',
      {
        data: smallData(4),
        model: { widen: 0.125 },
        train: { epochs: 3, batchSize: 32, augment: { crop: 0, flip: false }, checkpointEvery: 'epoch', schedule: 'constant', optimizer: { lr: 0.05 } },
        surface: { x: '-1:1:3', y: '-1:1:3', every: 100 },
        hessian: { x: '-0.2:0.2:3', y: '-0.2:0.2:3', every: 100, tol: 1e-3 },
      },
      { resnet20: { model: { depth: 20 } }, 'resnet20-noskip': { model: { depth: 20, skip: false } } },
      out,
    );
    const skip = rows.get('resnet20')!;
    const plain = rows.get('resnet20-noskip')!;
    expect(plain.lambda_max!).toBeGreaterThan(2 * skip.lambda_max!);
    for (const v of ['resnet20', 'resnet20-noskip']) {
      const map = await readH5(join(out, v, 'hessian', 'ckpt-0003.h5'));
      const ratio = map.get('eig_ratio')!.value as Float64Array | Float32Array;
      expect(ratio.length).toBe(9);
      expect([...ratio].every(Number.isFinite)).toBe(true);
    }
  }, 900_000);
});
