import { describe, expect, it } from 'vitest';
import { view } from '../../src/core/layout.js';
import { take } from '../../src/data/dataset.js';
import { synthetic } from '../../src/data/synthetic.js';
import { JaxEngine } from '../../src/engine/jax/engine.js';
import { buildModel } from '../../src/model/zoo.js';
import { type Checkpoint, checkpointSteps, TrainSpec, train } from '../../src/train/train.js';

const data = synthetic({ kind: 'moons', n: 64, seed: 0 });

async function run(specIn: unknown, model = buildModel({ type: 'mlp', hidden: [5], activation: 'tanh' }, [2], 2)) {
  const spec = TrainSpec.parse(specIn);
  const cks: Checkpoint[] = [];
  const states: Float32Array[][] = [];
  await train({
    model,
    train: data,
    spec,
    onCheckpoint: async (c, s) => {
      cks.push(c);
      states.push(s.optState);
    },
  });
  return { cks, states, model };
}

describe('optimizers follow PyTorch semantics', () => {
  it('one full-batch SGD step with momentum and weight decay: w − lr·(g + λw)', async () => {
    const spec = { epochs: 2, batchSize: 64, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.01 } };
    const { cks, model } = await run(spec);
    const e = await JaxEngine.create(model, data);
    const w0 = cks[0]!.theta;
    const g0 = (await e.gradient(w0)).grad;
    // step 1: b = g + λw; w1 = w0 − lr·b
    const b1 = Float64Array.from(g0, (g, i) => g + 0.01 * w0[i]!);
    const w1 = Float32Array.from(w0, (w, i) => w - 0.1 * b1[i]!);
    for (let i = 0; i < w1.length; i++) expect(cks[1]!.theta[i]).toBeCloseTo(w1[i]!, 5);
    // step 2: b = 0.9·b1 + (g(w1) + λw1)
    const g1 = (await e.gradient(cks[1]!.theta)).grad;
    const w2 = Float64Array.from(cks[1]!.theta, (w, i) => w - 0.1 * (0.9 * b1[i]! + g1[i]! + 0.01 * w));
    for (let i = 0; i < w2.length; i++) expect(cks[2]!.theta[i]).toBeCloseTo(w2[i]!, 5);
    e.dispose();
  });

  it('Adam: the first step moves every weight by ≈ lr·sign(g)', async () => {
    const { cks, model } = await run({ epochs: 1, batchSize: 64, optimizer: { type: 'adam', lr: 0.01 } });
    const e = await JaxEngine.create(model, data);
    const g = (await e.gradient(cks[0]!.theta)).grad;
    for (let i = 0; i < g.length; i++) {
      if (Math.abs(g[i]!) < 1e-4) continue;
      expect(cks[0]!.theta[i]! - cks[1]!.theta[i]!).toBeCloseTo(0.01 * Math.sign(g[i]!), 4);
    }
    e.dispose();
  });
});

describe('training runs', () => {
  it('checkpoints at the cadence, with metrics that improve', async () => {
    expect(checkpointSteps(TrainSpec.parse({ epochs: 2, batchSize: 10 }), 64)).toEqual([0, 7, 14]);
    expect(checkpointSteps(TrainSpec.parse({ epochs: 2, batchSize: 10, checkpointEvery: 5 }), 64)).toEqual([0, 5, 10, 14]);
    const { cks } = await run({ epochs: 30, batchSize: 16, optimizer: { type: 'adam', lr: 0.05 }, checkpointEvery: 40 });
    expect(cks.map((c) => c.step)).toEqual([0, 40, 80, 120]);
    expect(cks[3]!.metrics.train_loss).toBeLessThan(cks[0]!.metrics.train_loss * 0.7);
  });

  it('is deterministic, and resuming from a checkpoint continues exactly', async () => {
    const spec = { epochs: 3, batchSize: 16, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 }, checkpointEvery: 6 };
    const a = await run(spec);
    const b = await run(spec);
    expect(Buffer.from(a.cks.at(-1)!.theta.buffer).equals(Buffer.from(b.cks.at(-1)!.theta.buffer))).toBe(true);
    // resume from checkpoint 1 (step 6, mid-epoch 2) with its optimizer state
    const resumed: Checkpoint[] = [];
    await train({
      model: a.model,
      train: data,
      spec: TrainSpec.parse(spec),
      resume: { step: 6, theta: a.cks[1]!.theta, optState: a.states[1]!, nextIndex: 2 },
      onCheckpoint: async (c) => void resumed.push(c),
    });
    expect(resumed.map((c) => c.index)).toEqual([2]);
    expect(Buffer.from(resumed[0]!.theta.buffer).equals(Buffer.from(a.cks[2]!.theta.buffer))).toBe(true);
  });

  it('batch norm running statistics move towards the data statistics (PyTorch momentum 0.1)', async () => {
    const model = buildModel({ type: 'mlp', hidden: [4], batchNorm: true }, [2], 2);
    const { cks } = await run({ epochs: 1, batchSize: 64, optimizer: { type: 'sgd', lr: 0.0001, momentum: 0 } }, model);
    const mean = model.layout.entries.find((e) => e.role === 'running_mean')!;
    const vr = model.layout.entries.find((e) => e.role === 'running_var')!;
    // after one full-batch step: running = 0.9·init + 0.1·batch statistic of the fc1 outputs
    const m1 = view(cks[1]!.theta, mean);
    expect(m1.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    const v1 = view(cks[1]!.theta, vr);
    for (const v of v1) expect(v).not.toBe(1);
  });

  it('a diverging run stops with a clear error', async () => {
    const bad = take(data, [...Array(64).keys()]);
    bad.x = bad.x.map((v) => v * 1e6);
    await expect(
      train({
        model: buildModel({ type: 'mlp', hidden: [5] }, [2], 2),
        train: bad,
        spec: TrainSpec.parse({ epochs: 5, batchSize: 64, optimizer: { type: 'sgd', lr: 1e6, momentum: 0.9 } }),
        onCheckpoint: async () => {},
      }),
    ).rejects.toThrow(/diverged/);
  });
});
