/**
 * A run folder's writer lock: a file `.lock` (or `.lock.<part>` for one part of a run written
 * by several processes at once, e.g. the shards of a landscape) holding the holder's PID, host,
 * start time and what it does. A second writer is refused with one line; a lock whose process
 * is gone (same host, no such PID) is stale and taken over.
 */
import { existsSync, linkSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  what: string;
}

export interface LockOptions {
  /** What the holder does, for the refusal message (e.g. "losscape run"). */
  what: string;
  /** A part of the folder written alongside other parts (e.g. "shard-0-of-4"); absent: the whole folder. */
  part?: string;
}

const PREFIX = '.lock';

/** Whether `name` in a run folder is a lock file (kept when a run folder is emptied). */
export function isLockFile(name: string): boolean {
  return name === PREFIX || /^\.lock\.[\w-]+$/.test(name);
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** A holder on this host whose process no longer exists; holders on other hosts count as live. */
function isStale(h: LockHolder | null): boolean {
  if (!h) return true;
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Create `path` with our holder record, complete at once (a hard link of a written file); false if it exists. */
function tryCreate(path: string, holder: LockHolder): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(holder));
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

const sameHolder = (a: LockHolder | null, b: LockHolder | null) => a?.pid === b?.pid && a?.host === b?.host && a?.since === b?.since;

/**
 * Take `path`; a stale lock is moved aside first (a rename, so two processes cannot both take
 * over the same stale lock). Returns the live holder when it is held.
 */
function take(path: string, holder: LockHolder): LockHolder | null {
  if (tryCreate(path, holder)) return null;
  const other = readHolder(path);
  if (!isStale(other)) return other!;
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    // another process moved it first
  }
  const moved = existsSync(aside) ? readHolder(aside) : other;
  if (existsSync(aside) && !sameHolder(moved, other)) {
    // what we moved was a lock taken meanwhile: put it back
    renameSync(aside, path);
    return moved ?? holder;
  }
  rmSync(aside, { force: true });
  return tryCreate(path, holder) ? null : (readHolder(path) ?? holder);
}

/** Live holders of locks that exclude ours: the whole-folder lock excludes every part and every part excludes it. */
function conflicting(dir: string, own: string): [string, LockHolder][] {
  const names = readdirSync(dir).filter((n) => isLockFile(n) && n !== own && (own === PREFIX || n === PREFIX));
  return names.flatMap((n): [string, LockHolder][] => {
    const h = readHolder(join(dir, n));
    return h && !isStale(h) ? [[n, h]] : [];
  });
}

function refusal(dir: string, file: string, h: LockHolder): LosscapeError {
  const where = h.host === hostname() ? `process ${h.pid}` : `process ${h.pid} on ${h.host}`;
  return new LosscapeError(
    'state',
    `${dir} is in use by ${h.what} (${where}, since ${h.since}); wait for it to finish or stop it (a lock left by a crash on another host: delete ${join(dir, file)})`,
  );
}

/**
 * Lock the folder `dir` (created if missing) for writing; returns the release function (also
 * run at process exit). Throws LosscapeError('state') when another live process holds it.
 */
export function lockFolder(dir: string, opts: LockOptions): () => void {
  if (!existsSync(dir)) throw new LosscapeError('state', `${dir}: no such folder to lock`);
  const file = opts.part ? `${PREFIX}.${opts.part}` : PREFIX;
  const path = join(dir, file);
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what: opts.what };
  const other = take(path, holder);
  if (other) throw refusal(dir, file, other);
  const release = () => {
    if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
    process.off('exit', release);
  };
  process.on('exit', release);
  const [clash] = conflicting(dir, file);
  if (clash) {
    release();
    throw refusal(dir, clash[0], clash[1]);
  }
  return release;
}
