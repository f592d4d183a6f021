import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { writeZip } from '../../src/io/zip.js';
import { loadCheckpoints, naturalCompare } from '../../src/model/checkpoints.js';
import { GraphBuilder } from './onnx-builder.js';

const DATA = new URL('./data/', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-ckpt-'));

/** fc.weight [3, 4], fc.bias [3] (the names and shapes of data/state_dict*.h5), scaled by k. */
const W = Float32Array.from({ length: 12 }, (_, i) => i / 7);
const B = Float32Array.of(0.5, -0.5, 0.25);
function linear(k: number, extraRelu = false, outDim = 3): Uint8Array {
  const g = new GraphBuilder().input('x', ['N', 4]).output('y');
  g.init(
    'fc.weight',
    [outDim, 4],
    W.slice(0, outDim * 4).map((v) => v * k),
  );
  g.init(
    'fc.bias',
    [outDim],
    B.slice(0, outDim).map((v) => v * k),
  );
  const h = g.node('Gemm', ['x', 'fc.weight', 'fc.bias'], { transB: 1 }, extraRelu ? undefined : ['y']);
  if (extraRelu) g.node('Relu', [h], {}, ['y']);
  return g.bytes();
}
const theta = (k: number) => [...W.map((v) => Math.fround(Math.fround(v) * k)), ...B.map((v) => Math.fround(v * k))];

async function oneLine(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: Error) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(Error);
  const msg = (e as Error).message;
  expect(msg.split('\n')).toHaveLength(1);
  return msg;
}

describe('checkpoint sequences', () => {
  it('natural order', () => {
    expect(['ckpt10', 'ckpt2', 'ckpt1', 'a', 'ckpt2b'].sort(naturalCompare)).toEqual(['a', 'ckpt1', 'ckpt2', 'ckpt2b', 'ckpt10']);
  });

  it('a folder of ONNX files, in natural name order', async () => {
    const dir = tmp();
    for (const k of [10, 2, 1]) writeFileSync(join(dir, `ckpt${k}.onnx`), linear(k));
    const c = await loadCheckpoints(dir);
    expect(c.names).toEqual(['ckpt1', 'ckpt2', 'ckpt10']);
    expect(c.format).toBe('onnx');
    expect(c.layout.entries.map((e) => e.name)).toEqual(['fc.weight', 'fc.bias']);
    expect(c.thetas.map((t) => Array.from(t))).toEqual([theta(1), theta(2), theta(10)]);
    expect(c.architecture).toBe(join(dir, 'ckpt1.onnx'));
    expect(c.model.outputDim).toBe(3);
  });

  it('a folder of ONNX files ordered by checkpoints.json (with steps and epochs)', async () => {
    const dir = tmp();
    for (const k of [1, 2, 3]) writeFileSync(join(dir, `m${k}.onnx`), linear(k));
    writeFileSync(
      join(dir, 'checkpoints.json'),
      JSON.stringify({ checkpoints: [{ file: 'm3.onnx', step: 0, epoch: 0 }, { file: 'm1.onnx', step: 50, epoch: 1 }, 'm2.onnx'] }),
    );
    const c = await loadCheckpoints(dir);
    expect(c.names).toEqual(['m3', 'm1', 'm2']);
    expect(c.steps).toEqual([0, 50, null]);
    expect(c.epochs).toEqual([0, 1, null]);
    expect(Array.from(c.thetas[0]!)).toEqual(theta(3));
  });

  it('mismatched ONNX checkpoints: other shapes, other architecture', async () => {
    const a = tmp();
    writeFileSync(join(a, 'c1.onnx'), linear(1));
    writeFileSync(join(a, 'c2.onnx'), linear(1, false, 2));
    expect(await oneLine(loadCheckpoints(a))).toBe(`${join(a, 'c2.onnx')}: tensor "fc.weight" has shape [2,4], the model's parameter is [3,4]`);
    const b = tmp();
    writeFileSync(join(b, 'c1.onnx'), linear(1));
    writeFileSync(join(b, 'c2.onnx'), linear(1, true));
    expect(await oneLine(loadCheckpoints(b))).toBe(`${join(b, 'c2.onnx')}: not the same architecture as c1.onnx (node 1 is Relu, expected nothing)`);
  });

  it('one ONNX file + safetensors weight files (natural order, extra tensors ignored, "module." prefix accepted)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'arch.onnx'), linear(1));
    const w = join(dir, 'weights');
    mkdirSync(w);
    for (const k of [3, 20]) {
      writeFileSync(
        join(w, `step${k}.safetensors`),
        writeSafetensors([
          { name: 'module.fc.bias', shape: [3], data: B.map((v) => v * k) },
          { name: 'module.fc.weight', shape: [3, 4], data: W.map((v) => v * k) },
          { name: 'optimizer.momentum', shape: [2], data: Float32Array.of(1, 2) },
        ]),
      );
    }
    const c = await loadCheckpoints(join(dir, 'arch.onnx'), { weights: w });
    expect(c.names).toEqual(['step3', 'step20']);
    expect(c.format).toBe('safetensors');
    expect(c.thetas.map((t) => Array.from(t))).toEqual([theta(3), theta(20)]);
  });

  it('safetensors with a missing tensor or a wrong shape', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'arch.onnx'), linear(1));
    writeFileSync(join(dir, 'a.safetensors'), writeSafetensors([{ name: 'fc.weight', shape: [3, 4], data: W }]));
    expect(await oneLine(loadCheckpoints(join(dir, 'arch.onnx'), { weights: [join(dir, 'a.safetensors')] }))).toBe(
      `${join(dir, 'a.safetensors')}: missing parameter "fc.bias" (the file has 1 tensors: fc.weight)`,
    );
    writeFileSync(
      join(dir, 'b.safetensors'),
      writeSafetensors([
        { name: 'fc.weight', shape: [4, 3], data: W },
        { name: 'fc.bias', shape: [3], data: B },
      ]),
    );
    expect(await oneLine(loadCheckpoints(join(dir, 'arch.onnx'), { weights: [join(dir, 'b.safetensors')] }))).toBe(
      `${join(dir, 'b.safetensors')}: tensor "fc.weight" has shape [4,3], the model's parameter is [3,4]`,
    );
    writeFileSync(join(dir, 'c.pt'), 'PK');
    expect(await oneLine(loadCheckpoints(join(dir, 'arch.onnx'), { weights: [join(dir, 'c.pt')] }))).toMatch(/c\.pt: PyTorch pickles cannot be read here/);
    writeFileSync(join(dir, 'd.safetensors'), writeSafetensors([{ name: 'fc.weight', shape: [3, 4], data: W }]).subarray(0, 100));
    expect(await oneLine(loadCheckpoints(join(dir, 'arch.onnx'), { weights: [join(dir, 'd.safetensors')] }))).toMatch(
      /d\.safetensors: truncated: tensor "fc\.weight" ends at byte 48/,
    );
  });

  it('one ONNX file + PyTorch-state-dict-like HDF5 (h5py-written): one checkpoint per file, or one per group', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'arch.onnx'), linear(1));
    const one = await loadCheckpoints(join(dir, 'arch.onnx'), { weights: [`${DATA}state_dict.h5`] });
    expect(one.names).toEqual(['state_dict']);
    expect(Array.from(one.thetas[0]!)).toEqual(theta(1));
    const groups = await loadCheckpoints(join(dir, 'arch.onnx'), { weights: `${DATA}state_dicts_grouped.h5` });
    expect(groups.names).toEqual(['epoch1', 'epoch2', 'epoch10']);
    expect(groups.format).toBe('hdf5');
    expect(groups.thetas.map((t) => Array.from(t))).toEqual([theta(1), theta(2), theta(10)]);
  });

  it('one ONNX file + NPZ weight files listed in a manifest (text, one per line)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'arch.onnx'), linear(1));
    for (const k of [1, 5]) {
      const z = writeZip(
        [
          { name: 'fc.weight.npy', data: writeNpy({ shape: [3, 4], dtype: 'float64', data: W.map((v) => v * k) }) },
          { name: 'fc.bias.npy', data: writeNpy({ shape: [3], dtype: 'float32', data: B.map((v) => v * k) }) },
        ],
        true,
      );
      writeFileSync(join(dir, `w${k}.npz`), z);
    }
    writeFileSync(join(dir, 'order.txt'), '# newest first\nw5.npz\nw1.npz\n');
    const c = await loadCheckpoints(join(dir, 'arch.onnx'), { weights: [join(dir, 'w1.npz'), join(dir, 'w5.npz')], manifest: join(dir, 'order.txt') });
    expect(c.names).toEqual(['w5', 'w1']);
    expect(c.format).toBe('npz');
    expect(Array.from(c.thetas[1]!)).toEqual(theta(1));
    expect(Array.from(c.thetas[0]!)).toEqual(theta(5));
  });

  it('a single ONNX file is a one-checkpoint sequence; missing inputs are one line', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'only.onnx'), linear(2));
    const c = await loadCheckpoints(join(dir, 'only.onnx'));
    expect([c.names, c.thetas.length]).toEqual([['only'], 1]);
    expect(await oneLine(loadCheckpoints(join(dir, 'nope')))).toBe(`${join(dir, 'nope')}: no such file or folder`);
    const empty = tmp();
    expect(await oneLine(loadCheckpoints(empty))).toBe(`${empty}: no ONNX files (.onnx)`);
    writeFileSync(join(dir, 'bad.json'), '{"checkpoints": [');
    expect(await oneLine(loadCheckpoints(dir, { manifest: join(dir, 'bad.json') }))).toMatch(/bad\.json: not valid JSON/);
  });
});
