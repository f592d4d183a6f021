/**
 * The run folder's writer lock (store/lock.ts): a second writer is refused with one line, a
 * lock left by a dead process is taken over, the shards of a run share the folder, and two
 * `losscape run` processes on one folder: the second is refused, the first finishes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LosscapeError } from '../../src/core/errors.js';
import { isLockFile, lockFolder } from '../../src/store/lock.js';
import { cli, cliAsync, errorLines, tinyConfig } from '../helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fresh = () => mkdtempSync(join(tmpdir(), 'losscape-lock-'));

/** The PID of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function refusedWith(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LosscapeError);
    expect((e as LosscapeError).kind).toBe('state');
    expect((e as Error).message).not.toMatch(/\n/);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('lockFolder', () => {
  it('refuses a second holder, naming the first; after release the folder can be locked again', () => {
    const dir = fresh();
    const release = lockFolder(dir, { what: 'losscape run' });
    const holder = JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), what: 'losscape run' });
    expect(refusedWith(() => lockFolder(dir, { what: 'losscape run' }))).toMatch(new RegExp(`in use by losscape run \\(process ${process.pid}, since `));
    release();
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    lockFolder(dir, { what: 'again' })();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over a lock whose process is gone, and leaves no temporary files', () => {
    const dir = fresh();
    const pid = deadPid();
    writeFileSync(join(dir, '.lock'), JSON.stringify({ pid, host: hostname(), since: '2026-12-05T00:00:00Z', what: 'losscape run' }));
    const release = lockFolder(dir, { what: 'losscape run' });
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual(['.lock']);
    release();
  });

  it('a holder on another host counts as live; the message says which file to delete', () => {
    const dir = fresh();
    writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', since: '2026-12-05T00:00:00Z', what: 'losscape run' }));
    expect(refusedWith(() => lockFolder(dir, { what: 'losscape run' }))).toMatch(/process 1 on elsewhere.*delete .*\.lock\)$/);
  });

  it('parts (shards) share the folder with each other, not with a whole-folder writer', () => {
    const dir = fresh();
    const a = lockFolder(dir, { what: 'shard 0', part: 'shard-0-of-2' });
    const b = lockFolder(dir, { what: 'shard 1', part: 'shard-1-of-2' });
    expect(refusedWith(() => lockFolder(dir, { what: 'shard 0 again', part: 'shard-0-of-2' }))).toMatch(/in use by shard 0/);
    expect(refusedWith(() => lockFolder(dir, { what: 'losscape run' }))).toMatch(/in use by shard [01]/);
    // the refused whole-folder attempt left nothing behind
    expect(readdirSync(dir).sort()).toEqual(['.lock.shard-0-of-2', '.lock.shard-1-of-2']);
    a();
    b();
    const whole = lockFolder(dir, { what: 'losscape run' });
    expect(refusedWith(() => lockFolder(dir, { what: 'shard 0', part: 'shard-0-of-2' }))).toMatch(/in use by losscape run/);
    whole();
  });

  it('lock files are recognised as such (kept when --fresh empties a run folder), temporary names are not', () => {
    expect(['.lock', '.lock.shard-0-of-4'].map(isLockFile)).toEqual([true, true]);
    expect(['.lock.123.tmp', '.lock.123.stale', 'manifest.json', '.locked'].map(isLockFile)).toEqual([false, false, false, false]);
  });
});

describe('two processes on one run folder', () => {
  const dir = fresh();
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify(tinyConfig({ train: { epochs: 3, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 }, seed: 3 } })));

  async function startAndWaitForLock(out: string) {
    const child = cliAsync(['run', cfg, '--out', out, '--quiet']);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const t0 = Date.now();
    while (!existsSync(join(out, '.lock')) && Date.now() - t0 < 60_000) await sleep(10);
    expect(existsSync(join(out, '.lock'))).toBe(true);
    return { child, exited };
  }

  it('the second is refused with one line while the first runs; the first finishes and removes its lock', async () => {
    const out = join(dir, 'run');
    const first = await startAndWaitForLock(out);
    // hold the first still (SIGSTOP) while the second starts, whatever the machine's speed
    first.child.kill('SIGSTOP');
    const second = cli(['run', cfg, '--out', out]);
    first.child.kill('SIGCONT');
    expect(second.code).toBe(2);
    expect(errorLines(second)).toHaveLength(1);
    expect(second.stderr).toMatch(/^losscape: .*run is in use by losscape run \(process \d+, since .*\); wait for it to finish or stop it/);
    expect(await first.exited).toBe(0);
    expect(readdirSync(out).filter(isLockFile)).toEqual([]);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('complete');
  });

  it('after kill -9 the stale lock is taken over and the run resumes', async () => {
    const out = join(dir, 'killed');
    mkdirSync(out);
    const first = await startAndWaitForLock(out);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(join(out, '.lock'))).toBe(true);
    const again = cli(['run', cfg, '--out', out, '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(out).filter(isLockFile)).toEqual([]);
  });
});
