/**
 * The model zoo: MLP, LeNet-like CNN, a small ResNet (with a `skip: false` plain variant), the
 * CIFAR ResNet-20/56/110 and VGG-9 of Li et al. (2018) with width multipliers, built from a
 * declarative spec.
 */
import { numpy as np } from '@jax-js/jax';
import { type Forward, NetBuilder } from './builder.js';
import { type Activation, globalAvgPool, pool2d, subsample2d } from './layers.js';
import type { Model } from './model.js';
import { type CifarResnetSpec, type CnnSpec, type MlpSpec, ModelSpec, type ResnetSpec, type VggSpec } from './spec.js';

type Arr = np.Array;
type Step = (f: Forward, x: Arr) => Arr;

const chain =
  (...steps: Step[]): Step =>
  (f, x) =>
    steps.reduce((h, s) => s(f, h), x);

/** Image shape [C, H, W] for conv nets: [784] is read as one 28×28 channel. */
export function imageShape(inputShape: number[]): [number, number, number] {
  if (inputShape.length === 3) return inputShape as [number, number, number];
  if (inputShape.length === 2) return [1, inputShape[0]!, inputShape[1]!];
  const n = inputShape.reduce((a, b) => a * b, 1);
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new Error(`a conv net needs image inputs; got samples of shape [${inputShape}]`);
  return [1, side, side];
}

function mlp(spec: MlpSpec, inputShape: number[], outputDim: number): Model {
  const b = new NetBuilder(spec.init);
  const inDim = inputShape.reduce((p, q) => p * q, 1);
  const steps: Step[] = [(_f, x) => x.reshape([x.shape[0]!, inDim])];
  let d = inDim;
  spec.hidden.forEach((h, i) => {
    const main = chain(b.dense(`fc${i + 1}`, d, h), spec.batchNorm ? b.batchNorm(`bn${i + 1}`, h) : (_f, x) => x);
    steps.push(spec.skip && i > 0 && h === d ? (f, x) => main(f, x.ref).add(x) : main);
    steps.push(b.activation(spec.activation as Activation));
    steps.push(b.dropout(spec.dropout, [h]));
    d = h;
  });
  steps.push(b.dense(`fc${spec.hidden.length + 1}`, d, outputDim));
  const dims = [inDim, ...spec.hidden, outputDim].join('-');
  const extras = `${spec.skip ? ' skip' : ''}${spec.batchNorm ? ' bn' : ''}${spec.dropout > 0 ? ` dropout ${spec.dropout}` : ''}`;
  const model = b.build(`mlp ${dims} ${spec.activation}${extras}`, inputShape, outputDim, chain(...steps));
  // fc1.weight [hidden, inDim] multiplies the flattened input directly (entry 0; with no hidden
  // layer it is the output layer's weight, which still does)
  model.inputWeight = { entry: 0, axis: 1 };
  model.withInputFeatures = (features: number) => mlp(spec, [features], outputDim);
  return model;
}

function cnn(spec: CnnSpec, inputShape: number[], outputDim: number): Model {
  const b = new NetBuilder(spec.init);
  const img = imageShape(inputShape);
  let [c, h, w] = img;
  const steps: Step[] = [(_f, x) => x.reshape([x.shape[0]!, ...img])];
  const pad = spec.padding === 'same' ? Math.floor(spec.kernel / 2) : 0;
  spec.channels.forEach((o, i) => {
    steps.push(b.conv(`conv${i + 1}`, c, o, spec.kernel, pad));
    if (spec.batchNorm) steps.push(b.batchNorm(`bn${i + 1}`, o));
    steps.push(b.activation(spec.activation as Activation));
    h = h + 2 * pad - spec.kernel + 1;
    w = w + 2 * pad - spec.kernel + 1;
    if (h < 2 || w < 2) throw new Error(`cnn: conv layer ${i + 1} leaves a ${h}×${w} image; use fewer layers or padding "same"`);
    steps.push((_f, x) => pool2d(x, 2, spec.pool));
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    c = o;
  });
  const flat = c * h * w;
  let d = flat;
  steps.push((_f, x) => x.reshape([x.shape[0]!, flat]));
  steps.push(b.dropout(spec.dropout, [flat]));
  spec.dense.forEach((u, i) => {
    steps.push(b.dense(`fc${i + 1}`, d, u));
    steps.push(b.activation(spec.activation as Activation));
    steps.push(b.dropout(spec.dropout, [u]));
    d = u;
  });
  steps.push(b.dense(`fc${spec.dense.length + 1}`, d, outputDim));
  const name = `cnn conv${spec.kernel}[${spec.channels}] ${spec.pool}pool fc[${[...spec.dense, outputDim]}] ${spec.activation}${spec.batchNorm ? ' bn' : ''}`;
  return b.build(name, inputShape, outputDim, chain(...steps));
}

/**
 * ResNet for small images: stem conv3×3 → stages of basic blocks
 * (conv3×3–BN–act–conv3×3–BN, + shortcut, act) → global average pool → dense.
 * Stage s > 0 halves the resolution in its first block (stride-2 conv computed as
 * a stride-1 conv followed by subsampling) and doubles the width; the shortcut
 * there is a 1×1 conv (+BN), or with shortcut 'A' the subsampled input with zero channels
 * appended on both sides. With `skip: false` there is no shortcut at all.
 */
function resnet(spec: ResnetSpec, inputShape: number[], outputDim: number, shortcutKind: 'conv' | 'A' = 'conv', name?: string): Model {
  const b = new NetBuilder(spec.init);
  const [c0, h0, w0] = imageShape(inputShape);
  const act = spec.activation as Activation;
  const bn = (name: string, ch: number): Step => (spec.batchNorm ? b.batchNorm(name, ch) : (_f, x) => x);
  const steps: Step[] = [(_f, x) => x.reshape([x.shape[0]!, c0, h0, w0])];
  let c = spec.width;
  let h = h0;
  let w = w0;
  steps.push(b.conv('stem', c0, c, 3, 1, !spec.batchNorm), bn('stem.bn', c), b.activation(act));
  spec.blocks.forEach((n, s) => {
    for (let k = 0; k < n; k++) {
      const stride = s > 0 && k === 0 ? 2 : 1;
      const out = s > 0 && k === 0 ? c * 2 : c;
      const p = `layer${s + 1}.${k}`;
      const main = chain(
        b.conv(`${p}.conv1`, c, out, 3, 1, !spec.batchNorm),
        (_f, x) => subsample2d(x, stride),
        bn(`${p}.bn1`, out),
        b.activation(act),
        b.conv(`${p}.conv2`, out, out, 3, 1, !spec.batchNorm),
        bn(`${p}.bn2`, out),
      );
      let shortcut: Step | null = null;
      if (spec.skip) {
        const extra = out - c;
        if (stride === 1 && extra === 0) shortcut = (_f, x) => x;
        else if (shortcutKind === 'A') shortcut = (_f, x) => padChannels(subsample2d(x, stride), extra);
        else shortcut = chain(b.conv(`${p}.downsample.0`, c, out, 1, 0, !spec.batchNorm), (_f, x) => subsample2d(x, stride), bn(`${p}.downsample.1`, out));
      }
      const sc = shortcut;
      steps.push((f, x) => {
        const y = sc ? main(f, x.ref).add(sc(f, x)) : main(f, x);
        return y;
      });
      steps.push(b.activation(act));
      c = out;
      h = Math.ceil(h / stride);
      w = Math.ceil(w / stride);
    }
  });
  steps.push((_f, x) => globalAvgPool(x));
  steps.push(b.dropout(spec.dropout, [c]));
  steps.push(b.dense('fc', c, outputDim));
  const title = name ?? `resnet w${spec.width} blocks[${spec.blocks}]${spec.skip ? '' : ' no-skip'} ${act}${spec.batchNorm ? ' bn' : ''}`;
  return b.build(title, inputShape, outputDim, chain(...steps));
}

/** `extra` zero channels split over both ends of the channel axis (x [N, C, H, W]). */
function padChannels(x: Arr, extra: number): Arr {
  const lo = Math.floor(extra / 2);
  return np.pad(x, [
    [0, 0],
    [lo, extra - lo],
    [0, 0],
    [0, 0],
  ]);
}

/** ResNet-(6n+2) for CIFAR: the ResNet above with 16·widen channels and blocks [n, n, n]. */
function cifarResnet(spec: CifarResnetSpec, inputShape: number[], outputDim: number): Model {
  const n = (spec.depth - 2) / 6;
  const { depth, widen, shortcut, type, ...rest } = spec;
  void type;
  const base: ResnetSpec = { ...rest, type: 'resnet', width: Math.max(1, Math.round(16 * widen)), blocks: [n, n, n] };
  const name = `resnet-${depth}${widen !== 1 ? `-${widen}` : ''}${spec.skip ? ` shortcut ${shortcut}` : ' no-skip'} ${spec.activation}${spec.batchNorm ? ' bn' : ''}`;
  return resnet(base, inputShape, outputDim, shortcut, name);
}

const VGG9 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M'] as const;

/** VGG-9: 3×3 conv–BN–act layers and 2×2 max pools, dense–BN–act, the classifier. */
function vgg(spec: VggSpec, inputShape: number[], outputDim: number): Model {
  const b = new NetBuilder(spec.init);
  const img = imageShape(inputShape);
  let [c, h, w] = img;
  const act = spec.activation as Activation;
  const bn = (name: string, ch: number): Step => (spec.batchNorm ? b.batchNorm(name, ch) : (_f, x) => x);
  const steps: Step[] = [(_f, x) => x.reshape([x.shape[0]!, ...img])];
  let k = 0;
  for (const v of VGG9) {
    if (v === 'M') {
      steps.push((_f, x) => pool2d(x, 2, 'max'));
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      continue;
    }
    const o = Math.max(1, Math.round(v * spec.widen));
    steps.push(b.conv(`features.${k}`, c, o, 3, 1), bn(`features.${k}.bn`, o), b.activation(act));
    k++;
    c = o;
  }
  if (h < 1 || w < 1) throw new Error(`vgg: a ${img[1]}×${img[2]} image is too small for three 2×2 poolings`);
  const flat = c * h * w;
  steps.push((_f, x) => x.reshape([x.shape[0]!, flat]));
  steps.push(b.dense('fc', flat, c), bn('fc.bn', c), b.activation(act), b.dropout(spec.dropout, [c]));
  steps.push(b.dense('classifier', c, outputDim));
  const name = `vgg-9${spec.widen !== 1 ? ` ×${spec.widen}` : ''} ${act}${spec.batchNorm ? ' bn' : ''}`;
  return b.build(name, inputShape, outputDim, chain(...steps));
}

/** Build a zoo model for samples of `inputShape` and `outputDim` outputs. */
export function buildModel(spec: unknown, inputShape: number[], outputDim: number): Model {
  const s = ModelSpec.parse(spec);
  switch (s.type) {
    case 'mlp':
      return mlp(s, inputShape, outputDim);
    case 'cnn':
      return cnn(s, inputShape, outputDim);
    case 'resnet':
      return resnet(s, inputShape, outputDim);
    case 'cifar-resnet':
      return cifarResnet(s, inputShape, outputDim);
    case 'vgg':
      return vgg(s, inputShape, outputDim);
  }
}
