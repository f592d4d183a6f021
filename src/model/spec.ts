/**
 * Declarative model specs. A spec reads like a description of the network:
 *   { type: 'mlp', hidden: [64], activation: 'relu' }
 *   { type: 'cnn', channels: [8, 16], kernel: 5, pool: 'max', dense: [] }
 *   { type: 'resnet', width: 8, blocks: [1, 1], skip: false }
 */
import { z } from 'zod';
import { INIT_SCHEMES } from './builder.js';
import { ACTIVATIONS } from './layers.js';

const common = {
  activation: z.enum(ACTIVATIONS as unknown as [string, ...string[]]).default('relu'),
  batchNorm: z.boolean().default(false),
  /** Dropout probability after each hidden activation (0 = off). */
  dropout: z.number().min(0).lt(1).default(0),
  /**
   * Weight initialization (builder.ts INIT_SCHEMES): 'torch' (PyTorch's defaults, when absent) or
   * 'kaiming' (Li et al.'s: Kaiming-normal convs, N(0, 10⁻⁶) dense weights, zero biases). Optional,
   * so configs without it keep their hash.
   */
  init: z.enum(INIT_SCHEMES).optional(),
};

export const MlpSpec = z
  .object({
    type: z.literal('mlp'),
    hidden: z.array(z.number().int().positive()).default([64]),
    /**
     * Skip connections: a hidden layer whose width equals its input's adds its input before the
     * activation (act(bn(fc(h)) + h), as in the ResNet blocks). Optional, so configs without it
     * keep their hash.
     */
    skip: z.boolean().optional(),
    ...common,
  })
  .strict();

export const CnnSpec = z
  .object({
    type: z.literal('cnn'),
    /** Output channels of each conv layer (each followed by activation and 2×2 pooling). */
    channels: z.array(z.number().int().positive()).min(1).default([8, 16]),
    kernel: z.number().int().positive().default(5),
    /** Zero padding of each conv: 'valid' (none) or 'same'. */
    padding: z.enum(['valid', 'same']).default('valid'),
    pool: z.enum(['max', 'avg']).default('max'),
    /** Hidden dense layers after flattening. */
    dense: z.array(z.number().int().positive()).default([]),
    ...common,
  })
  .strict();

export const ResnetSpec = z
  .object({
    type: z.literal('resnet'),
    /** Channels of the first stage; each later stage doubles it and halves the resolution. */
    width: z.number().int().positive().default(8),
    /** Residual blocks per stage. */
    blocks: z.array(z.number().int().positive()).min(1).default([1, 1]),
    /** Skip connections; false gives the "plain" network of Li et al. */
    skip: z.boolean().default(true),
    ...common,
    batchNorm: z.boolean().default(true),
  })
  .strict();

/**
 * The CIFAR ResNets of He et al. (2016) as Li et al. (2018) train them: a 3×3 stem of 16·widen
 * channels, three stages of (depth − 2)/6 basic blocks at 16, 32 and 64 channels (×widen), global
 * average pooling, one dense layer. ResNet-20/56/110 are depth 20/56/110; `skip: false` is the
 * plain twin; `shortcut` where the shape changes: 'conv' (1×1 conv + BN, Li et al.'s code) or 'A'
 * (stride-2 subsampling, zero-padded channels; He et al.'s CIFAR option A).
 */
export const CifarResnetSpec = z
  .object({
    type: z.literal('cifar-resnet'),
    depth: z
      .number()
      .int()
      .min(8)
      .refine((d) => (d - 2) % 6 === 0, 'depth must be 6n + 2 (20, 32, 44, 56, 110, …)')
      .default(20),
    /** Width multiplier k (Wide-ResNet-56-k in Li et al.); fractions give narrower nets (channels rounded, at least 1). */
    widen: z.number().positive().default(1),
    shortcut: z.enum(['conv', 'A']).default('conv'),
    skip: z.boolean().default(true),
    ...common,
    batchNorm: z.boolean().default(true),
  })
  .strict();

/**
 * VGG-9 of Li et al. (2018) (from Keskar et al. 2017): 3×3 convs with BN and ReLU at
 * 64, 64, M, 128, 128, M, 256, 256, 256, M (M = 2×2 max pooling, floor), then dense(256)–BN–ReLU
 * and the classifier; channels ×widen.
 */
export const VggSpec = z
  .object({
    type: z.literal('vgg'),
    depth: z.literal(9).default(9),
    widen: z.number().positive().default(1),
    ...common,
    batchNorm: z.boolean().default(true),
  })
  .strict();

export const ModelSpec = z.discriminatedUnion('type', [MlpSpec, CnnSpec, ResnetSpec, CifarResnetSpec, VggSpec]);
export type ModelSpec = z.infer<typeof ModelSpec>;
export type MlpSpec = z.infer<typeof MlpSpec>;
export type CnnSpec = z.infer<typeof CnnSpec>;
export type ResnetSpec = z.infer<typeof ResnetSpec>;
export type CifarResnetSpec = z.infer<typeof CifarResnetSpec>;
export type VggSpec = z.infer<typeof VggSpec>;
