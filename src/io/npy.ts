/**
 * NumPy .npy files (format versions 1–3): magic "\x93NUMPY", a little header dict
 * {'descr': '<f4', 'fortran_order': False, 'shape': (n, d)}, then the raw data.
 */

import { LosscapeError } from '../core/errors.js';
import { bytesPer, decodeElements, type ElemType, fortranToC, type NdArray, size } from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, ElemType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

export function isNpy(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/** Parse a .npy file; `label` names it in the one-line errors. */
export function readNpy(bytes: Uint8Array, label: string): NdArray {
  if (!isNpy(bytes)) throw new LosscapeError('input', `${label}: not a .npy file (bad magic)`);
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    hlen = dv.getUint32(8, true);
    start = 12;
  } else throw new LosscapeError('input', `${label}: unsupported .npy format version ${major}`);
  if (start + hlen > bytes.length) throw new LosscapeError('input', `${label}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + hlen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) throw new LosscapeError('input', `${label}: malformed .npy header ${JSON.stringify(header.trim())}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new LosscapeError('input', `${label}: bad shape (${shapeText}) in the .npy header`);
  const order = descr[0]!;
  const code = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  const dtype = DESCR[code];
  if (!dtype) throw new LosscapeError('input', `${label}: unsupported .npy dtype '${descr}' (need float, int, uint or bool)`);
  const n = size(shape);
  const body = bytes.subarray(start + hlen);
  const need = n * bytesPer(dtype);
  if (body.length < need) {
    throw new LosscapeError('input', `${label}: truncated .npy data: shape (${shape.join(', ')}) ${descr} needs ${need} bytes, the file has ${body.length}`);
  }
  let data = decodeElements(body, dtype, n, order !== '>');
  if (fortran) data = fortranToC(data, shape);
  return { shape, dtype, data };
}

const CODE: Record<ElemType, string> = {
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
};

/** Write a .npy (version 1.0, C order, little-endian). */
export function writeNpy(a: { shape: number[]; dtype: ElemType; data: ArrayLike<number> }): Uint8Array {
  if (a.dtype === 'float16') throw new Error('writeNpy: float16 is not supported');
  const shapeText = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${CODE[a.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const n = size(a.shape);
  const bpe = bytesPer(a.dtype);
  const out = new Uint8Array(10 + header.length + n * bpe);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const o = 10 + header.length;
  for (let i = 0; i < n; i++) {
    const v = a.data[i]!;
    const p = o + i * bpe;
    switch (a.dtype) {
      case 'float32':
        dv.setFloat32(p, v, true);
        break;
      case 'float64':
        dv.setFloat64(p, v, true);
        break;
      case 'int8':
        dv.setInt8(p, v);
        break;
      case 'uint8':
      case 'bool':
        dv.setUint8(p, v);
        break;
      case 'int16':
        dv.setInt16(p, v, true);
        break;
      case 'uint16':
        dv.setUint16(p, v, true);
        break;
      case 'int32':
        dv.setInt32(p, v, true);
        break;
      case 'uint32':
        dv.setUint32(p, v, true);
        break;
      case 'int64':
        dv.setBigInt64(p, BigInt(Math.trunc(v)), true);
        break;
      case 'uint64':
        dv.setBigUint64(p, BigInt(Math.trunc(v)), true);
        break;
    }
  }
  return out;
}
