/**
 * scripts/torch-train-resnet.py, the PyTorch side-by-side for the zoo's CIFAR ResNets on
 * Fashion-MNIST (docs/studies.md): its network has the zoo's learnable parameters, and a short
 * run learns (well above chance) with the schedule it is given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLearnable } from '../../src/core/layout.js';
import { FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.js';
import { buildModel } from '../../src/model/zoo.js';

const PY = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '../../scripts/torch-train-resnet.py');
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const hasFashion = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

/** A ResNet-8 ×1/4 on Fashion-MNIST averaged down to 7×7: seconds per epoch. */
const RESNET8 = ['--depth', '8', '--widen', '0.25', '--downsample', '4'];

function script(args: string[]): Record<string, number>[] {
  const r = spawnSync(PY, [SCRIPT, ...args], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
}

describe.runIf(hasTorch)('scripts/torch-train-resnet.py', () => {
  it.each([
    { depth: 56, widen: 0.25, skip: false },
    { depth: 20, widen: 0.5, skip: true },
    { depth: 56, widen: 1, skip: true },
  ])('depth $depth ×$widen skip $skip: the zoo cifar-resnet (shortcut A) has as many learnable parameters', ({ depth, widen, skip }) => {
    const model = buildModel({ type: 'cifar-resnet', depth, widen, skip, shortcut: 'A' }, [1, 7, 7], 10);
    const mine = model.layout.entries.filter((e) => isLearnable(e.role)).reduce((a, e) => a + e.size, 0);
    const [torch] = script(['--count', '--depth', `${depth}`, '--widen', `${widen}`, ...(skip ? [] : ['--no-skip'])]);
    expect(torch!.parameters).toBe(mine);
  });

  it.runIf(hasFashion)('3 epochs of a ResNet-8 on 4,096 images: one line per epoch, the cosine schedule, test accuracy > 50 %', () => {
    const lines = script([...RESNET8, '--crop', '1', '--train-size', '4096', '--epochs', '3', '--init', 'kaiming', '--nesterov']);
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3]);
    expect(lines.map((l) => l.step)).toEqual([32, 64, 96]);
    // the lr of the last step of each epoch: 0.1 · ½(1 + cos(π · s / 96)), s = 31, 63, 95
    lines.forEach((l) => expect(l.lr).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * (l.step! - 1)) / 96)), 8));
    for (const l of lines) for (const k of ['batchLoss', 'trainLoss', 'testLoss']) expect(Number.isFinite(l[k])).toBe(true);
    expect(lines[2]!.trainLoss).toBeLessThan(lines[0]!.trainLoss!);
    expect(lines[2]!.testAcc).toBeGreaterThan(0.5);
  });

  it.runIf(hasFashion)('a step schedule divides the lr by 10 at each milestone', () => {
    const lines = script([...RESNET8, '--train-size', '512', '--epochs', '3', '--schedule', 'step', '--milestones', '1', '2']);
    expect(lines.map((l) => l.lr)).toEqual([0.1, expect.closeTo(0.01, 10), expect.closeTo(0.001, 10)]);
  });
});
