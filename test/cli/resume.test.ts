import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { Journal } from '../../src/jobs/journal.js';
import { cli, cliAsync, tinyConfig } from '../helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Points finished on disk (file + journal records) for a surface output. */
async function finishedPoints(out: string, chunk: number, total: number): Promise<number> {
  const done = new Uint8Array(total);
  if (existsSync(out)) (await readGridFile(out)).done.forEach((d, i) => (done[i] = d));
  const jp = `${out}.journal`;
  if (existsSync(jp)) {
    // the journal's fingerprint is in its header; read records regardless of it
    const buf = readFileSync(jp);
    const fp = buf
      .subarray(12, 12 + buf.readUInt32LE(8) * 8)
      .toString('utf8')
      .replace(/\0+$/, '');
    for (const r of new Journal(jp, fp).read()) done.fill(1, r.chunk * chunk, Math.min(total, (r.chunk + 1) * chunk));
  }
  return done.reduce((a, b) => a + b, 0);
}

describe('resume after SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-resume-'));
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify(tinyConfig()));
  const run = join(dir, 'run');

  it('a killed surface computation continues bit-identically, finished points are not recomputed', async () => {
    expect(cli(['run', cfg, '--out', run, '--quiet']).code).toBe(0);
    const args = (out: string) => ['surface', run, '--checkpoint', '1', '--x', '-2:2:90', '--y', '-2:2:80', '--chunk', '40', '--backend', 'jax', '--out', out];
    const total = 90 * 80;
    // reference: uninterrupted
    const ref = join(dir, 'ref.h5');
    expect(cli([...args(ref), '--quiet']).code).toBe(0);

    const out = join(dir, 'killed.h5');
    const child = cliAsync(args(out));
    const exited = new Promise((r) => child.on('exit', r));
    const t0 = Date.now();
    // wait until a few chunks are journaled, then kill hard
    while (Date.now() - t0 < 60_000) {
      if (existsSync(`${out}.journal`) && statSync(`${out}.journal`).size > 3 * 40 * 16) break;
      await sleep(20);
    }
    child.kill('SIGKILL');
    await exited;
    const before = await finishedPoints(out, 40, total);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(total);

    const second = cli(args(out));
    expect(second.code).toBe(0);
    const m = second.stderr.match(/(\d+) points computed, (\d+) resumed/);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(before);
    expect(Number(m![1])).toBe(total - before);

    const a = await readGridFile(ref);
    const b = await readGridFile(out);
    for (const k of ['train_loss', 'train_acc', 'test_loss', 'test_acc']) {
      expect(Buffer.from(b.values[k]!.buffer).equals(Buffer.from(a.values[k]!.buffer))).toBe(true);
    }
    expect(existsSync(`${out}.journal`)).toBe(false);
  });

  it('a killed run (training + landscapes) resumes to the same result as an uninterrupted one', async () => {
    const cfg2 = join(dir, 'tiny2.json');
    writeFileSync(
      cfg2,
      JSON.stringify(
        tinyConfig({
          name: 'tiny2',
          train: { epochs: 4, batchSize: 32, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 }, seed: 5, checkpointEvery: 7 },
          surface: { x: '-1:1:25', y: '-1:1:25', chunk: 16 },
        }),
      ),
    );
    const ref = join(dir, 'run-ref');
    expect(cli(['run', cfg2, '--out', ref, '--quiet']).code).toBe(0);
    const out = join(dir, 'run-killed');
    const child = cliAsync(['run', cfg2, '--out', out, '--quiet']);
    const exited = new Promise((r) => child.on('exit', r));
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000 && !existsSync(join(out, 'surfaces', 'ckpt-0003.h5.journal'))) await sleep(10);
    child.kill('SIGKILL');
    await exited;
    const second = cli(['run', cfg2, '--out', out]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/resuming the run/);
    const mRef = JSON.parse(readFileSync(join(ref, 'manifest.json'), 'utf8'));
    const mOut = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(mOut.status).toBe('complete');
    expect(mOut.checkpoints).toEqual(mRef.checkpoints);
    expect(mOut.frames.length).toBe(mRef.frames.length);
    for (const f of mRef.frames) {
      const a = await readGridFile(join(ref, f.surface));
      const b = await readGridFile(join(out, f.surface));
      expect(Buffer.from(b.values.train_loss!.buffer).equals(Buffer.from(a.values.train_loss!.buffer))).toBe(true);
      expect(Buffer.from(b.values.test_acc!.buffer).equals(Buffer.from(a.values.test_acc!.buffer))).toBe(true);
    }
  });
});
