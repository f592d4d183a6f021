import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DT, decodeTensor, makeTensor, parseModel, serializeModel } from '../../src/io/onnx-proto.js';
import { cli, errorLines, tinyConfig } from '../helpers/cli.js';

describe('losscape curve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-curve-'));
  const config = (name: string, over: Record<string, unknown>) => {
    const p = join(dir, `${name}.json`);
    writeFileSync(p, JSON.stringify(tinyConfig({ surface: { x: '-1:1:3', y: '-1:1:3', chunk: 8 }, ...over })));
    return p;
  };

  it('trains a curve between two runs and prints both barriers', () => {
    for (const seed of [1, 2]) {
      const cfg = config(`s${seed}`, { train: { epochs: 2, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 }, seed } });
      expect(cli(['run', cfg, '--out', join(dir, `s${seed}`), '--quiet']).code).toBe(0);
    }
    const out = join(dir, 'curve');
    const r = cli([
      'curve',
      join(dir, 's1'),
      join(dir, 's2'),
      '--out',
      out,
      '--steps',
      '50',
      '--points',
      '5',
      '--grid',
      '5',
      '--frames',
      '3',
      '--window-grid',
      '3',
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^barrier along the line [-\d.e]+ .*along the curve [-\d.e]+/m);
    expect(r.stdout).toMatch(/^test subset: barrier along the line/m);
    for (const f of ['manifest.json', 'barrier.csv', 'curve.json', 'surfaces/plane.h5', 'surfaces/ckpt-0002.h5']) expect(existsSync(join(out, f))).toBe(true);
  }, 120_000);

  it('connects two ONNX files of one architecture, trained and evaluated on a data file', () => {
    const fixture = fileURLToPath(new URL('../fixtures/reference-mlp/', import.meta.url));
    // θ₂: the fixture's weights, negated and nudged (same names and shapes)
    const m = parseModel(readFileSync(join(fixture, 'model.onnx')), 'model.onnx');
    m.graph!.initializer = m.graph!.initializer.map((t, k) => {
      const d = decodeTensor(t, t.name);
      return makeTensor(
        t.name,
        DT.FLOAT,
        d.shape,
        Float32Array.from(d.data, (x, i) => -x + 0.01 * Math.sin(i + k)),
      );
    });
    const b = join(dir, 'b.onnx');
    writeFileSync(b, serializeModel(m));
    const out = join(dir, 'onnx-curve');
    const args = ['curve', join(fixture, 'model.onnx'), b, '--data', join(fixture, 'data.h5'), '--out', out, '--steps', '50'];
    const r = cli([...args, '--points', '5', '--grid', '5', '--frames', '3', '--window-grid', '3', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^barrier along the line/m);
    const summary = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
    expect(summary.line.barrier).toBeGreaterThan(0);
    expect(summary.movie.frames).toBe(3);
    const same = cli(['curve', join(fixture, 'model.onnx'), join(fixture, 'model.onnx'), '--data', join(fixture, 'data.h5'), '--out', join(dir, 'same')]);
    expect(same.code).toBe(2);
    expect(errorLines(same)[0]).toMatch(/are the same weights/);
  }, 120_000);

  it('refuses batch norm and mixed ends with one line', () => {
    const cfg = config('bn', { model: { type: 'mlp', hidden: [8], activation: 'relu', batchNorm: true } });
    expect(cli(['run', cfg, '--out', join(dir, 'bn'), '--quiet']).code).toBe(0);
    const r = cli(['curve', join(dir, 'bn'), join(dir, 'bn'), '--out', join(dir, 'bn-curve'), '--quiet']);
    expect(r.code).toBe(2);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/batch norm are not supported/);
    const mixed = cli(['curve', join(dir, 'bn'), 'model.onnx', '--out', join(dir, 'x')]);
    expect(mixed.code).toBe(2);
    expect(errorLines(mixed)).toEqual(['losscape: give two run folders or two ONNX files']);
  }, 120_000);
});
