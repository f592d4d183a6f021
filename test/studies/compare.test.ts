import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/registry.js';
import { sharpness } from '../../src/hessian/sharpness.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { checkpointOf, openRun, runEngine } from '../../src/studies/run-access.js';
import { SplitMetrics } from '../../src/train/metrics.js';
import { cli, errorLines, tinyConfig } from '../helpers/cli.js';
import { tempDir } from './helpers.js';

function readCsv(path: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const keys = head!.split(',');
  // the "changes" column may be quoted and contain commas
  return lines.map((l) => {
    const cells: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i]!;
      if (q) {
        if (ch === '"' && l[i + 1] === '"') (cur += '"'), i++;
        else if (ch === '"') q = false;
        else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') cells.push(cur), (cur = '');
      else cur += ch;
    }
    cells.push(cur);
    return Object.fromEntries(keys.map((k, i) => [k, cells[i]!]));
  });
}

describe('comparison study (CLI, end to end)', () => {
  const dir = tempDir('compare');
  const base = tinyConfig({ surface: { x: '-1:1:5', y: '-1:1:3', chunk: 8 } });
  writeFileSync(join(dir, 'base.json'), JSON.stringify(base));
  const sharp = { traceProbes: 8, seed: 5, tol: 1e-4, epsilon: 1e-3 };
  writeFileSync(
    join(dir, 'study.yaml'),
    [
      'study: compare',
      'name: three',
      'base: base.json',
      'variants:',
      '  plain: {}',
      '  batchnorm: { model: { batchNorm: true } }',
      '  bigbatch: { train: { batchSize: 96 } }',
      `sharpness: ${JSON.stringify(sharp)}`,
    ].join('\n'),
  );
  const out = join(dir, 'out');

  it('trains 3 variants, writes the table; its values equal those recomputed from each run', async () => {
    const r = cli(['study', join(dir, 'study.yaml'), '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('summary.md');
    const rows = readCsv(join(out, 'summary.csv'));
    expect(rows.map((x) => x.variant)).toEqual(['plain', 'batchnorm', 'bigbatch']);
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('| plain |');
    expect(md).toContain('λmax');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(existsSync(join(out, 'figure.svg'))).toBe(true);

    const frames: number[] = [];
    for (const row of rows) {
      const run = await openRun(join(out, row.variant!));
      frames.push(run.manifest.frames.length);
      const ck = checkpointOf(run);
      // loss and accuracy: the final checkpoint on the full splits, by the training backend's engine
      const metrics = await SplitMetrics.create(run.model, run.data.train, run.data.test, (m, d) => createEngine(m, d, { backend: run.cfg.train.backend }));
      const m = await metrics.at(ck.theta);
      metrics.dispose();
      expect(Number(row.train_loss)).toBe(m.train_loss);
      expect(Number(row.train_acc)).toBe(m.train_acc);
      expect(Number(row.test_loss)).toBe(m.test_loss);
      expect(Number(row.test_acc)).toBe(m.test_acc);
      expect(Number(row.gap_loss)).toBe(m.test_loss! - m.train_loss);
      // sharpness with the same seed on the run's evaluation subset
      const engine = await runEngine(run, run.data.evalSubset, { mode: 'eval' });
      const s = await sharpness(engine, ck.theta, { ...sharp, params: 'all' });
      await engine.dispose();
      const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
      close(Number(row.lambda_max), s.lambdaMax);
      close(Number(row.lambda_min), s.lambdaMin);
      close(Number(row.trace), s.trace);
      close(Number(row.eps_sharpness), s.epsSharpness);
    }
    // synchronized movies: same number of frames, same direction seed, same init
    expect(new Set(frames).size).toBe(1);
    const plain = await openRun(join(out, 'plain'));
    const big = await openRun(join(out, 'bigbatch'));
    expect(Array.from(plain.thetas.get(0)!.theta)).toEqual(Array.from(big.thetas.get(0)!.theta));
    const d0 = await readGridFile(join(out, 'plain', 'surfaces', 'ckpt-0000.h5'));
    const d1 = await readGridFile(join(out, 'bigbatch', 'surfaces', 'ckpt-0000.h5'));
    expect(Array.from(d0.values.train_loss!)).toEqual(Array.from(d1.values.train_loss!));
  });

  it('a rerun skips finished variants', () => {
    const r = cli(['study', join(dir, 'study.yaml'), '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('plain: trained, skipped');
    expect(r.stderr).toContain('bigbatch: trained, skipped');
    expect(r.stderr).not.toContain('training');
  });

  it('refuses a variant that changes shared settings, in one line', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nbase: base.json\nvariants:\n  a: {}\n  b: { train: { seed: 4 } }\n');
    const r = cli(['study', join(dir, 'bad.yaml'), '--out', join(dir, 'bad')]);
    expect(r.code).toBe(2);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/variants\.b\.train\.seed: the variants of a comparison share train\.seed/);
    writeFileSync(join(dir, 'bad2.yaml'), 'name: bad\nbase: base.json\nvariants:\n  a: { model: { batchnorm: true } }\n');
    const r2 = cli(['study', join(dir, 'bad2.yaml'), '--out', join(dir, 'bad2')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('variants.a');
    expect(r2.stderr).toContain('batchnorm');
  });
});

describe('comparison study: --variant trains some variants (one process each, side by side)', () => {
  const dir = tempDir('compare-variant');
  writeFileSync(join(dir, 'base.json'), JSON.stringify(tinyConfig({ surface: { x: '-1:1:5', y: '-1:1:3', chunk: 8 } })));
  const study = join(dir, 'study.yaml');
  writeFileSync(study, ['study: compare', 'name: two', 'base: base.json', 'variants:', '  small: {}', '  big: { train: { batchSize: 96 } }'].join('\n'));
  const out = join(dir, 'out');

  it('trains only the named variant and writes no tables; the same command without --variant skips it, trains the other and writes them', () => {
    const r = cli(['study', study, '--out', out, '--variant', 'big']);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("big: done; the study's tables, report and figure: the same command without --variant");
    expect(JSON.parse(readFileSync(join(out, 'big', 'manifest.json'), 'utf8')).status).toBe('complete');
    expect(existsSync(join(out, 'small'))).toBe(false);
    expect(existsSync(join(out, 'summary.csv'))).toBe(false);
    expect(existsSync(join(out, 'figure.svg'))).toBe(false);

    const all = cli(['study', study, '--out', out]);
    expect(all.code).toBe(0);
    expect(`${all.stdout}${all.stderr}`).toContain('big: trained, skipped');
    expect(readCsv(join(out, 'summary.csv')).map((x) => x.variant)).toEqual(['small', 'big']);
    expect(existsSync(join(out, 'figure.svg'))).toBe(true);
  });

  it("an unknown variant: one line naming the study's variants, usage exit code, nothing trained", () => {
    const r = cli(['study', study, '--out', join(dir, 'none'), '--variant', 'small,huge']);
    expect(r.code).toBe(2);
    expect(errorLines(r)).toEqual([expect.stringMatching(/--variant huge: not a variant of this study \(its variants: small, big\)/)]);
    expect(existsSync(join(dir, 'none', 'small'))).toBe(false);
  });

  it('a study of one run has no variants to pick', () => {
    const one = join(dir, 'pca.yaml');
    writeFileSync(one, ['study: pca', 'name: one', 'run: nowhere'].join('\n'));
    const r = cli(['study', one, '--out', join(dir, 'pca'), '--variant', 'a']);
    expect(r.code).toBe(2);
    expect(errorLines(r)).toEqual([expect.stringMatching(/--variant: only a study of variants has them \("study: pca" studies one run\)/)]);
  });
});
