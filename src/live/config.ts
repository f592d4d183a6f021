/**
 * The live playground's settings: one zod schema, read from and written to the page's URL
 * (every field a short query parameter, so a URL is the whole state), and the run config a
 * saved session records (the same RunConfig as `losscape run`, so the CLI reads it as one).
 */
import { z } from 'zod';
import { SYNTHETIC_KINDS } from '../data/synthetic.js';
import { ACTIVATIONS } from '../model/layers.js';
import { DIGIT_SETS, DIGIT_SIZES, digitDataSpec, isDigitSet } from './digits.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;

export const LiveConfig = z
  .object({
    /** A synthetic 2-D set, or a bundled image subset (digits.ts: MNIST, Fashion-MNIST). */
    data: z.enum([...SYNTHETIC_KINDS, ...DIGIT_SETS] as unknown as [string, ...string[]]).default('spirals'),
    /** Samples in a synthetic set (train + test); image sets have their bundled size. */
    n: z.number().int().min(20).max(5000).default(1500),
    /** Gaussian noise of the synthetic points (absent: the data set's default, as in runs). */
    noise: z.number().min(0).max(1).optional(),
    /** The fixed evaluation subset of every landscape: this fraction of all n samples, drawn from the train split. */
    subset: z.number().gt(0).max(0.8).default(0.2),
    /** 'mlp' (hidden widths below) or 'cnn' (LIVE_CNN, for the image sets). */
    model: z.enum(['mlp', 'cnn']).default('mlp'),
    hidden: z.array(z.number().int().positive().max(512)).max(6).default([64, 64]),
    activation: z.enum(ACTIVATIONS as unknown as [string, ...string[]]).default('relu'),
    batchNorm: z.boolean().default(false),
    /** Skip connections between hidden layers of equal width (MLP only: act(bn(fc(h)) + h)). */
    skip: z.boolean().default(false),
    dropout: z.number().min(0).lt(1).default(0),
    optimizer: z.enum(OPTIMIZERS).default('momentum'),
    lr: z.number().positive().max(10).default(0.1),
    batchSize: z.number().int().positive().max(5000).default(32),
    seed: z.number().int().min(0).default(0),
    /** Landscape grid points per side on [-range, range]². */
    grid: z.number().int().min(5).max(41).default(21),
    range: z.number().positive().max(10).default(1),
    /** |λmin/λmax| map points per side. */
    hessianGrid: z.number().int().min(1).max(15).default(7),
    dirSeed: z.number().int().min(0).default(123),
    /** A checkpoint is kept every this many steps (for saving the session as a run). */
    checkpointEvery: z.number().int().positive().default(50),
  })
  .strict();
export type LiveConfig = z.infer<typeof LiveConfig>;

/** The query parameter of each field. */
const PARAMS: Record<keyof LiveConfig, string> = {
  data: 'data',
  n: 'n',
  noise: 'noise',
  subset: 'subset',
  model: 'model',
  hidden: 'hidden',
  activation: 'act',
  batchNorm: 'bn',
  skip: 'skip',
  dropout: 'dropout',
  optimizer: 'opt',
  lr: 'lr',
  batchSize: 'bs',
  seed: 'seed',
  grid: 'grid',
  range: 'range',
  hessianGrid: 'hgrid',
  dirSeed: 'dirseed',
  checkpointEvery: 'ckpt',
};

const DEFAULTS = LiveConfig.parse({});

function parseValue(key: keyof LiveConfig, text: string): unknown {
  const d = DEFAULTS[key];
  if (Array.isArray(d)) return text === '' ? [] : text.split(',').map(Number);
  if (typeof d === 'boolean') return text === '1' || text === 'true';
  if (typeof d === 'number' || key === 'noise') return Number(text);
  return text;
}

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** Settings from a query string; unknown or invalid values fall back to the defaults (listed in `problems`). */
export function configFromQuery(query: string): { config: LiveConfig; autoplay: boolean; problems: string[] } {
  const q = new URLSearchParams(query);
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(PARAMS) as (keyof LiveConfig)[]) {
    const text = q.get(PARAMS[key]);
    if (text === null) continue;
    const one = LiveConfig.shape[key].safeParse(parseValue(key, text));
    if (one.success) raw[key] = one.data;
    else problems.push(`${PARAMS[key]}=${text}: ${one.error.issues[0]?.message ?? 'invalid'}`);
  }
  return { config: LiveConfig.parse(raw), autoplay: q.has('autoplay'), problems };
}

/** The query string of the settings that differ from the defaults. */
export function configToQuery(c: LiveConfig, o: { autoplay?: boolean } = {}): string {
  const q = new URLSearchParams();
  for (const key of Object.keys(PARAMS) as (keyof LiveConfig)[]) {
    if (c[key] === undefined) continue;
    const v = formatValue(c[key]);
    if (v !== formatValue(DEFAULTS[key])) q.set(PARAMS[key], v);
  }
  if (o.autoplay) q.set('autoplay', '');
  return q.toString().replace(/autoplay=(&|$)/, 'autoplay$1');
}

/** The optimizer spec (train/optimizer.ts) of the settings. */
export function optimizerSpec(c: Pick<LiveConfig, 'optimizer' | 'lr'>) {
  if (c.optimizer === 'adam') return { type: 'adam' as const, lr: c.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  return { type: 'sgd' as const, lr: c.lr, momentum: c.optimizer === 'momentum' ? 0.9 : 0, weightDecay: 0 };
}

/** The playground's tiny CNN for digits (the zoo's 'cnn'): two 5×5 conv layers of 4 and 8 channels, 2×2 max pooling, one dense layer. */
export const LIVE_CNN = { channels: [4, 8], kernel: 5, padding: 'valid' as const, pool: 'max' as const, dense: [] as number[] };

/** The model spec (model/spec.ts) of the settings. */
export function modelSpec(c: LiveConfig) {
  const common = { activation: c.activation, batchNorm: c.batchNorm, dropout: c.dropout };
  if (c.model === 'cnn') return { type: 'cnn' as const, ...LIVE_CNN, ...common };
  return { type: 'mlp' as const, hidden: c.hidden, ...(c.skip ? { skip: true } : {}), ...common };
}

/** Samples in the page's data (train + test): n for a synthetic set, the bundled size for an image set. */
export function sampleCount(c: Pick<LiveConfig, 'data' | 'n'>): number {
  return isDigitSet(c.data) ? DIGIT_SIZES.train + DIGIT_SIZES.test : c.n;
}

/** The evaluation subset's size as a sample count. */
export function subsetCount(c: Pick<LiveConfig, 'data' | 'n' | 'subset'>): number {
  return Math.max(1, Math.round(c.subset * sampleCount(c)));
}

/** The landscape grid's axis text "min:max:n". */
export function axisText(range: number, n: number): string {
  return `${-range}:${range}:${n}`;
}

/**
 * The run config of a session with these settings (before `losscape run`'s defaults are
 * filled in): the data split and subset, model, optimizer, directions and grid that the page
 * used, so the CLI rebuilds the same data, model and planes.
 */
export function runConfigOf(c: LiveConfig, name: string, epochs: number) {
  return {
    name,
    data: {
      ...(isDigitSet(c.data) ? digitDataSpec(c.data) : { source: c.data, n: c.n, ...(c.noise !== undefined ? { noise: c.noise } : {}) }),
      testFraction: 0.2,
      splitSeed: 0,
      subset: { size: subsetCount(c), seed: 0 },
    },
    model: modelSpec(c),
    train: { epochs, batchSize: c.batchSize, optimizer: optimizerSpec(c), seed: c.seed, checkpointEvery: c.checkpointEvery },
    directions: { seed: c.dirSeed, norm: 'filter', ignore: 'biasbn', perCheckpoint: 'renormalize' },
    surface: { x: axisText(c.range, c.grid), y: axisText(c.range, c.grid) },
    engine: { backend: 'auto' },
  };
}
