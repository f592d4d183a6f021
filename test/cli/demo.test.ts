import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeLayout } from '../../src/core/layout.js';
import { readDirectionFile } from '../../src/directions/file.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { buildModel } from '../../src/model/zoo.js';
import { RunStore } from '../../src/store/run-store.js';
import { cli } from '../helpers/cli.js';

describe('losscape demo (reduced size)', () => {
  it('trains on MNIST, writes a landscape per checkpoint and says how to view it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'losscape-demo-')), 'demo');
    const r = cli(['demo', '--out', out, '--epochs', '2', '--grid', '9', '--subset', '200']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/run: .*demo/);
    expect(r.stderr).toMatch(/losscape view/);

    const m = new RunStore(out).readManifest();
    expect(m.status).toBe('complete');
    expect(m.model.name).toBe('mlp 784-128-64-10 relu');
    expect(m.data.subset.size).toBe(200);
    expect(m.data.subset.indices.length).toBe(200);
    expect(m.checkpoints.map((c) => c.step)).toEqual([0, 125, 250]);
    expect(m.frames.length).toBe(3);
    // training works: loss falls and accuracy rises on held-out data
    expect(m.checkpoints[2]!.test_loss!).toBeLessThan(m.checkpoints[0]!.test_loss! / 3);
    expect(m.checkpoints[2]!.test_acc!).toBeGreaterThan(80);
    const thetas = await new RunStore(out).readCheckpoints();
    expect(thetas.size).toBe(3);
    const layout = makeLayout(m.model.layout);
    expect(layout.size).toBe(buildModel(m.config && (m.config as { model: unknown }).model, [784], 10).layout.size);
    for (const f of m.frames) {
      const s = await readGridFile(join(out, f.surface!));
      expect(s.grid).toEqual({ x: { min: -1, max: 1, n: 9 }, y: { min: -1, max: 1, n: 9 } });
      expect(s.done.every((d) => d === 1)).toBe(true);
      // the centre of every landscape is the checkpoint itself
      expect(s.values.train_loss![4 * 9 + 4]).toBeCloseTo(f.center_loss!, 5);
      expect(s.attrs.dir_file).toBe(f.directions);
      expect(Object.keys(s.values).sort()).toEqual(['test_acc', 'test_loss', 'train_acc', 'train_loss']);
      const d = await readDirectionFile(join(out, f.directions!), layout);
      expect(d.dy).toBeDefined();
    }
    // the centre is the minimum region of the trained landscape
    const last = await readGridFile(join(out, m.frames[2]!.surface!));
    const loss = last.values.train_loss!;
    expect(Math.min(...loss)).toBeGreaterThan(0.5 * loss[40]!);
    expect(loss[0]!).toBeGreaterThan(loss[40]!);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).versions['jax-js']).toMatch(/^\d/);
  });
});
