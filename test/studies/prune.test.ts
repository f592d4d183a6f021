import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeLayout } from '../../src/core/layout.js';
import { Rng } from '../../src/core/rng.js';
import { readDirectionFile } from '../../src/directions/file.js';
import { asFloat32, readH5 } from '../../src/io/h5.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { RunStore } from '../../src/store/run-store.js';
import { applyMask, magnitudeMask, prunableEntries, zeroCount } from '../../src/studies/prune/mask.js';
import { pruneStudy } from '../../src/studies/prune/study.js';
import { openRun } from '../../src/studies/run-access.js';
import { tempDir, tinyRun } from './helpers.js';

const layout = makeLayout([
  { name: 'conv1.weight', shape: [4, 1, 3, 3], role: 'weight' },
  { name: 'conv1.bias', shape: [4], role: 'bias' },
  { name: 'bn1.weight', shape: [4], role: 'bn_scale' },
  { name: 'fc1.weight', shape: [7, 36], role: 'weight' },
  { name: 'fc1.bias', shape: [7], role: 'bias' },
]);

describe('magnitude masks', () => {
  const rng = new Rng(4, 'default', 0);
  const theta = Float32Array.from({ length: layout.size }, () => rng.normal());
  const E = prunableEntries(layout).reduce((a, e) => a + e.size, 0);

  for (const scope of ['global', 'layer'] as const) {
    it(`${scope}: exactly s % of the eligible weights are zero, nothing else is touched`, () => {
      expect(E).toBe(36 + 252);
      for (const s of [0, 1, 10, 33, 50, 77.7, 90, 99, 100]) {
        const m = magnitudeMask(theta, layout, s, scope);
        const pruned = applyMask(theta, m.mask);
        expect(m.eligible).toBe(E);
        expect(zeroCount(pruned, layout)).toBe(Math.round((s / 100) * E));
        expect(m.perTensor.reduce((a, t) => a + t.pruned, 0)).toBe(Math.round((s / 100) * E));
        for (const e of layout.entries) {
          if (e.shape.length > 1) continue;
          for (let i = e.offset; i < e.offset + e.size; i++) expect(pruned[i]).toBe(theta[i]);
        }
        if (scope === 'layer') {
          // the same share in every tensor (within one weight)
          for (const t of m.perTensor) expect(Math.abs(t.pruned - (s / 100) * t.size)).toBeLessThan(1);
        } else {
          // the pruned weights are the smallest ones
          let maxPruned = 0;
          let minKept = Infinity;
          for (const e of prunableEntries(layout)) {
            for (let i = e.offset; i < e.offset + e.size; i++) {
              if (m.mask[i]) minKept = Math.min(minKept, Math.abs(theta[i]!));
              else maxPruned = Math.max(maxPruned, Math.abs(theta[i]!));
            }
          }
          expect(maxPruned).toBeLessThanOrEqual(minKept);
        }
      }
    });
  }
});

describe('pruning study', () => {
  it('0 % equals the unpruned landscape; at s % the table, masks and directions are exact; fine-tuning keeps the masks', async () => {
    const dir = tempDir('prune');
    const runDir = await tinyRun(join(dir, 'run'));
    const run = await openRun(runDir);
    const last = Math.max(...run.thetas.keys());
    const res = await pruneStudy(runDir, { sparsities: [0, 60], sharpness: false, out: join(dir, 'p') });
    // 0 %: bit-identical to the run's own landscape of the last checkpoint (same directions, grid, engine)
    const mine = await readGridFile(join(dir, 'p', 'sparsity-000', 'surfaces', `ckpt-${String(last).padStart(4, '0')}.h5`));
    const ref = await readGridFile(new RunStore(runDir).path(`surfaces/ckpt-${String(last).padStart(4, '0')}.h5`));
    expect(Array.from(mine.values.train_loss!)).toEqual(Array.from(ref.values.train_loss!));
    expect(Array.from(mine.values.test_loss!)).toEqual(Array.from(ref.values.test_loss!));
    const m = run.manifest.checkpoints.find((c) => c.index === last)!;
    expect(res.rows[0]!.train_loss).toBeCloseTo(m.train_loss, 5);
    expect(res.rows[0]!.zeroed).toBe(0);
    // 60 %: exact count; directions vanish on pruned weights
    const E = res.rows[1]!.eligible;
    expect(res.rows[1]!.zeroed).toBe(Math.round(0.6 * E));
    const h = await readH5(join(dir, 'p', 'sparsity-060', 'pruned.h5'));
    const theta = asFloat32(h.get('theta')!.value, 'theta');
    const mask = Uint8Array.from(h.get('mask')!.value as Uint8Array);
    expect(zeroCount(theta, run.model.layout)).toBe(Math.round(0.6 * E));
    const d = await readDirectionFile(join(dir, 'p', 'sparsity-060', 'directions', `ckpt-${String(last).padStart(4, '0')}.h5`), run.model.layout);
    let onPruned = 0;
    let onKept = 0;
    mask.forEach((k, i) => (k ? (onKept += Math.abs(d.dx[i]!)) : (onPruned += Math.abs(d.dx[i]!) + Math.abs(d.dy![i]!))));
    expect(onPruned).toBe(0);
    expect(onKept).toBeGreaterThan(0);

    // fine-tuning with fixed masks
    const ft = await pruneStudy(runDir, { sparsities: [60], finetune: 10, sharpness: false, out: join(dir, 'ft') });
    expect(ft.rows[0]!.zeroed).toBe(Math.round(0.6 * E));
    expect(ft.rows[0]!.train_loss).not.toBe(res.rows[1]!.train_loss);
    // a rerun skips finished sparsities
    const again = await pruneStudy(runDir, { sparsities: [60], finetune: 10, sharpness: false, out: join(dir, 'ft') });
    expect(again.rows[0]).toEqual(ft.rows[0]);
  });
});
