/**
 * Float64 on the jax-js path, for fixture work: `losscape surface --backend jax --dtype float64`
 * on the reference MLP agrees with the float32 surface to < 1e-6 relative (the float32 one is
 * accurate to that), and the engine's float64 Hessian-vector products agree with float32 ones.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { readH5 } from '../../src/io/h5.js';
import { readGridFile } from '../../src/jobs/grid-file.js';
import { buildModel } from '../../src/model/zoo.js';
import { cli } from '../helpers/cli.js';
import { FIXTURE, fixtureData, fixtureDirections, fixtureTheta } from '../helpers/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'losscape-f64-'));

function surface(dtype: 'float32' | 'float64'): string {
  const out = join(dir, `${dtype}.h5`);
  const args = ['surface', '--model', `${FIXTURE}model.onnx`, '--data', `${FIXTURE}data.h5`, '--directions', `${FIXTURE}directions.h5`];
  const r = cli([...args, '--x', '-1:1:3', '--y', '-1:1:3', '--backend', 'jax', '--dtype', dtype, '--out', out, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

describe('float64 surfaces and HVPs on the jax-js path', () => {
  it('float32 and float64 surfaces of the reference MLP differ by < 1e-6 relative', async () => {
    const f32 = await readGridFile(surface('float32'));
    const path64 = surface('float64');
    const f64 = await readGridFile(path64);
    expect((await readH5(path64)).attrs.dtype).toBe('float64');
    let maxRel = 0;
    for (let k = 0; k < 9; k++) {
      const a = f32.values.train_loss![k]!;
      const b = f64.values.train_loss![k]!;
      maxRel = Math.max(maxRel, Math.abs(a - b) / b);
      expect(f64.values.train_acc![k]).toBe(f32.values.train_acc![k]);
    }
    expect(maxRel).toBeGreaterThan(0); // two different computations
    expect(maxRel).toBeLessThan(1e-6); // measured 1.3e-7
  }, 120_000);

  it('float64 Hessian-vector products agree with float32 ones', async () => {
    const data = fixtureData();
    const model = buildModel({ type: 'mlp', hidden: [64], activation: 'relu' }, [784], 10);
    const theta = fixtureTheta();
    const [v] = await fixtureDirections();
    const e32 = await JaxEngine.create(model, data);
    const e64 = await JaxEngine.create(model, data, { dtype: 'float64' });
    expect(e64.description).toMatch(/float64/);
    const h32 = await e32.hvp(theta, v);
    const h64 = await e64.hvp(theta, v);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < h64.length; i++) {
      diff += (h32[i]! - h64[i]!) ** 2;
      norm += h64[i]! ** 2;
    }
    expect(Math.sqrt(diff / norm)).toBeLessThan(5e-6); // measured 4.7e-7
    e32.dispose();
    e64.dispose();
  }, 120_000);
});
