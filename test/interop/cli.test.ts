import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Command } from 'commander';
import { ModelProtoSchema } from 'onnx-buf';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { register as registerExport } from '../../src/cli/commands/export.js';
import { register as registerImport } from '../../src/cli/commands/import.js';
import { parseGlb, readSurfaceFrames } from '../../src/export/index.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { loadOnnxModel } from '../../src/model/onnx/load.js';
import { RunStore } from '../../src/store/run-store.js';
import { loadScene } from '../../src/viewer/server/scene.js';
import { FIXTURE, fixtureDirections, fixtureTheta } from '../helpers/fixture.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-cli-'));

let stdout: string[] = [];
beforeEach(() => {
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (stdout.push(String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

async function cli(...args: string[]): Promise<void> {
  const program = new Command().option('-q, --quiet').exitOverride();
  registerImport(program);
  registerExport(program);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {} });
  await program.parseAsync(['node', 'losscape', '--quiet', ...args]);
}

async function cliError(...args: string[]): Promise<Error> {
  const e = await cli(...args).then(
    () => null,
    (err: Error) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(Error);
  expect(e!.message.split('\n')).toHaveLength(1);
  return e!;
}

/** The fixture MLP with θ replaced (same graph). */
function withTheta(theta: Float32Array): Uint8Array {
  const m = fromBinary(ModelProtoSchema, readFileSync(`${FIXTURE}model.onnx`));
  let o = 0;
  for (const t of m.graph!.initializer) {
    const n = t.dims.reduce((a, b) => a * Number(b), 1);
    t.rawData = new Uint8Array(theta.slice(o, o + n).buffer);
    o += n;
  }
  return toBinary(ModelProtoSchema, m);
}

describe('losscape import / export', () => {
  it('a folder of ONNX checkpoints + data.h5 → a run folder with landscapes the viewer loads; export --all to glb', async () => {
    const theta = fixtureTheta();
    const [dx, dy] = await fixtureDirections();
    const thetas = [theta.map((t, i) => t + 0.6 * dx[i]! - 0.4 * dy[i]!), theta.map((t, i) => t + 0.3 * dx[i]!), theta];
    const src = tmp();
    thetas.forEach((t, k) => writeFileSync(join(src, `epoch_${k + 1}.onnx`), withTheta(t)));
    writeFileSync(join(src, 'checkpoints.json'), JSON.stringify([1, 2, 3].map((k) => ({ file: `epoch_${k}.onnx`, step: 100 * k, epoch: k }))));
    const run = join(tmp(), 'mine');
    await cli('import', src, '--data', `${FIXTURE}data.h5`, '--surfaces', '--x', '-1:1:5', '--y', '-1:1:5', '--subset', '100', '--out', run);
    expect(stdout.join('')).toBe(`run: ${run}\n`);

    const store = new RunStore(run);
    const m = store.readManifest() as ReturnType<RunStore['readManifest']> & { import: { checkpoints: string[]; format: string } };
    expect(m.status).toBe('complete');
    expect(m.name).toBe('mine');
    expect(m.model.params).toBe(50890);
    expect(m.model.layout.map((e) => e.name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(m.import.checkpoints).toEqual(['epoch_1', 'epoch_2', 'epoch_3']);
    expect(m.import.format).toBe('onnx');
    expect(m.data).toMatchObject({ name: 'data.h5', train: 800, test: 200, inputShape: [784], classes: 10, task: 'classification' });
    expect(m.data.subset.size).toBe(100);
    expect(m.checkpoints.map((c) => [c.index, c.step, c.epoch])).toEqual([
      [0, 100, 1],
      [1, 200, 2],
      [2, 300, 3],
    ]);
    // the trained weights fit the data better than the perturbed ones
    expect(m.checkpoints[2]!.train_loss).toBeLessThan(m.checkpoints[0]!.train_loss);
    expect(m.checkpoints[2]!.train_acc).toBeGreaterThan(95);
    expect(m.frames.map((f) => [f.checkpoint, f.surface, f.directions])).toEqual([
      [0, 'surfaces/ckpt-0000.h5', 'directions/ckpt-0000.h5'],
      [1, 'surfaces/ckpt-0001.h5', 'directions/ckpt-0001.h5'],
      [2, 'surfaces/ckpt-0002.h5', 'directions/ckpt-0002.h5'],
    ]);
    const cks = await store.readCheckpoints();
    expect([...cks.keys()]).toEqual([0, 1, 2]);
    expect(cks.get(2)!.theta).toEqual(theta);
    expect(cks.get(0)!.step).toBe(100);
    // the architecture travels with the run and reloads
    const again = await loadOnnxModel(join(run, 'model.onnx'));
    expect(again.model.layout.size).toBe(50890);
    // the surface at checkpoint k's centre equals that checkpoint's subset loss
    const frames = await readSurfaceFrames(run, { all: true });
    // (plane and single-point graphs round differently: equal to 1e-6)
    expect(Math.abs(frames[2]!.values.train_loss![12]! / m.frames[2]!.center_loss! - 1)).toBeLessThan(1e-6);
    // the viewer's loader reads it
    const scene = await loadScene(run);
    expect(scene.runs[0]!.error).toBeUndefined();
    expect(scene.runs[0]!.frames.map((f) => f.step)).toEqual([100, 200, 300]);

    const out = tmp();
    stdout = [];
    await cli('export', run, '--format', 'glb', '--all', '--log', '--out', join(out, 'movie.glb'));
    expect(stdout.join('')).toBe(`glb: ${join(out, 'movie.glb')}\n`);
    const { json } = parseGlb(readFileSync(join(out, 'movie.glb')));
    expect((json as { meshes: unknown[] }).meshes).toHaveLength(3);
    stdout = [];
    await cli('export', run, '--format', 'vtp', '--frame', '1', '--clip', '3', '--out', join(out, 'one.vtp'));
    expect(readFileSync(join(out, 'one.vtp'), 'utf8')).toContain('NumberOfPoints="25"');
  });

  it('one ONNX + safetensors weight folder, no data: checkpoints only', async () => {
    const theta = fixtureTheta();
    const w = tmp();
    const layout = (await loadOnnxModel(`${FIXTURE}model.onnx`)).model.layout;
    for (const k of [1, 2]) {
      writeFileSync(
        join(w, `ckpt${k}.safetensors`),
        writeSafetensors(layout.entries.map((e) => ({ name: e.name, shape: e.shape, data: theta.slice(e.offset, e.offset + e.size).map((v) => v * k) }))),
      );
    }
    const run = join(tmp(), 'st');
    await cli('import', `${FIXTURE}model.onnx`, '--weights', w, '--out', run);
    const store = new RunStore(run);
    const m = store.readManifest();
    expect(m.checkpoints.map((c) => c.index)).toEqual([0, 1]);
    expect(m.checkpoints[0]!.train_loss).toBeUndefined();
    expect(m.frames).toEqual([]);
    expect((await store.readCheckpoints()).get(1)!.theta[5]).toBe(Math.fround(theta[5]! * 2));
    // refuses to overwrite without --fresh
    const e = await cliError('import', `${FIXTURE}model.onnx`, '--weights', w, '--out', run);
    expect(e.message).toBe(`${run} exists and is not empty; use --fresh to replace it, or another --out`);
  });

  it('bad input is one line: usage errors and library errors', async () => {
    const dir = tmp();
    expect(await cliError('import', join(dir, 'nope.onnx'), '--out', join(dir, 'r'))).toMatchObject({ name: 'LosscapeError', kind: 'usage' });
    const e1 = await cliError('import', `${FIXTURE}model.onnx`, '--surfaces', '--out', join(dir, 'r'));
    expect(e1.message).toBe('--surfaces needs --data (the samples the landscapes are evaluated on)');
    const e2 = await cliError('export', `${FIXTURE}surface.h5`, '--format', 'stl', '--out', join(dir, 'x.stl'));
    expect(e2).toMatchObject({ name: 'LosscapeError', kind: 'usage' });
    expect(e2.message).toBe('--format must be one of vtp, glb, ply, obj, csv; got "stl"');
    const e3 = await cliError('export', `${FIXTURE}surface.h5`, '--format', 'vtp', '--all', '--out', join(dir, 'x.vtp'));
    expect(e3.message).toMatch(/--frame and --all select frames of a run folder, not of one surface file$/);
    writeFileSync(join(dir, 'cut.onnx'), readFileSync(`${FIXTURE}model.onnx`).subarray(0, 5000));
    const e4 = await cliError('import', join(dir, 'cut.onnx'), '--out', join(dir, 'r2'));
    expect(e4.message).toMatch(/cut\.onnx: not a valid ONNX model \(truncated or corrupt protobuf/);
    const e5 = await cliError('export', `${FIXTURE}surface.h5`, '--format', 'vtp', '--clip', '-1', '--out', join(dir, 'y.vtp'));
    expect(e5.message).toBe('--clip must be positive, got -1');
  });
});
