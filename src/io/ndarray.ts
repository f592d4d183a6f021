/** A plain n-d array read from a file: row-major values with their element type. */
export type ElemType = 'float16' | 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

export interface NdArray {
  shape: number[];
  dtype: ElemType;
  /** Row-major values; 64-bit integers are converted to numbers (exact below 2^53). */
  data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isFloat(t: ElemType): boolean {
  return t === 'float16' || t === 'float32' || t === 'float64';
}

const BYTES: Record<ElemType, number> = {
  float16: 2,
  float32: 4,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

export function bytesPer(t: ElemType): number {
  return BYTES[t];
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Decode `n` elements of `dtype` from bytes (any alignment, either byte order).
 * `bfloat16` is accepted as an alias read into float32.
 */
export function decodeElements(bytes: Uint8Array, dtype: ElemType | 'bfloat16', n: number, littleEndian = true): NdArray['data'] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, le);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, le);
      return out;
    }
    case 'float16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = half(dv.getUint16(2 * i, le));
      return out;
    }
    case 'bfloat16': {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, le) << 16;
      return out;
    }
    case 'int8':
      return Int8Array.from({ length: n }, (_, i) => dv.getInt8(i));
    case 'uint8':
    case 'bool':
      return Uint8Array.from(bytes.subarray(0, n));
    case 'int16':
      return Int16Array.from({ length: n }, (_, i) => dv.getInt16(2 * i, le));
    case 'uint16':
      return Uint16Array.from({ length: n }, (_, i) => dv.getUint16(2 * i, le));
    case 'int32':
      return Int32Array.from({ length: n }, (_, i) => dv.getInt32(4 * i, le));
    case 'uint32':
      return Uint32Array.from({ length: n }, (_, i) => dv.getUint32(4 * i, le));
    case 'int64':
      return Float64Array.from({ length: n }, (_, i) => Number(dv.getBigInt64(8 * i, le)));
    case 'uint64':
      return Float64Array.from({ length: n }, (_, i) => Number(dv.getBigUint64(8 * i, le)));
  }
}

/** Column-major (Fortran) data → row-major. */
export function fortranToC<T extends NdArray['data']>(data: T, shape: number[]): T {
  const r = shape.length;
  if (r < 2) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const cStr = new Array<number>(r);
  const fStr = new Array<number>(r);
  let a = 1;
  for (let i = r - 1; i >= 0; i--) {
    cStr[i] = a;
    a *= shape[i]!;
  }
  a = 1;
  for (let i = 0; i < r; i++) {
    fStr[i] = a;
    a *= shape[i]!;
  }
  for (let k = 0; k < data.length; k++) {
    let j = 0;
    for (let d = 0; d < r; d++) j += (Math.floor(k / cStr[d]!) % shape[d]!) * fStr[d]!;
    out[k] = data[j]!;
  }
  return out;
}
