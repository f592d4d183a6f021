/**
 * ONNX protobuf plumbing over onnx-buf: parse a model with one clear error line,
 * decode TensorProtos (raw, typed fields, external data), parse node attributes,
 * and build small ModelProtos (tests, weights-as-inputs graphs).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  TensorProto_DataType as DT,
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  type TensorProto,
  TensorProto_DataLocation,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from 'onnx-buf';
import { LosscapeError } from '../core/errors.js';

export { DT };

/** A decoded tensor: floats keep their precision class, integers and bools become plain numbers. */
export interface DecodedTensor {
  name: string;
  dataType: DT;
  shape: number[];
  /** float32 data as Float32Array, float16/float64 as Float64Array, integers/bools as Float64Array. */
  data: Float32Array | Float64Array;
}

export const FLOAT_TYPES = new Set<DT>([DT.FLOAT, DT.DOUBLE, DT.FLOAT16, DT.BFLOAT16]);

export function dtypeName(t: DT): string {
  return DT[t] ?? `type ${t}`;
}

/** Parse ONNX bytes; garbage or truncated input gives one line naming `label`. */
export function parseModel(bytes: Uint8Array, label: string): ModelProto {
  if (bytes.length === 0) throw new LosscapeError('input', `${label}: empty file, not an ONNX model`);
  let m: ModelProto;
  try {
    m = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]!.replace(/^cannot decode message onnx\.ModelProto from binary: /, '');
    throw new LosscapeError('input', `${label}: not a valid ONNX model (truncated or corrupt protobuf: ${why})`);
  }
  if (!m.graph || (m.graph.node.length === 0 && m.graph.output.length === 0)) {
    throw new LosscapeError('input', `${label}: not a valid ONNX model (no graph; the file may be truncated or not ONNX)`);
  }
  return m;
}

export function opsetOf(m: ModelProto): number {
  const o = m.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  return o ? Number(o.version) : 13;
}

function bytesOf(t: TensorProto, baseDir: string | null, label: string): Uint8Array | null {
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    const kv = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
    if (!baseDir) throw new LosscapeError('input', `${label}: tensor "${t.name}" is stored in an external file; load the model from its path`);
    const loc = kv.location;
    if (!loc) throw new LosscapeError('input', `${label}: tensor "${t.name}" has external data without a location`);
    let buf: Buffer;
    try {
      buf = readFileSync(join(baseDir, loc));
    } catch {
      throw new LosscapeError('input', `${label}: external data file "${loc}" of tensor "${t.name}" cannot be read`);
    }
    const off = Number(kv.offset ?? 0);
    const len = kv.length !== undefined ? Number(kv.length) : buf.length - off;
    if (off + len > buf.length) throw new LosscapeError('input', `${label}: external data of tensor "${t.name}" runs past the end of "${loc}"`);
    return new Uint8Array(buf.buffer, buf.byteOffset + off, len);
  }
  return t.rawData.length > 0 ? t.rawData : null;
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decode a TensorProto; `baseDir` resolves external data. */
export function decodeTensor(t: TensorProto, label: string, baseDir: string | null = null): DecodedTensor {
  const shape = t.dims.map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const raw = bytesOf(t, baseDir, label);
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const need = (bytesPer: number) => {
    if (raw && raw.byteLength !== n * bytesPer) {
      throw new LosscapeError(
        'input',
        `${label}: tensor "${t.name}" [${shape}] ${dtypeName(t.dataType)} holds ${raw.byteLength} bytes, expected ${n * bytesPer} (truncated file?)`,
      );
    }
  };
  let data: Float32Array | Float64Array;
  switch (t.dataType) {
    case DT.FLOAT:
      need(4);
      if (dv) {
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = dv.getFloat32(4 * i, true);
      } else data = Float32Array.from(t.floatData);
      break;
    case DT.DOUBLE:
      need(8);
      if (dv) {
        data = new Float64Array(n);
        for (let i = 0; i < n; i++) data[i] = dv.getFloat64(8 * i, true);
      } else data = Float64Array.from(t.doubleData);
      break;
    case DT.FLOAT16:
    case DT.BFLOAT16: {
      need(2);
      const bf = t.dataType === DT.BFLOAT16;
      const conv = (h: number) => (bf ? new Float32Array(new Uint32Array([h << 16]).buffer)[0]! : f16(h));
      data = new Float64Array(n);
      if (dv) for (let i = 0; i < n; i++) data[i] = conv(dv.getUint16(2 * i, true));
      else t.int32Data.forEach((h, i) => (data[i] = conv(h)));
      break;
    }
    case DT.INT64:
      need(8);
      data = dv ? Float64Array.from({ length: n }, (_, i) => Number(dv.getBigInt64(8 * i, true))) : Float64Array.from(t.int64Data, Number);
      break;
    case DT.UINT64:
      need(8);
      data = dv ? Float64Array.from({ length: n }, (_, i) => Number(dv.getBigUint64(8 * i, true))) : Float64Array.from(t.uint64Data, Number);
      break;
    case DT.INT32:
      need(4);
      data = dv ? Float64Array.from({ length: n }, (_, i) => dv.getInt32(4 * i, true)) : Float64Array.from(t.int32Data);
      break;
    case DT.UINT32:
      need(4);
      data = dv ? Float64Array.from({ length: n }, (_, i) => dv.getUint32(4 * i, true)) : Float64Array.from(t.uint64Data, Number);
      break;
    case DT.INT16:
    case DT.UINT16:
      need(2);
      data = dv
        ? Float64Array.from({ length: n }, (_, i) => (t.dataType === DT.INT16 ? dv.getInt16(2 * i, true) : dv.getUint16(2 * i, true)))
        : Float64Array.from(t.int32Data);
      break;
    case DT.INT8:
    case DT.UINT8:
    case DT.BOOL:
      need(1);
      data = dv ? Float64Array.from({ length: n }, (_, i) => (t.dataType === DT.INT8 ? dv.getInt8(i) : dv.getUint8(i))) : Float64Array.from(t.int32Data);
      if (t.dataType === DT.BOOL) data = data.map((v) => (v ? 1 : 0));
      break;
    default:
      throw new LosscapeError('input', `${label}: tensor "${t.name}" has unsupported data type ${dtypeName(t.dataType)}`);
  }
  if (data.length !== n) {
    throw new LosscapeError('input', `${label}: tensor "${t.name}" [${shape}] has ${data.length} values, expected ${n} (truncated file?)`);
  }
  return { name: t.name, dataType: t.dataType, shape, data };
}

/** The shortest decimal that rounds to the same float32 (0.30000001192092896 → 0.3): attributes are float32. */
export function shortestFloat32(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

export type AttrValue = number | number[] | string | string[] | TensorProto | TensorProto[] | GraphProto | null;

export function parseAttributes(node: NodeProto): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  const td = new TextDecoder();
  for (const a of node.attribute) {
    switch (a.type) {
      case AT.FLOAT:
        out[a.name] = shortestFloat32(a.f);
        break;
      case AT.FLOATS:
        out[a.name] = a.floats.map(shortestFloat32);
        break;
      case AT.INT:
        out[a.name] = Number(a.i);
        break;
      case AT.INTS:
        out[a.name] = a.ints.map(Number);
        break;
      case AT.STRING:
        out[a.name] = td.decode(a.s);
        break;
      case AT.STRINGS:
        out[a.name] = a.strings.map((s) => td.decode(s));
        break;
      case AT.TENSOR:
        out[a.name] = a.t ?? null;
        break;
      case AT.TENSORS:
        out[a.name] = a.tensors;
        break;
      case AT.GRAPH:
        out[a.name] = a.g ?? null;
        break;
      default:
        out[a.name] = null;
    }
  }
  return out;
}

/** Dims of a ValueInfo's tensor type: numbers, or strings for symbolic dims, null for unknown; null if no shape. */
export function valueInfoDims(v: ValueInfoProto): (number | string | null)[] | null {
  if (v.type?.value.case !== 'tensorType') return null;
  const s = v.type.value.value.shape;
  if (!s) return null;
  return s.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null));
}

export function valueInfoElemType(v: ValueInfoProto): DT {
  return v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : DT.UNDEFINED;
}

/** A ValueInfoProto for a tensor of `elemType` and `dims` (strings = symbolic). */
export function makeValueInfo(name: string, elemType: DT, dims: (number | string)[] | null): ValueInfoProto {
  const shape =
    dims === null
      ? undefined
      : create(TensorShapeProtoSchema, {
          dim: dims.map((d) =>
            create(TensorShapeProto_DimensionSchema, {
              value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
            }),
          ),
        });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape }) },
    }),
  });
}

/**
 * `values` as a TensorProto's raw_data: little-endian bytes of `dataType`. int64 takes numbers
 * (truncated) or bigints, bool stores 0 / 1, float16 rounds to nearest even.
 */
export function encodeTensorData(dataType: DT, values: ArrayLike<number> | ArrayLike<bigint>): Uint8Array<ArrayBuffer> {
  const native = NATIVE_ARRAY[dataType];
  if (native && values instanceof native) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  const nums = values as ArrayLike<number>;
  switch (dataType) {
    case DT.FLOAT:
      return bytesOfArray(Float32Array.from(nums));
    case DT.DOUBLE:
      return bytesOfArray(Float64Array.from(nums));
    case DT.FLOAT16:
      return bytesOfArray(Uint16Array.from(nums, (v) => toHalf(Number(v))));
    case DT.INT32:
      return bytesOfArray(Int32Array.from(nums));
    case DT.UINT32:
      return bytesOfArray(Uint32Array.from(nums));
    case DT.INT64:
      return bytesOfArray(BigInt64Array.from(values as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(v)))));
    case DT.BOOL:
      return Uint8Array.from(nums, (v) => (v ? 1 : 0));
    case DT.UINT8:
      return Uint8Array.from(nums);
    default:
      throw new Error(`encodeTensorData: unsupported type ${dtypeName(dataType)}`);
  }
}

/** Typed arrays already laid out as raw_data of a type (their bytes are copied as they are). */
const NATIVE_ARRAY: Partial<Record<DT, { new (n: number): ArrayBufferView }>> = {
  [DT.FLOAT]: Float32Array,
  [DT.DOUBLE]: Float64Array,
  [DT.INT32]: Int32Array,
  [DT.UINT32]: Uint32Array,
  [DT.INT64]: BigInt64Array,
  [DT.UINT8]: Uint8Array,
};

function bytesOfArray(a: ArrayBufferView<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** IEEE binary16 bits of `v` (first rounded to float32), rounded to nearest even. */
function toHalf(v: number): number {
  const x = new Uint32Array(Float32Array.of(v).buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  const m = x & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const he = e - 112; // the binary16 exponent field if normal
  if (he >= 0x1f) return sign | 0x7c00;
  if (he < -10) return sign; // below half the smallest subnormal
  // drop 13 bits of the 24-bit significand (more for subnormals); round to nearest, ties to even
  const sig = m | 0x800000;
  const drop = he > 0 ? 13 : 14 - he;
  const q = sig >>> drop;
  const rest = sig & ((1 << drop) - 1);
  const half = 1 << (drop - 1);
  const r = q + (rest > half || (rest === half && (q & 1) === 1) ? 1 : 0);
  // a normal's q includes the implicit bit 0x400, hence he − 1; a rounding carry moves on to the
  // next exponent (or to infinity) by itself
  return sign | (he > 0 ? ((he - 1) << 10) + r : r);
}

/** A TensorProto with raw little-endian data (see `encodeTensorData` for the types). */
export function makeTensor(name: string, dataType: DT, shape: number[], values: ArrayLike<number>): TensorProto {
  return create(TensorProtoSchema, { name, dataType, dims: shape.map(BigInt), rawData: encodeTensorData(dataType, values) });
}

export function serializeModel(m: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, m);
}

export function baseDirOf(path: string | null): string | null {
  return path ? dirname(path) : null;
}
