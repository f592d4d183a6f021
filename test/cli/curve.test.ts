import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
