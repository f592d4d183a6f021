/**
 * Beyond one machine: `--shard i/n` computes a fixed block of the grid's chunks into
 * <out>.shard-i-of-n.h5; `losscape merge` combines the shards into exactly the file one process
 * writes (same batch settings), and refuses shards that do not belong together with one line.
 * Also: `--device cuda` without onnxruntime's CUDA provider is one clear line.
 * Runs the built CLI (npx tsc -p tsconfig.json first).
 */

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { cudaAvailable } from '../../src/engine/ort/device.js';
import { readGridFile, writeGridFile } from '../../src/jobs/grid-file.js';
import { parseShard, shardChunks, shardPath } from '../../src/jobs/shard.js';
import { cli, errorLines, tinyConfig } from '../helpers/cli.js';

async function sameGridFiles(a: string, b: string): Promise<void> {
  const fa = await readGridFile(a);
  const fb = await readGridFile(b);
  expect(Object.keys(fa.values).sort()).toEqual(Object.keys(fb.values).sort());
  for (const k of Object.keys(fa.values)) {
    expect(Buffer.from(fa.values[k]!.buffer).equals(Buffer.from(fb.values[k]!.buffer))).toBe(true);
  }
  expect(Array.from(fa.done)).toEqual(Array.from(fb.done));
  expect(fa.attrs).toEqual(fb.attrs);
}

describe('shards', () => {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-shards-'));
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify(tinyConfig()));
  const run = join(dir, 'run');
  const surfaceArgs = (out: string, ...extra: string[]) => [
    'surface',
    run,
    '--x',
    '-1:1:17',
    '--y',
    '-1:1:13',
    '--chunk',
    '10',
    '--out',
    out,
    '--quiet',
    ...extra,
  ];

  it('shard arithmetic: blocks of chunks covering the grid once', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(() => parseShard('5/5')).toThrow(/0…4/);
    expect(() => parseShard('a/b')).toThrow(/i\/n/);
    const all = [0, 1, 2].flatMap((i) => shardChunks(23, { index: i, count: 3 }));
    expect(all).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(shardPath('out/s.h5', { index: 1, count: 3 })).toBe('out/s.shard-1-of-3.h5');
  });

  it('3 shards merged equal the single-process surface bit for bit', async () => {
    expect(cli(['run', cfg, '--out', run, '--quiet']).code).toBe(0);
    const single = join(dir, 'single.h5');
    expect(cli(surfaceArgs(single, '--workers', '1')).code).toBe(0);
    const out = join(dir, 's.h5');
    for (const i of [2, 0, 1]) {
      const r = cli(surfaceArgs(out, '--shard', `${i}/3`));
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`surface: ${shardPath(out, { index: i, count: 3 })}`);
    }
    const shards = [0, 1, 2].map((i) => shardPath(out, { index: i, count: 3 }));
    const m = cli(['merge', ...shards, '--quiet']);
    expect(m.code).toBe(0);
    expect(m.stdout.trim()).toBe(`merged: ${out}`);
    await sameGridFiles(out, single);
    // and with workers
    const parallel = join(dir, 'parallel.h5');
    expect(cli(surfaceArgs(parallel, '--workers', '2')).code).toBe(0);
    await sameGridFiles(parallel, single);
  });

  it('merge refuses shards that do not belong together, one line each', async () => {
    const out = join(dir, 's.h5');
    const shards = [0, 1, 2].map((i) => shardPath(out, { index: i, count: 3 }));
    const err = (args: string[]) => {
      const r = cli(['merge', ...args]);
      expect(r.code).not.toBe(0);
      const lines = errorLines(r);
      expect(lines).toHaveLength(1);
      return lines[0]!;
    };
    expect(err([shards[0]!, shards[2]!, '--out', join(dir, 'x.h5')])).toMatch(/missing shard 1\/3/);
    // other directions
    const other = join(dir, 'o.h5');
    expect(cli(surfaceArgs(other, '--shard', '1/3', '--dir-seed', '5')).code).toBe(0);
    const otherShard = join(dir, 'mix', 's.shard-1-of-3.h5');
    mkdirSync(join(dir, 'mix'), { recursive: true });
    copyFileSync(shardPath(other, { index: 1, count: 3 }), otherShard);
    expect(err([shards[0]!, otherShard, shards[2]!, '--out', join(dir, 'x.h5')])).toMatch(/other directions/);
    // another split
    const two = join(dir, 't.h5');
    expect(cli(surfaceArgs(two, '--shard', '1/2')).code).toBe(0);
    expect(err([shards[0]!, shardPath(two, { index: 1, count: 2 }), '--out', join(dir, 'x.h5')])).toMatch(/different splits/);
    // an incomplete shard
    const broken = join(dir, 'mix', 's.shard-2-of-3.h5');
    const gf = await readGridFile(shards[2]!);
    const firstDone = gf.done.indexOf(1);
    gf.done.fill(0, firstDone, firstDone + 10);
    await writeGridFile(broken, gf);
    expect(err([shards[0]!, shards[1]!, broken, '--out', join(dir, 'x.h5')])).toMatch(/incomplete: 1 of its \d+ chunks/);
    // not a shard file
    expect(err([join(dir, 'single.h5'), shards[1]!, '--out', join(dir, 'x.h5')])).toMatch(/not a shard file/);
    expect(err([join(dir, 'nope.h5')])).toMatch(/no such file/);
  });

  it('a sharded run: every landscape in 3 shards, merge <run> gives the unsharded run', async () => {
    const sharded = join(dir, 'run-sharded');
    for (const i of [1, 0, 2]) expect(cli(['run', cfg, '--out', sharded, '--shard', `${i}/3`, '--quiet']).code).toBe(0);
    const m = cli(['merge', sharded, '--quiet']);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/merged: 3 landscapes/);
    const a = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(sharded, 'manifest.json'), 'utf8'));
    expect(b.frames).toEqual(a.frames);
    for (const f of a.frames) await sameGridFiles(join(sharded, f.surface), join(run, f.surface));
    const r = cli(['run', cfg, '--out', sharded, '--shard', '0/3', '--fresh']);
    expect(r.code).toBe(2);
    expect(errorLines(r)[0]).toMatch(/--fresh cannot be combined with --shard/);
  });

  it('the Slurm example: 3 array tasks and the merge job give the single-process surface', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const out = join(dir, 'slurm', 'demo.h5');
    mkdirSync(join(dir, 'slurm'), { recursive: true });
    const env = {
      ...process.env,
      RUN: run,
      CHECKPOINT: '1',
      GRID_X: '-1:1:17',
      GRID_Y: '-1:1:13',
      OUT: out,
      SLURM_ARRAY_TASK_COUNT: '3',
      SLURM_ARRAY_TASK_MIN: '0',
      SLURM_CPUS_PER_TASK: '1',
    };
    for (const i of ['0', '1', '2']) {
      const r = spawnSync('bash', [join(root, 'deploy/slurm/landscape.sbatch')], { cwd: root, env: { ...env, SLURM_ARRAY_TASK_ID: i }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const m = spawnSync('bash', [join(root, 'deploy/slurm/merge.sbatch')], { cwd: root, env, encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    const single = join(dir, 'slurm', 'single.h5');
    expect(cli(['surface', run, '--checkpoint', '1', '--x', '-1:1:17', '--y', '-1:1:13', '--chunk', '64', '--out', single, '--quiet']).code).toBe(0);
    await sameGridFiles(out, single);
    // the Kubernetes example: an Indexed Job whose pods pass JOB_COMPLETION_INDEX as the shard
    const job = YAML.parse(readFileSync(join(root, 'deploy/k8s/indexed-job.yaml'), 'utf8'));
    expect(job.spec.completionMode).toBe('Indexed');
    const args = job.spec.template.spec.containers[0].args.join(' ');
    expect(args).toContain(`--shard "\${JOB_COMPLETION_INDEX}/${job.spec.completions}"`);
  });

  it('--device cuda without the CUDA provider: one line saying how to install it', async () => {
    if ((await cudaAvailable()).ok) return; // a machine with the provider installed
    const r = cli(surfaceArgs(join(dir, 'cuda.h5'), '--device', 'cuda'));
    expect(r.code).toBe(2);
    const lines = errorLines(r);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/CUDA provider is not available here/);
    expect(lines[0]).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  });
});
