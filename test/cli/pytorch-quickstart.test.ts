/**
 * The README's PyTorch quick start: one command from the fixture's ONNX model,
 * data and reference direction file reproduces the reference 21×21 surface.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { RunStore } from '../../src/store/run-store.js';
import { cli } from '../helpers/cli.js';
import { FIXTURE, fixtureSurface } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-pt-'));

describe('PyTorch quick start', () => {
  it('losscape surface --model --data --directions reproduces the reference surface', async () => {
    const out = join(dir, 'surface.h5');
    const r = cli([
      'surface',
      '--model',
      `${FIXTURE}model.onnx`,
      '--data',
      `${FIXTURE}data.h5`,
      '--directions',
      `${FIXTURE}directions.h5`,
      '--x',
      '-1:1:21',
      '--y',
      '-1:1:21',
      '--out',
      out,
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    const s = await readGridFile(out);
    const ref = fixtureSurface();
    let maxRel = 0;
    for (let i = 0; i < 21; i++) {
      for (let j = 0; j < 21; j++) {
        const k = i * 21 + j;
        maxRel = Math.max(maxRel, Math.abs(s.values.train_loss![k]! - ref.loss[i]![j]!) / ref.loss[i]![j]!);
        expect(s.values.train_acc![k]).toBe(ref.acc[i]![j]);
      }
    }
    expect(maxRel).toBeLessThan(1e-5);
  });

  it('a run config can name an ONNX model and a data file (landscape of the given weights, then fine-tuning)', async () => {
    const cfg = join(dir, 'onnx.yaml');
    writeFileSync(
      cfg,
      [
        'name: fixture',
        `data: { source: file, path: ${FIXTURE}data.h5, testFraction: 0.2, subset: { size: 100, seed: 0 } }`,
        `model: { type: onnx, path: ${FIXTURE}model.onnx }`,
        'train: { epochs: 1, batchSize: 100, optimizer: { type: sgd, lr: 0.01, momentum: 0.9 } }',
        'surface: { x: "-0.5:0.5:5", y: "-0.5:0.5:5" }',
      ].join('\n'),
    );
    const out = join(dir, 'run');
    const r = cli(['run', cfg, '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const m = new RunStore(out).readManifest();
    expect(m.model.layout.map((e) => e.name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(m.frames.length).toBe(2);
    // checkpoint 0 is the file's trained weights: low loss from the start
    expect(m.checkpoints[0]!.train_loss).toBeLessThan(0.2);
    const s0 = await readGridFile(join(out, m.frames[0]!.surface!));
    // centre of the plane = the checkpoint (plane and single-point graphs round differently: 1e-6)
    expect(Math.abs(s0.values.train_loss![12]! / m.frames[0]!.center_loss! - 1)).toBeLessThan(1e-6);
    // run-level tools rebuild the ONNX model from the run's config
    const pca = cli(['pca', out, '--n', '5', '--quiet']);
    expect(pca.code, pca.stderr).toBe(0);
    expect(new RunStore(out).readManifest().pca?.surface).toBe('pca/surface.h5');
  });
});

describe('non-finite losses', () => {
  it('a model with NaN weights: one clear line, non-zero exit, nothing written', async () => {
    const { fromBinary, toBinary } = await import('@bufbuild/protobuf');
    const { ModelProtoSchema } = await import('onnx-buf');
    const { readFileSync, existsSync } = await import('node:fs');
    const m = fromBinary(ModelProtoSchema, readFileSync(`${FIXTURE}model.onnx`));
    const bias = m.graph!.initializer.find((t) => t.name === 'fc2.bias')!;
    const raw = new Uint8Array(bias.rawData);
    new DataView(raw.buffer).setFloat32(0, Number.NaN, true);
    bias.rawData = raw;
    const bad = join(dir, 'nan.onnx');
    writeFileSync(bad, toBinary(ModelProtoSchema, m));
    const out = join(dir, 'nan.h5');
    const r = cli(['surface', '--model', bad, '--data', `${FIXTURE}data.h5`, '--x', '-1:1:3', '--y', '-1:1:3', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/loss at the model's weights is NaN/);
    expect(existsSync(out)).toBe(false);
  });
});
