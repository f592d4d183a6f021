/**
 * GraphBuilder's constants, encoded by io/onnx-proto.ts `encodeTensorData` (the encoder the ONNX
 * importer's `makeTensor` uses too): float16 rounds to nearest even like IEEE / numpy, and the
 * other types read back as written.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type TensorProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { type ElemType, GraphBuilder } from '../../src/compile/graph-builder.js';
import { decodeTensor } from '../../src/io/onnx-proto.js';

/** The initializer of `constant(dtype, values)` in a serialized one-node graph. */
function constantTensor(dtype: ElemType, values: number[]): TensorProto {
  const b = new GraphBuilder();
  b.addInput('x', dtype, [values.length]);
  const c = b.constant(dtype, values, [values.length]);
  b.namedNode('Identity', [b.op('Add', ['x', c], [values.length], dtype)], 'y');
  b.addOutput('y', dtype, [values.length]);
  const [t] = fromBinary(ModelProtoSchema, b.toModel('c')).graph!.initializer;
  return t!;
}

/** float32 values and their binary16 bits (numpy's float32 → float16 cast). */
const HALVES: [number, number][] = [
  [0, 0x0],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2.5, 0xc100],
  [65504, 0x7bff],
  [65519, 0x7bff],
  [65520, 0x7c00],
  [-1e6, 0xfc00],
  [2049, 0x6800], // ties go to the even neighbour
  [2050, 0x6801],
  [2051, 0x6802],
  [1 + 2 ** -11, 0x3c00],
  [1 + 3 * 2 ** -11, 0x3c02],
  [2 ** -14, 0x400],
  [2 ** -24, 0x1],
  [2 ** -25, 0x0],
  [1.5 * 2 ** -25, 0x1],
  [2.5 * 2 ** -24, 0x2],
  [2 ** -26, 0x0],
  [Number.POSITIVE_INFINITY, 0x7c00],
  [0.1, 0x2e66],
  [1 / 3, 0x3555],
  [6.1e-5, 0x3ff],
];

describe('GraphBuilder constants', () => {
  it('float16 rounds to nearest even', () => {
    const t = constantTensor(
      'float16',
      HALVES.map(([v]) => v),
    );
    const raw = t.rawData;
    const bits = Array.from({ length: HALVES.length }, (_, i) => raw[2 * i]! | (raw[2 * i + 1]! << 8));
    expect(bits).toEqual(HALVES.map(([, h]) => h));
    const nan = constantTensor('float16', [Number.NaN, 1]).rawData;
    expect((nan[1]! << 8) | nan[0]!).toBe(0x7e00);
  });

  it('float32, float64, int32, uint32, int64 and bool read back as written', () => {
    const cases: [ElemType, number[], number[]][] = [
      ['float32', [0.5, -3, 1e-3], [0.5, -3, Math.fround(1e-3)]],
      ['float64', [0.1, -3, 1e300], [0.1, -3, 1e300]],
      ['int32', [-7, 0, 2 ** 31 - 1], [-7, 0, 2 ** 31 - 1]],
      ['uint32', [0, 7, 2 ** 32 - 1], [0, 7, 2 ** 32 - 1]],
      ['int64', [-(2 ** 40), 3, 0], [-(2 ** 40), 3, 0]],
      ['bool', [0, 1, 2], [0, 1, 1]],
    ];
    for (const [dtype, values, expected] of cases) {
      expect(Array.from(decodeTensor(constantTensor(dtype, values), dtype).data)).toEqual(expected);
    }
  });
});
