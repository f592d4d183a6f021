import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveConfig } from '../../src/run/config.js';
import { runConfigHash } from '../../src/run/pipeline.js';

describe('run configs', () => {
  it('fill every default (the manifest records the resolved config)', () => {
    const c = resolveConfig({});
    expect(c.data.subset).toEqual({ size: 0.05, seed: 0 });
    expect(c.model).toMatchObject({ type: 'mlp', hidden: [64], activation: 'relu', batchNorm: false, dropout: 0 });
    expect(c.train.optimizer).toEqual({ type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0 });
    expect(c.directions).toMatchObject({ seed: 123, norm: 'filter', ignore: 'biasbn', perCheckpoint: 'renormalize' });
    expect(c.surface).toMatchObject({ x: '-1:1:41', y: '-1:1:41', mode: 'eval' });
    expect(c.hessian).toBeUndefined();
    expect(resolveConfig({ hessian: {} }).hessian).toMatchObject({ x: '-1:1:5', params: 'all', convergence: 'eigenvalue', tol: 1e-6 });
    expect(resolveConfig({ hessian: { certify: false, certifyTol: 1e-4 } }).hessian).toMatchObject({ certify: false, certifyTol: 1e-4 });
    expect(resolveConfig({ hessian: { convergence: 'residual' } }).hessian).toMatchObject({ convergence: 'residual', tol: 1e-5 });
    expect(resolveConfig({ train: { optimizer: { type: 'adam' } } }).train.optimizer).toMatchObject({ lr: 1e-3, beta2: 0.999 });
  });

  it('hash what changes results, not threads or workers', () => {
    const a = resolveConfig({ engine: { workers: 1 } });
    const b = resolveConfig({ engine: { workers: 2, threads: 3 } });
    const c = resolveConfig({ engine: { backend: 'jax' } });
    expect(runConfigHash(a)).toBe(runConfigHash(b));
    expect(runConfigHash(a)).not.toBe(runConfigHash(c));
    expect(runConfigHash(a)).not.toBe(runConfigHash(resolveConfig({ directions: { seed: 1 } })));
  });

  it('resolve file paths relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'losscape-cfg-'));
    const p = join(dir, 'c.yaml');
    writeFileSync(p, 'data: { source: file, path: data/x.h5 }\nmodel: { type: onnx, path: ../m.onnx }\n');
    const c = loadConfigFile(p);
    expect(c.data.path).toBe(join(dir, 'data/x.h5'));
    expect(c.model.type === 'onnx' && c.model.path).toBe(join(dir, '../m.onnx'));
  });

  it('report every mistake on its own line with its path', () => {
    try {
      resolveConfig({ data: { source: 'file' }, model: { type: 'cnn', kernel: 0 }, surface: { y: 'a:b' } });
      expect.unreachable();
    } catch (e) {
      const lines = (e as Error).message.split('\n');
      expect(lines).toHaveLength(3);
      expect(lines.some((l) => /data\.path: source "file" needs a path/.test(l))).toBe(true);
      expect(lines.some((l) => /model\.kernel/.test(l))).toBe(true);
      expect(lines.some((l) => /surface\.y/.test(l))).toBe(true);
    }
  });
});
