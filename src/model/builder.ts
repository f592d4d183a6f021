/**
 * Helper for writing zoo models: registers parameter tensors (name, shape, role,
 * initializer) while the architecture is described, and gives the forward pass
 * typed accessors. Each parameter array is consumed exactly once per forward.
 */
import type { numpy as np } from '@jax-js/jax';
import { makeLayout, numel, type ParamRole, type ParamSpec } from '../core/layout.js';
import { Rng } from '../core/rng.js';
import { type Activation, activate, batchNorm, type ConvImpl, conv2d, dense, dropout } from './layers.js';
import type { ApplyOptions, BatchNormSite, DropoutSite, Model } from './model.js';

type Arr = np.Array;
type Init = (rng: Rng, out: Float32Array) => void;

/**
 * How weights start. 'torch': PyTorch's defaults, U(−1/√fan_in, 1/√fan_in) for the weights and
 * biases of Linear and Conv. 'kaiming': Li et al.'s `init_params` (loss-landscape, cifar10/main.py):
 * conv weights N(0, 2/fan_in) (Kaiming-normal, fan_in mode), dense weights N(0, 10⁻⁶), biases 0.
 * Batch norm starts at scale 1, shift 0 in both.
 */
export const INIT_SCHEMES = ['torch', 'kaiming'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

const uniformFanIn =
  (fanIn: number): Init =>
  (rng, out) => {
    const b = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * b;
  };
const constant =
  (v: number): Init =>
  (_rng, out) => {
    out.fill(v);
  };
const normal =
  (std: number): Init =>
  (rng, out) => {
    rng.fillNormal(out, std);
  };

/** Per scheme, the initializers of a dense or conv layer's weight and bias, given its fan-in. */
interface LayerInit {
  dense: (fanIn: number) => { weight: Init; bias: Init };
  conv: (fanIn: number) => { weight: Init; bias: Init };
}
const torchLayer = (fanIn: number) => ({ weight: uniformFanIn(fanIn), bias: uniformFanIn(fanIn) });
const LAYER_INITS: Record<InitScheme, LayerInit> = {
  torch: { dense: torchLayer, conv: torchLayer },
  kaiming: {
    dense: () => ({ weight: normal(1e-3), bias: constant(0) }),
    conv: (fanIn) => ({ weight: normal(Math.sqrt(2 / fanIn)), bias: constant(0) }),
  },
};

/** Per-forward state: the parameter arrays and the options. */
export class Forward {
  private used: boolean[];
  batchStats: Arr[] = [];
  private dropoutIndex = 0;
  constructor(
    private readonly params: Arr[],
    readonly opts: ApplyOptions,
  ) {
    this.used = params.map(() => false);
  }
  get train(): boolean {
    return this.opts.train ?? false;
  }
  get conv(): ConvImpl {
    return this.opts.conv ?? 'im2col';
  }
  take(i: number): Arr {
    if (this.used[i]) throw new Error(`parameter ${i} used twice in one forward pass`);
    this.used[i] = true;
    return this.params[i]!;
  }
  nextDropoutMask(): Arr | null {
    const m = this.opts.dropoutMasks?.[this.dropoutIndex++];
    return m ?? null;
  }
  /** Dispose parameters the forward did not use (keeps reference counts exact). */
  finish(): void {
    this.used.forEach((u, i) => {
      if (!u) this.params[i]!.dispose();
    });
  }
}

export class NetBuilder {
  private specs: ParamSpec[] = [];
  private inits: Init[] = [];
  readonly dropoutSites: DropoutSite[] = [];
  readonly batchNorms: BatchNormSite[] = [];

  constructor(private readonly scheme: InitScheme = 'torch') {}

  param(name: string, shape: number[], role: ParamRole, init: Init): number {
    this.specs.push({ name, shape, role });
    this.inits.push(init);
    return this.specs.length - 1;
  }

  /** Dense layer y = x Wᵀ + b; returns the forward step. */
  dense(name: string, inDim: number, outDim: number, bias = true): (f: Forward, x: Arr) => Arr {
    const init = LAYER_INITS[this.scheme].dense(inDim);
    const w = this.param(`${name}.weight`, [outDim, inDim], 'weight', init.weight);
    const b = bias ? this.param(`${name}.bias`, [outDim], 'bias', init.bias) : -1;
    return (f, x) => dense(x, f.take(w), b >= 0 ? f.take(b) : null);
  }

  conv(name: string, inCh: number, outCh: number, k: number, pad: number, bias = true): (f: Forward, x: Arr) => Arr {
    const init = LAYER_INITS[this.scheme].conv(inCh * k * k);
    const w = this.param(`${name}.weight`, [outCh, inCh, k, k], 'weight', init.weight);
    const b = bias ? this.param(`${name}.bias`, [outCh], 'bias', init.bias) : -1;
    return (f, x) => conv2d(x, f.take(w), b >= 0 ? f.take(b) : null, pad, f.conv);
  }

  batchNorm(name: string, channels: number): (f: Forward, x: Arr) => Arr {
    const g = this.param(`${name}.weight`, [channels], 'bn_scale', constant(1));
    const b = this.param(`${name}.bias`, [channels], 'bn_shift', constant(0));
    const m = this.param(`${name}.running_mean`, [channels], 'running_mean', constant(0));
    const v = this.param(`${name}.running_var`, [channels], 'running_var', constant(1));
    this.batchNorms.push({ mean: m, var: v });
    return (f, x) => {
      const r = batchNorm(x, f.take(g), f.take(b), f.take(m), f.take(v), f.train);
      if (r.batchMean && r.batchVar) f.batchStats.push(r.batchMean, r.batchVar);
      return r.y;
    };
  }

  /** Dropout site with probability p on activations of per-sample shape `shape`. */
  dropout(p: number, shape: number[]): (f: Forward, x: Arr) => Arr {
    if (p <= 0) return (_f, x) => x;
    this.dropoutSites.push({ p, shape: [...shape] });
    return (f, x) => {
      if (!f.train) return x;
      const mask = f.nextDropoutMask();
      if (!mask) throw new Error('train mode needs a dropout mask for every dropout site');
      return dropout(x, mask, p);
    };
  }

  activation(a: Activation): (f: Forward, x: Arr) => Arr {
    return (_f, x) => activate(x, a);
  }

  build(name: string, inputShape: number[], outputDim: number, forward: (f: Forward, x: Arr) => Arr): Model {
    const layout = makeLayout(this.specs);
    const inits = [...this.inits];
    const dropoutSites = [...this.dropoutSites];
    const batchNorms = [...this.batchNorms];
    return {
      name,
      layout,
      inputShape,
      outputDim,
      dropoutSites,
      batchNorms,
      init(seed: number) {
        const theta = new Float32Array(layout.size);
        const rng = new Rng(seed, 'init');
        layout.entries.forEach((e, i) => inits[i]!(rng, theta.subarray(e.offset, e.offset + e.size)));
        return theta;
      },
      apply(params, x, opts = {}) {
        if (params.length !== layout.entries.length) {
          throw new Error(`expected ${layout.entries.length} parameter arrays, got ${params.length}`);
        }
        const f = new Forward(params, opts);
        const out = forward(f, x);
        f.finish();
        return { out, batchStats: f.batchStats };
      },
    };
  }
}

export { numel };
