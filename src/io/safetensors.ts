/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * { name: { dtype: "F32", shape: [...], data_offsets: [begin, end] }, "__metadata__": {...} },
 * then the tensor bytes (offsets relative to the end of the header).
 */

import { LosscapeError } from '../core/errors.js';
import { bytesPer, decodeElements, type ElemType, type NdArray, size } from './ndarray.js';

const DTYPES: Record<string, ElemType | 'bfloat16'> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

export interface SafetensorsFile {
  tensors: Map<string, NdArray>;
  /** Tensor names in file (header) order. */
  order: string[];
  metadata: Record<string, string>;
}

export function readSafetensors(bytes: Uint8Array, label: string): SafetensorsFile {
  if (bytes.length < 8) throw new LosscapeError('input', `${label}: not a safetensors file (too short)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw new LosscapeError('input', `${label}: not a safetensors file, or truncated (header of ${n} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new LosscapeError('input', `${label}: not a safetensors file (the header is not JSON)`);
  }
  const body = bytes.subarray(8 + n);
  const tensors = new Map<string, NdArray>();
  const order: string[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const t = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dtype = DTYPES[t.dtype];
    if (!dtype) throw new LosscapeError('input', `${label}: tensor "${name}" has unsupported dtype ${t.dtype}`);
    const [b, e] = t.data_offsets;
    const count = size(t.shape);
    const bpe = dtype === 'bfloat16' ? 2 : bytesPer(dtype);
    if (e - b !== count * bpe)
      throw new LosscapeError('input', `${label}: tensor "${name}" [${t.shape}] ${t.dtype} spans ${e - b} bytes, expected ${count * bpe}`);
    if (e > body.length) throw new LosscapeError('input', `${label}: truncated: tensor "${name}" ends at byte ${e} of a ${body.length}-byte data section`);
    const data = decodeElements(body.subarray(b, e), dtype, count);
    tensors.set(name, { shape: [...t.shape], dtype: dtype === 'bfloat16' || dtype === 'float16' ? 'float32' : dtype, data });
    order.push(name);
  }
  // header order is not guaranteed to be data order; keep the header's key order (what the writer gave)
  return { tensors, order, metadata };
}

/** Write float32 tensors as safetensors (in the given order). */
export function writeSafetensors(tensors: { name: string; shape: number[]; data: Float32Array }[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * t.data.length] };
    off += 4 * t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let o = 8 + hb.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), o);
    o += t.data.byteLength;
  }
  return out;
}
