/**
 * The README's PyTorch quick start on an exported batch-norm ResNet with the reference code's
 * net.parameters() direction file: `losscape surface` loads it (tied bias included) and its
 * values are the losses at θ + x·dx + y·dy.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pointWeights } from '../../../src/core/plane.js';
import { fitToModelInput, loadDataFile } from '../../../src/data/files.js';
import { readDirectionFile } from '../../../src/directions/file.js';
import { JaxEngine } from '../../../src/engine/jax/engine.js';
import { readGridFile } from '../../../src/jobs/grid-file.js';
import { loadOnnxModel } from '../../../src/model/onnx/load.js';
import { cli } from '../../helpers/cli.js';
import { REAL } from './real-fixtures.js';

describe('losscape surface with a reference direction file on an exported BN ResNet', () => {
  it('loads the net.parameters() file and computes the losses at the grid points', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'losscape-real-')), 's.h5');
    const args = ['--model', `${REAL}resnet_bn.onnx`, '--data', `${REAL}data.h5`, '--directions', `${REAL}resnet_bn.dirs.h5`];
    const r = cli(['surface', ...args, '--x', '-0.1:0.1:3', '--y', '-0.1:0.1:3', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const s = await readGridFile(out);
    const imp = await loadOnnxModel(`${REAL}resnet_bn.onnx`);
    const d = await readDirectionFile(`${REAL}resnet_bn.dirs.h5`, imp.model.layout);
    const data = fitToModelInput(await loadDataFile(`${REAL}data.h5`), imp.model.inputShape);
    const engine = await JaxEngine.create(imp.model, data);
    try {
      for (const [i, j] of [
        [0, 0],
        [1, 1],
        [2, 1],
      ] as const) {
        const m = await engine.evaluate(pointWeights(imp.theta, d.dx, d.dy!, -0.1 + 0.1 * j, -0.1 + 0.1 * i));
        expect(Math.abs(s.values.train_loss![i * 3 + j]! - m.loss)).toBeLessThan(1e-5 * m.loss);
      }
    } finally {
      engine.dispose();
    }
  }, 120_000);
});
