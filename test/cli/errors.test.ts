import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, errorLines, tinyConfig } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-errors-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Every failure: non-zero exit, one line per mistake, no stack trace. */
function expectCleanFailure(args: string[], pattern: RegExp, lines = 1) {
  const r = cli(args, { cwd: dir });
  expect(r.code).not.toBe(0);
  const err = errorLines(r);
  expect(err.length, r.stderr).toBe(lines);
  expect(err.join('\n')).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

describe('bad configs', () => {
  it('unknown keys and bad values: one line each, nothing written', () => {
    const p = write('bad.yaml', 'model:\n  type: mlp\n  hiden: [3]\ntrain:\n  epochs: -1\nsurface:\n  x: "1:0:3"\n');
    expectCleanFailure(['run', p, '--out', join(dir, 'out1')], /hiden/, 3);
    expect(existsSync(join(dir, 'out1'))).toBe(false);
  });
  it('a wrong type names the field', () => {
    const p = write('type.json', JSON.stringify({ train: { batchSize: 'big' } }));
    expectCleanFailure(['run', p, '--out', join(dir, 'out2')], /train\.batchSize/);
    expect(existsSync(join(dir, 'out2'))).toBe(false);
  });
  it('invalid YAML / JSON and missing files', () => {
    expectCleanFailure(['run', write('broken.yaml', 'model: [\n'), '--out', join(dir, 'o3')], /not valid YAML/);
    expectCleanFailure(['run', write('broken.json', '{"model": '), '--out', join(dir, 'o4')], /not valid JSON/);
    expectCleanFailure(['run', join(dir, 'nope.yaml')], /cannot read/);
    expectCleanFailure(['run', write('list.yaml', '- 1\n- 2\n')], /mapping/);
    expect(readdirSync(dir).filter((f) => f.startsWith('o'))).toEqual([]);
  });
  it('a rerun with another config is refused and leaves the run untouched', () => {
    const p = write('tiny.json', JSON.stringify(tinyConfig({ train: { epochs: 1, batchSize: 64, seed: 1 } })));
    const out = join(dir, 'run');
    expect(cli(['run', p, '--out', out, '--quiet']).code).toBe(0);
    const manifest = readFileSync(join(out, 'manifest.json'), 'utf8');
    const mtime = statSync(join(out, 'surfaces', 'ckpt-0001.h5')).mtimeMs;
    const q = write('tiny-other.json', JSON.stringify(tinyConfig({ train: { epochs: 2, batchSize: 64, seed: 1 } })));
    expectCleanFailure(['run', q, '--out', out], /different config \(train differ\).*--fresh/);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(manifest);
    expect(statSync(join(out, 'surfaces', 'ckpt-0001.h5')).mtimeMs).toBe(mtime);
    // --fresh starts over with the new config
    expect(cli(['run', q, '--out', out, '--fresh', '--quiet']).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).config.train.epochs).toBe(2);
  });
});

describe('one exit-code rule for user errors', () => {
  it('the same bad config exits 2 from run and from study, with the same line', () => {
    const bad = write('bad-model.yaml', 'model:\n  type: mlp\n  hiden: [3]\n');
    const study = write('bad-study.yaml', 'study: pca\nname: p\nbase: bad-model.yaml\n');
    const fromRun = expectCleanFailure(['run', bad, '--out', join(dir, 'exit-run')], /hiden/);
    const fromStudy = expectCleanFailure(['study', study, '--out', join(dir, 'exit-study')], /hiden/);
    expect(fromRun.code).toBe(2);
    expect(fromStudy.code).toBe(2);
    expect(errorLines(fromStudy)[0]!.replace(/^.*hiden/, '')).toBe(errorLines(fromRun)[0]!.replace(/^.*hiden/, ''));
    expect(existsSync(join(dir, 'exit-run'))).toBe(false);
    expect(existsSync(join(dir, 'exit-study'))).toBe(false);
  });
});

describe('bad flags', () => {
  const run = join(dir, 'run');
  it('grid specs, numbers and choices are checked before anything is written', () => {
    const out = join(dir, 's.h5');
    expectCleanFailure(['surface', run, '--x', '1:0:3', '--out', out], /--x: max \(0\) must be greater than min \(1\)/);
    expectCleanFailure(['surface', run, '--x', '-1:1', '--out', out], /min:max:n/);
    expectCleanFailure(['surface', run, '--norm', 'bogus', '--out', out], /--norm must be one of/);
    expectCleanFailure(['surface', run, '--checkpoint', '99', '--out', out], /no checkpoint 99/);
    expectCleanFailure(['surface', run, '--checkpoint', 'x', '--out', out], /--checkpoint expects a number/);
    expectCleanFailure(['surface', join(dir, 'nothing'), '--out', out], /not a run folder/);
    expectCleanFailure(['surface', run, '--out', join(dir, 's.txt')], /must end in \.h5/);
    expectCleanFailure(['surface', '--model', join(dir, 'missing.onnx'), '--data', 'x', '--out', out], /no such file/);
    expectCleanFailure(['demo', '--epochs', '0'], /--epochs must be at least 1/);
    expect(existsSync(out)).toBe(false);
  });
  it('unknown commands and options', () => {
    const r = cli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
    const s = cli(['surface', join(dir, 'run'), '--out', join(dir, 'b.h5'), '--bogus']);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toMatch(/unknown option '--bogus'/);
  });
  it('an existing surface computed with other settings is refused, not overwritten', () => {
    const out = join(dir, 'keep.h5');
    expect(cli(['surface', run, '--x', '-1:1:5', '--y', '-1:1:3', '--out', out, '--quiet']).code).toBe(0);
    const before = readFileSync(out);
    expectCleanFailure(['surface', run, '--x', '-1:1:5', '--y', '-1:1:4', '--out', out], /different configuration.*--fresh/);
    expect(readFileSync(out).equals(before)).toBe(true);
  });
  it('--help works everywhere', () => {
    for (const c of [[], ['demo'], ['run'], ['surface']]) {
      const r = cli([...c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: losscape/);
    }
  });
});
