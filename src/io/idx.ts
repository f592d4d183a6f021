/**
 * IDX files (the MNIST format): 2 zero bytes, a type code, the number of dims,
 * big-endian uint32 dims, then big-endian data. Gzipped files are inflated.
 */
import { gunzipSync } from 'node:zlib';
import { LosscapeError } from '../core/errors.js';
import { decodeElements, type ElemType, type NdArray, size } from './ndarray.js';

const TYPES: Record<number, ElemType> = {
  8: 'uint8',
  9: 'int8',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function gunzip(bytes: Uint8Array, label: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (e) {
    throw new LosscapeError('input', `${label}: cannot decompress the gzip data (${(e as Error).message})`);
  }
}

export function isIdx(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && TYPES[bytes[2]!] !== undefined && bytes[3]! >= 1;
}

export function readIdx(raw: Uint8Array, label: string): NdArray {
  const bytes = isGzip(raw) ? gunzip(raw, label) : raw;
  if (!isIdx(bytes)) throw new LosscapeError('input', `${label}: not an IDX file (bad magic)`);
  const dtype = TYPES[bytes[2]!]!;
  const nd = bytes[3]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * nd) throw new LosscapeError('input', `${label}: truncated IDX header`);
  const shape = Array.from({ length: nd }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const n = size(shape);
  const bpe = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 }[dtype as 'uint8'];
  const body = bytes.subarray(4 + 4 * nd);
  if (body.length < n * bpe) {
    throw new LosscapeError('input', `${label}: truncated IDX data: shape [${shape}] needs ${n * bpe} bytes, the file has ${body.length}`);
  }
  return { shape, dtype, data: decodeElements(body, dtype, n, false) };
}

/** Write an IDX file (uint8 or float32 data). */
export function writeIdx(a: { shape: number[]; dtype: 'uint8' | 'float32'; data: ArrayLike<number> }): Uint8Array {
  const nd = a.shape.length;
  const n = size(a.shape);
  const bpe = a.dtype === 'uint8' ? 1 : 4;
  const out = new Uint8Array(4 + 4 * nd + n * bpe);
  const dv = new DataView(out.buffer);
  out[2] = a.dtype === 'uint8' ? 0x08 : 0x0d;
  out[3] = nd;
  a.shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const o = 4 + 4 * nd;
  for (let i = 0; i < n; i++) {
    if (a.dtype === 'uint8') out[o + i] = a.data[i]!;
    else dv.setFloat32(o + 4 * i, a.data[i]!, false);
  }
  return out;
}
