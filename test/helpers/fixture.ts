/**
 * Loads the reference fixture (a copy of ../shared/fixtures/reference-mlp kept in
 * test/fixtures so that a clean clone tests on its own) without the ONNX importer.
 */
import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import h5wasm, { type Dataset as H5Dataset } from 'h5wasm/node';
import { ModelProtoSchema } from 'onnx-buf';
import type { Dataset } from '../../src/data/dataset.js';

export const FIXTURE = new URL('../fixtures/reference-mlp/', import.meta.url).pathname;

export function fixtureData(): Dataset {
  const xb = readFileSync(`${FIXTURE}X.f32`);
  const yb = readFileSync(`${FIXTURE}y.i32`);
  return {
    name: 'reference-mlp',
    inputShape: [784],
    x: new Float32Array(xb.buffer.slice(xb.byteOffset, xb.byteOffset + xb.byteLength)),
    y: new Int32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.byteLength)),
    task: 'classification',
    outputDim: 10,
  };
}

/** Trained weights, flat in net.parameters() order. */
export function fixtureTheta(): Float32Array {
  const m = fromBinary(ModelProtoSchema, readFileSync(`${FIXTURE}model.onnx`));
  const byName = new Map(m.graph!.initializer.map((t) => [t.name, t]));
  const names = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
  const parts = names.map((n) => {
    const t = byName.get(n)!;
    if (t.rawData.length) return new Float32Array(new Uint8Array(t.rawData).buffer);
    return Float32Array.from(t.floatData);
  });
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function fixtureDirections(): Promise<[Float32Array, Float32Array]> {
  await h5wasm.ready;
  const f = new h5wasm.File(`${FIXTURE}directions.h5`, 'r');
  const read = (g: string) => {
    const parts = [0, 1, 2, 3].map((k) => (f.get(`${g}/${k}`) as H5Dataset).value as Float32Array);
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const r: [Float32Array, Float32Array] = [read('xdirection'), read('ydirection')];
  f.close();
  return r;
}

export function fixtureSurface(): { x: number[]; y: number[]; loss: number[][]; acc: number[][] } {
  const s = JSON.parse(readFileSync(`${FIXTURE}surface.json`, 'utf8'));
  return { x: s.xcoordinates, y: s.ycoordinates, loss: s.train_loss, acc: s.train_acc };
}

export function fixtureEigen(): any {
  return JSON.parse(readFileSync(`${FIXTURE}eigen.json`, 'utf8'));
}
