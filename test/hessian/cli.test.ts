/**
 * `losscape hessian` (the built CLI, dist/): a map on the reference fixture with
 * the inputs of `losscape surface`, the centre report, run folders, resume
 * after SIGKILL, and one-line errors for bad flags.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readH5 } from '../../src/io/h5.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { cli, cliAsync, errorLines, tinyConfig } from '../helpers/cli.js';
import { FIXTURE, fixtureEigen } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-hessian-cli-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fixtureArgs = ['--model', `${FIXTURE}model.onnx`, '--data', `${FIXTURE}data.h5`];

function expectCleanFailure(args: string[], pattern: RegExp) {
  const r = cli(args, { cwd: dir });
  expect(r.code, r.stderr).not.toBe(0);
  const err = errorLines(r);
  expect(err.length, r.stderr).toBe(1);
  expect(err[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('losscape hessian on the reference fixture', () => {
  it("the README's command, defaults only: every point of the 5×5 map within 1e-5·λmax of eigen.json, and certified", async () => {
    const work = mkdtempSync(join(tmpdir(), 'losscape-readme-hessian-'));
    for (const f of ['model.onnx', 'data.h5', 'directions.h5']) copyFileSync(`${FIXTURE}${f}`, join(work, f));
    const documented = 'hessian --model model.onnx --data data.h5 --directions directions.h5 --x -1:1:5 --y -1:1:5 --out eig.h5';
    expect(readFileSync(new URL('../../README.md', import.meta.url), 'utf8')).toContain(`npx losscape ${documented}`);
    const r = cli(documented.split(' '), { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/every point certified/);
    const h = await readH5(join(work, 'eig.h5'));
    const ref = fixtureEigen().grid.all_params;
    const max = h.get('max_eig')!.value as Float64Array;
    const min = h.get('min_eig')!.value as Float64Array;
    const certified = h.get('certified')!.value as Float64Array;
    const converged = h.get('converged')!.value as Float64Array;
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        const k = i * 5 + j;
        const lmax = ref.lambda_max[i][j] as number;
        expect(Math.abs(max[k]! - lmax) / lmax, `λmax at (${j}, ${i})`).toBeLessThan(1e-5);
        expect(Math.abs(min[k]! - (ref.lambda_min[i][j] as number)) / lmax, `λmin at (${j}, ${i})`).toBeLessThan(1e-5);
        expect(certified[k], `certified at (${j}, ${i})`).toBe(1);
        expect(converged[k]).toBe(1);
      }
    }
  });

  it('--model/--data/--directions with a 3×3 grid writes max_eig, min_eig of the true mean-loss Hessian', async () => {
    const out = join(dir, 'E.h5');
    const r = cli(['hessian', ...fixtureArgs, '--directions', `${FIXTURE}directions.h5`, '--x', '-1:1:3', '--y', '-1:1:3', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`eigenmap: ${out}`);
    expect(r.stderr).toMatch(/9 points computed, 0 resumed/);
    const h = await readH5(out);
    for (const c of ['max_eig', 'min_eig', 'eig_ratio', 'hvps', 'computed']) expect(h.get(c)!.shape, c).toEqual([3, 3]);
    expect(Array.from(h.get('xcoordinates')!.value as Float64Array)).toEqual([-1, 0, 1]);
    expect(Array.from(h.get('ycoordinates')!.value as Float64Array)).toEqual([-1, 0, 1]);
    expect(h.attrs.params).toBe('all');
    expect(h.attrs.convergence).toBe('eigenvalue');
    expect(h.attrs.tol).toBe(1e-6);
    // the 3×3 grid is every other point of eigen.json's 5×5 grid
    const ref = fixtureEigen().grid.all_params;
    const max = h.get('max_eig')!.value as Float64Array;
    const min = h.get('min_eig')!.value as Float64Array;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const lmax = ref.lambda_max[2 * i][2 * j] as number;
        const lmin = ref.lambda_min[2 * i][2 * j] as number;
        expect(Math.abs(max[i * 3 + j]! - lmax) / lmax).toBeLessThan(1e-5);
        expect(Math.abs(min[i * 3 + j]! - lmin) / lmax).toBeLessThan(1e-5);
      }
    }
    // two worker threads, each running whole Lanczos runs, give one worker's values bit for bit
    // (with one intra-op thread each: more threads sum in another order)
    const maps = [];
    for (const workers of ['1', '2']) {
      const o = join(dir, `E-w${workers}.h5`);
      const rw = cli([
        'hessian',
        ...fixtureArgs,
        '--directions',
        `${FIXTURE}directions.h5`,
        '--x',
        '-1:1:3',
        '--y',
        '-1:1:3',
        '--out',
        o,
        '--workers',
        workers,
        '--threads',
        '1',
      ]);
      expect(rw.code, rw.stderr).toBe(0);
      maps.push(await readH5(o));
    }
    for (const c of ['max_eig', 'min_eig', 'hvps']) {
      expect(Array.from(maps[1]!.get(c)!.value as Float64Array), c).toEqual(Array.from(maps[0]!.get(c)!.value as Float64Array));
    }
  }, 300_000);

  it('the centre: λmax, λmin, ratio, trace ± se, ε-sharpness, --top, --density (params ndim>1)', () => {
    const density = join(dir, 'density.csv');
    const r = cli(['hessian', ...fixtureArgs, '--params', 'ndim>1', '--top', '3', '--probes', '20', '--density', density]);
    expect(r.code, r.stderr).toBe(0);
    const kv = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const c = fixtureEigen().center;
    const top = c.top5_weights_only_ndim_gt_1.values as number[];
    expect(kv.params).toBe('ndim>1 (50816 coordinates)');
    expect(Math.abs(Number(kv.lambda_max) - top[0]!) / top[0]!).toBeLessThan(1e-4);
    expect(Math.abs(Number(kv.lambda_min) - -0.07831895167) / top[0]!).toBeLessThan(1e-3);
    expect(Number(kv.ratio)).toBeCloseTo(0.0247049, 4);
    expect(
      kv
        .top!.split(' ')
        .map(Number)
        .map((v, i) => Math.abs(v - top[i]!) / top[0]!)
        .every((e) => e < 1e-4),
    ).toBe(true);
    expect(kv.trace).toMatch(/^[\d.]+ ± [\d.]+ \(20 probes\)$/);
    expect(Number(kv.eps_sharpness!.split(' ')[0])).toBeGreaterThan(0);
    expect(Number(kv.loss)).toBeCloseTo(0.0788374503, 5);
    const lines = readFileSync(density, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('lambda,density');
    expect(lines.length).toBeGreaterThan(100);
  }, 300_000);
});

describe('losscape hessian on a run', () => {
  const cfg = join(dir, 'tiny.json');
  const run = join(dir, 'run');
  beforeAll(() => {
    writeFileSync(cfg, JSON.stringify(tinyConfig({ hessian: { x: '-1:1:3', y: '-1:1:3' } })));
    const r = cli(['run', cfg, '--out', run, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  it('--all-checkpoints writes hessian/ckpt-*.h5 and lists them in the manifest; --sharpness writes the table', () => {
    const r = cli(['hessian', run, '--all-checkpoints', '--sharpness', join(dir, 's.csv'), '--probes', '10']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(m.frames.length).toBeGreaterThan(0);
    for (const f of m.frames) {
      expect(f.hessian).toBe(`hessian/ckpt-${String(f.checkpoint).padStart(4, '0')}.h5`);
      expect(existsSync(join(run, f.hessian))).toBe(true);
      expect(r.stdout).toContain(`hessian: ${join(run, f.hessian)}`);
    }
    expect(m.hessian).toEqual({ params: 'all', grid: '-1:1:3 × -1:1:3' });
    const csv = readFileSync(join(dir, 's.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^checkpoint,step,epoch,loss,lambda_max,lambda_min,trace,trace_stderr,eps_sharpness,train_loss,test_loss,gap_loss/);
    expect(csv).toHaveLength(m.checkpoints.length + 1);
  }, 300_000);

  it('a map killed mid-way resumes to the same numbers', async () => {
    const args = (out: string) => ['hessian', run, '--checkpoint', '1', '--x', '-1:1:12', '--y', '-1:1:10', '--backend', 'jax', '--out', out];
    const ref = join(dir, 'ref.h5');
    expect(cli([...args(ref), '--quiet']).code).toBe(0);
    const out = join(dir, 'killed.h5');
    const child = cliAsync(args(out));
    const exited = new Promise((r) => child.on('exit', r));
    const t0 = Date.now();
    // a journal record of a 12-point row with 5 channels is > 480 bytes: wait for two rows
    while (Date.now() - t0 < 120_000) {
      if (existsSync(`${out}.journal`) && statSync(`${out}.journal`).size > 2 * 12 * 5 * 8) break;
      await sleep(10);
    }
    child.kill('SIGKILL');
    await exited;
    const second = cli(args(out));
    expect(second.code, second.stderr).toBe(0);
    const m = second.stderr.match(/(\d+) points computed, (\d+) resumed/);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![1]) + Number(m![2])).toBe(120);
    const a = await readGridFile(ref);
    const b = await readGridFile(out);
    for (const k of ['max_eig', 'min_eig', 'eig_ratio', 'hvps']) {
      expect(Buffer.from(b.values[k]!.buffer).equals(Buffer.from(a.values[k]!.buffer)), k).toBe(true);
    }
    expect(existsSync(`${out}.journal`)).toBe(false);
  }, 300_000);

  it('bad flags: one line, non-zero exit', () => {
    const f = ['hessian', ...fixtureArgs];
    expectCleanFailure([...f, '--params', 'weights'], /--params must be one of all, ndim>1/);
    expectCleanFailure([...f, '--x', '-1:1:3'], /needs --out/);
    expectCleanFailure([...f, '--x', '1:0:3', '--out', 'e.h5'], /--x: max \(0\) must be greater than min \(1\)/);
    expectCleanFailure([...f, '--out', 'e.txt'], /must end in \.h5/);
    expectCleanFailure([...f, '--tol', '-1'], /--tol must be positive/);
    expectCleanFailure([...f, '--convergence', 'ritz'], /--convergence must be one of residual, eigenvalue/);
    expectCleanFailure([...f, '--max-iter', 'lots'], /--max-iter expects a number/);
    expectCleanFailure([...f, '--top', '0'], /--top must be at least 1/);
    expectCleanFailure([...f, '--dtype', 'float16'], /--dtype must be one of float32, float64/);
    expectCleanFailure([...f, '--workers', '2'], /--workers and --threads are for a map/);
    expectCleanFailure([...f, '--x', '-1:1:3', '--out', join(dir, 'w.h5'), '--workers', '0'], /--workers must be at least 1/);
    expectCleanFailure([...f, '--all-checkpoints'], /need a run folder/);
    expectCleanFailure(['hessian', run, '--all-checkpoints', '--top', '3'], /not with --all-checkpoints/);
    expectCleanFailure(['hessian', join(dir, 'nowhere')], /not a run folder/);
    expectCleanFailure(['hessian', '--model', join(dir, 'none.onnx'), '--data', 'x.h5'], /no such file/);
  }, 300_000);

  it('another setting on an existing map is refused in one line', () => {
    const out = join(dir, 'ref.h5');
    expectCleanFailure(
      ['hessian', run, '--checkpoint', '1', '--x', '-1:1:12', '--y', '-1:1:10', '--backend', 'jax', '--tol', '1e-3', '--out', out],
      /different configuration.*--fresh/,
    );
  }, 300_000);
});
