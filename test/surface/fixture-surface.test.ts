import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { buildModel } from '../../src/model/zoo.js';
import { computeSurface } from '../../src/surface/surface.js';
import { fixtureData, fixtureDirections, fixtureSurface, fixtureTheta } from '../helpers/fixture.js';

describe('reference 21×21 surface (jax-js engine)', () => {
  it('reproduces train_loss to 1e-5 relative and accuracy exactly', async () => {
    const model = buildModel({ type: 'mlp', hidden: [64] }, [784], 10);
    const engine = await JaxEngine.create(model, fixtureData());
    const [dx, dy] = await fixtureDirections();
    const ref = fixtureSurface();
    const dir = mkdtempSync(join(tmpdir(), 'losscape-'));
    const gf = await computeSurface({
      theta: fixtureTheta(),
      dx,
      dy,
      grid: { x: { min: -1, max: 1, n: 21 }, y: { min: -1, max: 1, n: 21 } },
      engines: { train: engine },
      path: join(dir, 's.h5'),
      context: 'fixture',
    });
    let maxRel = 0;
    let accDiff = 0;
    for (let i = 0; i < 21; i++) {
      for (let j = 0; j < 21; j++) {
        const got = gf.values.train_loss![i * 21 + j]!;
        maxRel = Math.max(maxRel, Math.abs(got - ref.loss[i]![j]!) / ref.loss[i]![j]!);
        accDiff = Math.max(accDiff, Math.abs(gf.values.train_acc![i * 21 + j]! - ref.acc[i]![j]!));
      }
    }
    engine.dispose();
    expect(maxRel).toBeLessThan(1e-5);
    expect(accDiff).toBeLessThan(1e-9);
  });
});
