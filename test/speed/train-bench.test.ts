/** The training bench's deterministic parts (no timings): its ResNet-20 and its table. */
import { describe, expect, it } from 'vitest';
import { formatTrainTable, resnet20Spec } from '../../bench/train.js';
import { formatTorchStepTable } from '../../bench/train-torch.js';
import { buildModel } from '../../src/model/zoo.js';

describe('training bench', () => {
  it('its ResNet-20 has a 3×3 stem and 18 3×3 convs at 16/32/64 channels, then a 64→10 classifier', () => {
    const model = buildModel(resnet20Spec(), [1, 28, 28], 10);
    const convs3 = model.layout.entries.filter((e) => e.shape.length === 4 && e.shape[2] === 3 && e.shape[3] === 3);
    expect(convs3).toHaveLength(19);
    const outs = convs3.map((e) => e.shape[0]);
    expect(outs.filter((o) => o === 16)).toHaveLength(7);
    expect(outs.filter((o) => o === 32)).toHaveLength(6);
    expect(outs.filter((o) => o === 64)).toHaveLength(6);
    expect(model.layout.entries.some((e) => e.shape.length === 2 && e.shape[0] === 10 && e.shape[1] === 64)).toBe(true);
  });

  it('prints epochs, images/s, GFLOP/s and the speed-up against its target', () => {
    const t = formatTrainTable([
      {
        work: 'CNN epoch, 8,000 digits',
        engine: 'jax-js (wasm)',
        threads: 1,
        images: 8000,
        epochSeconds: 50,
        stepsTimed: 10,
        extrapolated: true,
        imagesPerSecond: 160,
        gflops: 0.31,
        cpuSeconds: 50,
      },
      {
        work: 'CNN epoch, 8,000 digits',
        engine: 'onnxruntime',
        threads: 2,
        images: 8000,
        epochSeconds: 2.5,
        stepsTimed: 124,
        extrapolated: false,
        imagesPerSecond: 3200,
        gflops: 6.2,
        cpuSeconds: 4.1,
        compileSeconds: 0.4,
        speedup: 20,
        target: '≥ 10× jax-js',
        met: true,
      },
    ]);
    expect(t).toMatch(/\| jax-js \(wasm\) \| 1 \| 50\.0 \(from 10 steps\) \| 160 \| 0\.310 \|.*\| – \| – \| – \| – \|$/m);
    expect(t).toMatch(/\| onnxruntime \| 2 \| 2\.50 \| 3200 \| 6\.20 \| 4\.10 \| 0\.400 \| 20\.0× \| ≥ 10× jax-js \| yes \|$/m);
  });

  it("prints the step times against PyTorch, with the native step as a multiple of PyTorch's", () => {
    const t = formatTorchStepTable([
      { work: 'plain ResNet-56 ×1/4, 7×7', engine: 'PyTorch 1.13.0a0', msPerStep: 41.26, cpuMsPerStep: 40.9 },
      { work: 'plain ResNet-56 ×1/4, 7×7', engine: 'onnxruntime (native trainer)', msPerStep: 123.4, cpuMsPerStep: 120.2, vsTorch: 123.4 / 41.26 },
    ]);
    expect(t.split('\n')[0]).toBe('| training step, batch 128, 1 thread | engine | ms per step | CPU ms per step | × PyTorch |');
    expect(t).toMatch(/^\| plain ResNet-56 ×1\/4, 7×7 \| PyTorch 1\.13\.0a0 \| 41\.3 \| 40\.9 \| – \|$/m);
    expect(t).toMatch(/^\| plain ResNet-56 ×1\/4, 7×7 \| onnxruntime \(native trainer\) \| 123 \| 120 \| 2\.99× \|$/m);
  });
});
