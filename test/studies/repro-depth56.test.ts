/**
 * Li et al. (2018) at depth 56, reduced size (its own file: the longest study test, so it runs
 * beside the others): ResNet-56 ×1/4 and its plain twin from examples/paper/skip-vs-noskip-fashion.yaml.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.js';
import { readH5 } from '../../src/io/h5.js';
import { runReduced, smallData, tempDir } from './helpers.js';

describe.runIf(existsSync(FASHION_MNIST_DIR))('skip vs no skip at depth 56, reduced size', () => {
  it("skip-vs-noskip-fashion.yaml at depth 56: around the minimum the plain net's |λmin/λmax| exceeds the residual net's", async () => {
    // ResNet-56 ×1/4 and its plain twin on 512 Fashion-MNIST images at 7×7, 10 epochs of the
    // study's recipe (lr 0.1, cosine) at batch 32; |λmin/λmax| on the 3×3 map at ±0.5 around the
    // final weights. Measured on four such runs (docs/studies.md): the plain net's mean over the 8
    // points around the centre 2.1–3.7× the residual net's; at the centre itself either way round.
    const out = tempDir('skip-vs-noskip-56');
    const rows = await runReduced(
      'skip-vs-noskip-fashion.yaml',
      {
        data: { ...smallData(4), trainSize: 512, subset: { size: 128, seed: 0 }, testSubset: { size: 128, seed: 0 } },
        model: { widen: 0.25 },
        train: { epochs: 10, batchSize: 32, augment: { crop: 0, flip: false } },
        surface: { x: '-1:1:3', y: '-1:1:3', every: 100 },
        hessian: { x: '-0.5:0.5:3', y: '-0.5:0.5:3', every: 100, tol: 1e-3, initial: false },
      },
      { resnet56: { model: { depth: 56 } }, 'resnet56-noskip': { model: { depth: 56, skip: false } } },
      out,
    );
    // the plain deep net is the harder one to train (He et al. 2016; Li et al. 2018)
    expect(rows.get('resnet56')!.train_loss!).toBeLessThan(rows.get('resnet56-noskip')!.train_loss!);
    const around = async (v: string) => {
      const map = await readH5(join(out, v, 'hessian', 'ckpt-0010.h5'));
      const ratio = [...(map.get('eig_ratio')!.value as Float64Array | Float32Array)];
      expect(ratio.length).toBe(9);
      expect(ratio.every(Number.isFinite)).toBe(true);
      return ratio.filter((_, i) => i !== 4).reduce((a, b) => a + b, 0) / 8;
    };
    expect(await around('resnet56-noskip')).toBeGreaterThan(1.5 * (await around('resnet56')));
  }, 900_000);
});
