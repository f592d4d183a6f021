/**
 * "Derived" run folders: a one-frame run written next to a study's results so
 * that `losscape view a b …` (compare mode) and `losscape report`/`snapshot`
 * can show any set of landscapes side by side.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckpointInfo, type FrameInfo, type Manifest, RUN_FORMAT, writeAtomic } from '../store/run-store.js';

export interface DerivedFrame extends FrameInfo {
  surface: string;
}

export interface DerivedRunOptions {
  /** The run the landscapes come from. */
  source: Manifest;
  sourceDir: string;
  name: string;
  /** What this folder shows, in one sentence (manifest "derived.note"). */
  note: string;
  kind: string;
  frames: DerivedFrame[];
  /** Checkpoint rows (default: those of the source the frames refer to). */
  checkpoints?: CheckpointInfo[];
  /** Config as shown (default the source's). */
  config?: unknown;
  extra?: Record<string, unknown>;
}

/**
 * A minimal run folder (format losscape-run/1) holding landscapes that a study
 * computed from another run: the viewer, report, snapshot and export read it
 * like any run. Its files must already be inside `dir`.
 */
export function writeDerivedRun(dir: string, o: DerivedRunOptions): Manifest {
  mkdirSync(dir, { recursive: true });
  const now = new Date().toISOString();
  const wanted = new Set(o.frames.map((f) => f.checkpoint));
  const m: Manifest & { derived: Record<string, unknown> } = {
    format: RUN_FORMAT,
    name: o.name,
    created: now,
    updated: now,
    status: 'complete',
    versions: o.source.versions,
    config: o.config ?? o.source.config,
    configHash: o.source.configHash,
    model: o.source.model,
    data: o.source.data,
    history: o.source.history,
    checkpoints: o.checkpoints ?? o.source.checkpoints.filter((c) => wanted.has(c.index)),
    frames: o.frames,
    timings: {},
    derived: { kind: o.kind, from: o.sourceDir, note: o.note, ...o.extra },
  };
  writeAtomic(join(dir, 'manifest.json'), `${JSON.stringify(m, null, 1)}\n`);
  return m;
}
