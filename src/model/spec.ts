/**
 * Declarative model specs. A spec reads like a description of the network:
 *   { type: 'mlp', hidden: [64], activation: 'relu' }
 *   { type: 'cnn', channels: [8, 16], kernel: 5, pool: 'max', dense: [] }
 *   { type: 'resnet', width: 8, blocks: [1, 1], skip: false }
 */
import { z } from 'zod';
import { ACTIVATIONS } from './layers.js';

const common = {
  activation: z.enum(ACTIVATIONS as unknown as [string, ...string[]]).default('relu'),
  batchNorm: z.boolean().default(false),
  /** Dropout probability after each hidden activation (0 = off). */
  dropout: z.number().min(0).lt(1).default(0),
};

export const MlpSpec = z
  .object({
    type: z.literal('mlp'),
    hidden: z.array(z.number().int().positive()).default([64]),
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

export const ModelSpec = z.discriminatedUnion('type', [MlpSpec, CnnSpec, ResnetSpec]);
export type ModelSpec = z.infer<typeof ModelSpec>;
export type MlpSpec = z.infer<typeof MlpSpec>;
export type CnnSpec = z.infer<typeof CnnSpec>;
export type ResnetSpec = z.infer<typeof ResnetSpec>;
