/**
 * `losscape live --save FILE --out DIR` (the static page's downloaded session → a run folder),
 * and its usage and input errors: one line, non-zero exit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LiveConfig } from '../../src/live/config.js';
import { LiveSession } from '../../src/live/session.js';
import { sessionDoc } from '../../src/live/session-file.js';
import { RunStore } from '../../src/store/run-store.js';
import { cli, errorLines } from '../helpers/cli.js';
import { ensureBuilt } from '../viewer/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-live-cli-'));
const file = join(dir, 'live-session.json');

beforeAll(async () => {
  ensureBuilt({ cli: true });
  const s = await LiveSession.create(LiveConfig.parse({ data: 'moons', n: 200, hidden: [8], grid: 5, checkpointEvery: 4 }));
  try {
    await s.train(6);
    writeFileSync(file, JSON.stringify(await sessionDoc(s, 'moons-live')));
  } finally {
    s.dispose();
  }
});

describe('losscape live --save', () => {
  it('turns a downloaded session into a run folder', () => {
    const out = join(dir, 'run');
    const r = cli(['live', '--save', file, '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`run: ${out} (3 checkpoints)\n`);
    const m = new RunStore(out).readManifest();
    expect(m.checkpoints.map((c) => c.step)).toEqual([0, 4, 6]);
    expect(m.frames.map((f) => f.surface)).toEqual(['surfaces/ckpt-0000.h5', 'surfaces/ckpt-0001.h5', 'surfaces/ckpt-0002.h5']);
    expect(m.config).toMatchObject({ data: { source: 'moons', n: 200 }, model: { type: 'mlp', hidden: [8] }, surface: { x: '-1:1:5', y: '-1:1:5' } });
  });

  it('refuses --save without --out, an unreadable file and a non-empty folder, each in one line', () => {
    const a = cli(['live', '--save', file]);
    expect(a.code).toBe(2);
    expect(errorLines(a)).toEqual(['losscape: --save needs --out <run folder>']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "losscape-live-session/1"}');
    const b = cli(['live', '--save', bad, '--out', join(dir, 'x')]);
    expect(b.code).not.toBe(0);
    expect(errorLines(b)).toHaveLength(1);
    expect(errorLines(b)[0]).toMatch(/bad\.json: name: .*config/);
    const c = cli(['live', '--save', file, '--out', dir]);
    expect(c.code).not.toBe(0);
    expect(errorLines(c)[0]).toMatch(/exists and is not empty/);
  });
});
