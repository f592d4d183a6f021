/**
 * The one pseudo-random generator of losscape: xoshiro128** (Blackman & Vigna) with a
 * Box–Muller normal sampler, in plain TypeScript, so that a seed gives the same numbers in
 * Node and in the browser, whatever the engine.
 *
 * Every consumer draws from its own named stream, and indexed consumers (one stream per
 * tensor, epoch, training step, …) from an index within it: `new Rng(seed, 'dropout', step)`.
 * The 128-bit state is a bijective mix of (seed, stream, index), so two different triples
 * never share a state: a dropout mask can never replay a shuffle, whatever the step count.
 */

/**
 * The streams, by purpose. A stream's id is its position here: append new streams at the
 * end, or every seeded number of the streams after it changes.
 */
export const RNG_STREAMS = [
  /** Ad hoc draws (tests, examples). */
  'default',
  /** Random plane directions (index: parameter tensor). */
  'directions',
  /** Weight initialization (zoo models and ONNX models without weights). */
  'init',
  /** The fixed evaluation subsets. */
  'subset',
  /** The train / test split. */
  'split',
  /** Synthetic data sets (spirals, moons, …). */
  'synthetic',
  /** Minibatch order during training (index: epoch). */
  'shuffle',
  /** Dropout masks during training (index: step). */
  'dropout',
  /** The fixed dropout masks of train-mode evaluation (index: dropout site). */
  'eval-dropout',
  /** Minibatch order of fine-tuning a pruned network (index: epoch). */
  'finetune-shuffle',
  /** Dropout masks of fine-tuning a pruned network (index: step). */
  'finetune-dropout',
  /** Lanczos start and restart vectors. */
  'lanczos',
  /** Hutchinson trace probes. */
  'trace',
  /** Stochastic Lanczos quadrature probes (spectral density). */
  'density',
  /** Noise added to warm starts in eigenvalue maps (seeded per grid point). */
  'warm-start',
  /** Start vectors of the check that no eigenvalue lies beyond reported extremes. */
  'certify',
  /** Training-time data augmentation: crop offsets and flips (index: step). */
  'augment',
  /** The curve parameter t drawn at each step of training a mode-connecting curve (index: step). */
  'curve-t',
  /** Minibatch order of training a mode-connecting curve (index: epoch). */
  'curve-shuffle',
  /** Dropout masks of training a mode-connecting curve (index: step). */
  'curve-dropout',
] as const;

export type RngStream = (typeof RNG_STREAMS)[number];

const STREAM_ID = new Map<string, number>(RNG_STREAMS.map((s, i) => [s, i]));

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /**
   * The generator of `stream` (and `index` within it) for `seed`. Seeds are integers below
   * 2^53 (fractions are dropped); indices are integers in [0, 2^32).
   */
  constructor(seed: number, stream: RngStream = 'default', index = 0) {
    const id = STREAM_ID.get(stream);
    if (id === undefined) throw new Error(`unknown random stream "${stream}"`);
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** 32) throw new Error(`random stream index must be an integer in [0, 2^32), got ${index}`);
    const s = Math.floor(seed);
    const w = [s >>> 0, Math.floor(s / 4294967296) >>> 0, id, index >>> 0];
    // Two rounds of w_i ← mix(w_i + w_{i−1} + c_i): each update is invertible given the other
    // words, so the whole map is a bijection of the 128 bits.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) w[i] = mix32((w[i]! + w[(i + 3) % 4]! + ROUND_CONSTANTS[i]!) >>> 0);
    }
    [this.s0, this.s1, this.s2, this.s3] = w as [number, number, number, number];
    // xoshiro's one forbidden state; the single triple that maps here shares the next state
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  fillNormal<T extends Float32Array | Float64Array>(out: T, scale = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * scale;
    return out;
  }

  /** Vector of i.i.d. N(0, 1) entries. */
  normalVector(dim: number): Float64Array {
    return this.fillNormal(new Float64Array(dim));
  }

  /** Vector of i.i.d. Rademacher entries (±1 with probability ½ each), 32 signs per draw. */
  rademacherVector(dim: number): Float64Array {
    const v = new Float64Array(dim);
    let bits = 0;
    for (let i = 0; i < dim; i++) {
      if ((i & 31) === 0) bits = this.nextU32();
      v[i] = bits & 1 ? 1 : -1;
      bits >>>= 1;
    }
    return v;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

const ROUND_CONSTANTS = [0x9e3779b9, 0x632be5ab, 0x85ebca6b, 0xc2b2ae35];

/** murmur3's 32-bit finalizer: a bijection of the 32-bit integers. */
function mix32(v: number): number {
  let z = v >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
