/**
 * The reference code's direction files for an exported batch-norm ResNet (made by PyTorch in
 * scripts/real-models/make_fixtures.py): `dir_type=weights` files (one tensor per
 * net.parameters() entry) and `dir_type=states` files (one per state_dict() entry, with running
 * statistics and num_batches_tracked) load onto the imported tensors by torch's names, including
 * the downsample bias the exporter tied to another bias (as an Identity alias, or as one
 * initializer read by both layers).
 */
import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { makeLayout } from '../../../src/core/layout.js';
import { pointWeights } from '../../../src/core/plane.js';
import { readDirectionFile } from '../../../src/directions/file.js';
import { createEngine } from '../../../src/engine/registry.js';
import { asFloat32, readH5 } from '../../../src/io/h5.js';
import { serializeModel } from '../../../src/io/onnx-proto.js';
import { loadOnnxModel } from '../../../src/model/onnx/load.js';
import { modulePath } from '../../../src/model/onnx/untie.js';
import { REAL, realData, realMeta } from './real-fixtures.js';

const RESNET = `${REAL}resnet_bn.onnx`;
const TIED = 'layer2.0.downsample.1.bias';

/** The file's tensor k of a group, as stored. */
async function fileTensors(path: string, group: string): Promise<Float32Array[]> {
  const h = await readH5(path);
  return h.children(group).map((_, k) => asFloat32(h.get(`${group}/${k}`)!.value, `${group}/${k}`));
}

/** The ResNet export with the Identity alias replaced by one initializer read by both batch norms. */
function sharedInitializerVariant(): Uint8Array {
  const m = fromBinary(ModelProtoSchema, readFileSync(RESNET));
  const g = m.graph!;
  const alias = g.node.find((n) => n.opType === 'Identity' && n.output[0] === TIED)!;
  g.node = g.node.filter((n) => n !== alias);
  for (const n of g.node) n.input = n.input.map((i) => (i === TIED ? alias.input[0]! : i));
  return serializeModel(m);
}

describe('exported BN ResNet and the reference code direction files', () => {
  const meta = realMeta('resnet_bn');
  const stateNames = meta.state_dict.map((t) => t.name);
  const paramNames = meta.parameters.map((t) => t.name);

  it('the exporter ties layer2.0.downsample.1.bias to layer2.0.bn2.bias (an Identity in the file)', () => {
    const g = fromBinary(ModelProtoSchema, readFileSync(RESNET)).graph!;
    expect(g.initializer.map((t) => t.name)).not.toContain(TIED);
    expect(g.node.some((n) => n.opType === 'Identity' && n.input[0] === 'layer2.0.bn2.bias' && n.output[0] === TIED)).toBe(true);
  });

  for (const [what, source] of [
    ['Identity alias', RESNET],
    ['one initializer read by both layers', sharedInitializerVariant()],
  ] as const) {
    it(`import (${what}): state_dict tensors in state_dict order, running statistics as buffers, the tie undone`, async () => {
      const imp = await loadOnnxModel(source, { label: 'resnet_bn.onnx' });
      const entries = imp.model.layout.entries;
      expect(entries.map((e) => e.name)).toEqual(stateNames.filter((n) => !n.endsWith('num_batches_tracked')));
      expect(entries.filter((e) => !e.role.startsWith('running')).map((e) => e.name)).toEqual(paramNames);
      expect(entries.filter((e) => e.role.startsWith('running')).every((e) => /running_(mean|var)$/.test(e.name))).toBe(true);
      expect(imp.notes.some((n) => n.includes(`"${TIED}"`))).toBe(true);
      const at = (name: string) => entries.find((e) => e.name === name)!;
      const tied = at(TIED);
      const bn2 = at('layer2.0.bn2.bias');
      expect(Array.from(imp.theta.subarray(tied.offset, tied.offset + tied.size))).toEqual(Array.from(imp.theta.subarray(bn2.offset, bn2.offset + bn2.size)));
      // the two biases are separate parameters now: each moves the loss on its own
      const data = await realData('resnet_bn', imp.model.inputShape, 8);
      const engine = await createEngine(imp.model, data);
      try {
        const nudged = async (es: (typeof tied)[]) => {
          const t = imp.theta.slice();
          for (const e of es) for (let i = 0; i < e.size; i++) t[e.offset + i]! += 0.3 * (i + 1);
          return (await engine.evaluate(t)).loss;
        };
        const base = (await engine.evaluate(imp.theta)).loss;
        const one = await nudged([tied]);
        expect(Math.abs(one - base)).toBeGreaterThan(1e-3);
        expect(Math.abs((await nudged([tied, bn2])) - one)).toBeGreaterThan(1e-3);
      } finally {
        await engine.dispose();
      }
    });
  }

  it('dir_type=weights file: tensor k goes to net.parameters()[k] by name (tied bias included); surfaces from it are the points', async () => {
    const imp = await loadOnnxModel(RESNET);
    const path = `${REAL}resnet_bn.dirs.h5`;
    const d = await readDirectionFile(path, imp.model.layout);
    expect(d.names).toEqual(paramNames);
    const [xs, ys] = [await fileTensors(path, 'xdirection'), await fileTensors(path, 'ydirection')];
    expect(xs).toHaveLength(paramNames.length);
    for (const e of imp.model.layout.entries) {
      const k = paramNames.indexOf(e.name);
      const got = Array.from(d.dx.subarray(e.offset, e.offset + e.size));
      expect(got).toEqual(k < 0 ? new Array(e.size).fill(0) : Array.from(xs[k]!));
      if (k >= 0) expect(Array.from(d.dy!.subarray(e.offset, e.offset + e.size))).toEqual(Array.from(ys[k]!));
    }
    const data = await realData('resnet_bn', imp.model.inputShape, 8);
    const engine = await createEngine(imp.model, data);
    try {
      const scale = (v: Float32Array) => v.map((a) => a * 0.05);
      const [dx, dy] = [scale(d.dx), scale(d.dy!)];
      const points = Float64Array.from([0.5, -1, 1, 1]);
      const plane = await engine.evaluatePlane(imp.theta, dx, dy, points);
      for (let k = 0; k < 2; k++) {
        const direct = await engine.evaluate(pointWeights(imp.theta, dx, dy, points[2 * k]!, points[2 * k + 1]!));
        expect(Math.abs(plane.loss[k]! - direct.loss)).toBeLessThan(1e-5 * Math.max(1, direct.loss));
      }
    } finally {
      await engine.dispose();
    }
  });

  it('dir_type=states file: state_dict order, running statistics perturbed, num_batches_tracked dropped', async () => {
    const imp = await loadOnnxModel(RESNET);
    const path = `${REAL}resnet_bn.states.h5`;
    const d = await readDirectionFile(path, imp.model.layout);
    expect(d.names).toEqual(stateNames);
    const xs = await fileTensors(path, 'xdirection');
    for (const e of imp.model.layout.entries) {
      expect(Array.from(d.dx.subarray(e.offset, e.offset + e.size))).toEqual(Array.from(xs[stateNames.indexOf(e.name)]!));
    }
  });

  it('a count that fits no order lists the expected names and shapes in one line', async () => {
    const imp = await loadOnnxModel(RESNET);
    const fewer = makeLayout(imp.model.layout.entries.filter((e) => e.name !== 'fc.bias').map((e) => ({ name: e.name, shape: e.shape, role: e.role })));
    const err = await readDirectionFile(`${REAL}resnet_bn.dirs.h5`, fewer).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toContain('net.parameters() order (conv1.weight [8,3,3,3], bn1.weight [8], bn1.bias [8], layer1.0.conv1.weight [8,8,3,3]');
    expect(err).toContain(`${TIED} [16]`);
    expect(err).toMatch(/xdirection has 20 tensors but the model has 19 parameter tensors$/);
    expect(err).not.toContain('\n');
  });

  it('module paths from torch node names', () => {
    expect(modulePath('/layer2/layer2.0/downsample/downsample.1/BatchNormalization')).toBe('layer2.0.downsample.1');
    expect(modulePath('/features/features.1/block/block.2/fc1/Conv')).toBe('features.1.block.2.fc1');
    expect(modulePath('/fc/Gemm')).toBe('fc');
    expect(modulePath('Gemm_3')).toBeNull();
  });
});
