/**
 * Bad input, generated: malformed run configs (wrong types, unknown keys, out-of-range numbers,
 * bad grids, missing files, broken syntax) and corrupted input files (truncated or with damaged
 * structure: ONNX, HDF5 data and directions, NPY, NPZ, IDX, CSV, safetensors). Every case runs
 * through the CLI's main() in this process and must give exactly one line on stderr, a non-zero
 * exit, no stack trace, and write nothing. The intact files pass the same commands (controls).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeH5 } from '../../src/io/h5.js';
import { writeIdx } from '../../src/io/idx.js';
import { writeNpy } from '../../src/io/npy.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { writeZip } from '../../src/io/zip.js';
import { FIXTURE, fixtureData, fixtureTheta } from '../helpers/fixture.js';

const work = mkdtempSync(join(tmpdir(), 'losscape-fuzz-'));
const file = (name: string) => join(work, name);

let stderr: string[] = [];
let stdout: string[] = [];
beforeEach(() => {
  stderr = [];
  stdout = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (stdout.push(String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

/** Every file under `dir` with its size and mtime: "nothing written" is this listing unchanged. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f} ${s.isDirectory() ? 'dir' : `${s.size} ${s.mtimeMs}`}`;
    })
    .sort();
}

interface Outcome {
  code: number;
  stderr: string;
}

async function run(args: string[]): Promise<Outcome> {
  stderr = [];
  const code = await main(['node', 'losscape', '--quiet', ...args]);
  return { code, stderr: stderr.join('') };
}

/** One case: non-zero exit, one line, no stack trace, nothing written. The failures, described. */
async function expectOneLineFailure(label: string, args: string[]): Promise<string[]> {
  const before = listing(work);
  const r = await run(args);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const problems: string[] = [];
  if (r.code === 0) problems.push('exit 0');
  if (lines.length !== 1) problems.push(`${lines.length} lines`);
  if (/^\s+at |Error: |HDF5-DIAG/m.test(r.stderr)) problems.push('a stack trace or diagnostic');
  if (listing(work).join('\n') !== before.join('\n')) problems.push('files written');
  return problems.length ? [`${label}: ${problems.join(', ')}: ${r.stderr.trim().slice(0, 300)}`] : [];
}

// ---------------------------------------------------------------- configs

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const BASE: Record<string, Json> = {
  name: 'fuzz',
  data: { source: 'spirals', n: 300, subset: { size: 60, seed: 1 }, testSubset: { size: 30, seed: 1 } },
  model: { type: 'mlp', hidden: [8], activation: 'tanh' },
  train: { epochs: 1, batchSize: 32, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 }, seed: 3 },
  directions: { seed: 1, norm: 'filter' },
  surface: { x: '-1:1:3', y: '-1:1:3', chunk: 8 },
  hessian: { x: '-1:1:3', y: '-1:1:3', maxIter: 20 },
  engine: { backend: 'auto', workers: 1 },
};

/** A copy of BASE with `path` (dotted) set to `value` (undefined: removed). */
function withValue(path: string, value: Json | undefined): Record<string, Json> {
  const cfg = structuredClone(BASE);
  const keys = path.split('.');
  let o = cfg as Record<string, Json>;
  for (const k of keys.slice(0, -1)) {
    o[k] ??= {};
    o = o[k] as Record<string, Json>;
  }
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
  return cfg;
}

const NUMBERS = [
  'data.n',
  'data.noise',
  'data.testFraction',
  'data.splitSeed',
  'data.subset.size',
  'data.subset.seed',
  'data.testSubset.size',
  'model.dropout',
  'train.epochs',
  'train.batchSize',
  'train.seed',
  'train.optimizer.lr',
  'train.optimizer.momentum',
  'directions.seed',
  'surface.dropoutSeed',
  'surface.every',
  'surface.chunk',
  'surface.batchSize',
  'hessian.tol',
  'hessian.maxIter',
  'hessian.every',
  'engine.threads',
  'engine.workers',
];
const STRINGS = [
  'name',
  'data.source',
  'model.type',
  'model.activation',
  'train.optimizer.type',
  'train.schedule',
  'directions.norm',
  'directions.ignore',
  'directions.include',
  'directions.perCheckpoint',
  'surface.mode',
  'surface.x',
  'surface.y',
  'hessian.x',
  'hessian.y',
  'hessian.params',
  'hessian.convergence',
  'engine.backend',
  'engine.device',
];
const SECTIONS = ['', 'data', 'data.subset', 'model', 'train', 'train.optimizer', 'directions', 'surface', 'hessian', 'engine'];

/** Out of range: [path, value, why]. */
const OUT_OF_RANGE: [string, Json][] = [
  ['data.n', 0],
  ['data.n', -5],
  ['data.n', 2.5],
  ['data.noise', -0.1],
  ['data.testFraction', 0],
  ['data.testFraction', 1],
  ['data.testFraction', 1.5],
  ['data.splitSeed', -1],
  ['data.splitSeed', 0.5],
  ['data.subset.size', 0],
  ['data.subset.size', -3],
  ['data.subset.size', 1e6],
  ['data.subset.seed', -1],
  ['data.testSubset.size', 1e6],
  ['model.dropout', 1],
  ['model.dropout', -0.5],
  ['model.hidden', [0]],
  ['model.hidden', [-4]],
  ['model.hidden', [2.5]],
  ['train.epochs', -1],
  ['train.epochs', 1.5],
  ['train.batchSize', 0],
  ['train.batchSize', -32],
  ['train.seed', -3],
  ['train.optimizer.lr', 0],
  ['train.optimizer.lr', -0.1],
  ['train.optimizer.momentum', 1],
  ['train.optimizer.momentum', -0.2],
  ['train.checkpointEvery', 0],
  ['directions.seed', -1],
  ['surface.every', 0],
  ['surface.chunk', 0],
  ['surface.chunk', 2.5],
  ['surface.batchSize', 0],
  ['hessian.tol', 0],
  ['hessian.tol', -1e-6],
  ['hessian.maxIter', 0],
  ['hessian.every', -1],
  ['engine.threads', 0],
  ['engine.workers', 0],
  ['engine.workers', 1.5],
];

const BAD_AXES = ['1:0:3', '-1:1', '-1:1:3:4', 'a:b:c', '-1:1:0', '-1:1:1.5', '', '-1:1:-3', '1:1:3', '1e999:1:3', '-1:1:1e9', 'nan:1:3'];

const MISSING_FILES: [string, Record<string, Json>][] = [
  ['data file missing', withValue('data', { source: 'file', path: 'no-such-data.h5' })],
  ['npy data without labels', withValue('data', { source: 'file', path: 'lonely.npy' })],
  ['labels file missing', withValue('data', { source: 'file', path: 'good-x.npy', labels: 'no-such-labels.npy' })],
  ['data folder without data', withValue('data', { source: 'file', path: 'empty-folder' })],
  ['onnx model missing', withValue('model', { type: 'onnx', path: 'no-such-model.onnx' })],
  ['file source without path', withValue('data', { source: 'file' })],
];

function configCases(): [string, string, string][] {
  const cases: [string, string, string][] = [];
  const json = (label: string, cfg: Record<string, Json>) => cases.push([label, `${cases.length}.json`, JSON.stringify(cfg)]);
  for (const p of NUMBERS) for (const v of ['seven', true, [1], { n: 1 }] as Json[]) json(`${p} = ${JSON.stringify(v)}`, withValue(p, v));
  for (const p of STRINGS) for (const v of [7, false, ['x'], { v: 'x' }] as Json[]) json(`${p} = ${JSON.stringify(v)}`, withValue(p, v));
  for (const p of STRINGS.filter((s) => !/\.(x|y)$/.test(s) && s !== 'name')) json(`${p} = "bogus"`, withValue(p, 'bogus'));
  for (const v of ['two words', 'a/b', '']) json(`name = ${JSON.stringify(v)}`, withValue('name', v));
  for (const v of ['yes', 1, null] as Json[]) json(`model.batchNorm = ${JSON.stringify(v)}`, withValue('model.batchNorm', v));
  for (const v of ['yes', 0] as Json[]) json(`directions.orthogonal = ${JSON.stringify(v)}`, withValue('directions.orthogonal', v));
  for (const v of ['big', 64, [[8]], ['a']] as Json[]) json(`model.hidden = ${JSON.stringify(v)}`, withValue('model.hidden', v));
  for (const s of SECTIONS) json(`unknown key in ${s || 'top level'}`, withValue(s ? `${s}.colour` : 'colour', 'blue'));
  for (const s of SECTIONS.filter((x) => x && !x.includes('.'))) json(`${s} is a list`, withValue(s, [1, 2]));
  for (const [p, v] of OUT_OF_RANGE) json(`${p} = ${JSON.stringify(v)}`, withValue(p, v));
  for (const p of ['surface.x', 'surface.y', 'hessian.x', 'hessian.y']) for (const a of BAD_AXES) json(`${p} = "${a}"`, withValue(p, a));
  json('a 5000 × 5000 surface grid', withValue('surface', { x: '-1:1:5000', y: '-1:1:5000' }));
  json('a 4000 × 4000 Hessian grid', withValue('hessian', { x: '-1:1:4000', y: '-1:1:4000' }));
  for (const [label, cfg] of MISSING_FILES) json(label, cfg);
  const yaml = (label: string, text: string) => cases.push([label, `${cases.length}.yaml`, text]);
  yaml('YAML: unclosed flow sequence', 'model: [\n');
  yaml('YAML: a list at the top', '- 1\n- 2\n');
  yaml('YAML: a scalar at the top', 'just words\n');
  yaml('YAML: tab indentation', 'data:\n\tsource: spirals\n');
  yaml('YAML: duplicate key', 'name: a\nname: b\n');
  yaml('YAML: infinite epochs', 'train:\n  epochs: .inf\n');
  yaml('YAML: NaN learning rate', 'train:\n  optimizer: { type: sgd, lr: .nan }\n');
  yaml('YAML: 1e999 noise', 'data:\n  source: spirals\n  noise: 1e999\n');
  cases.push(['JSON: truncated', 'trunc.json', JSON.stringify(BASE).slice(0, 40)]);
  cases.push(['JSON: empty file', 'empty.json', '']);
  cases.push(['JSON: trailing comma', 'comma.json', '{"name": "a",}']);
  return cases;
}

describe('malformed configs', () => {
  const cases = configCases();
  beforeAll(() => {
    mkdirSync(file('empty-folder'));
    writeFileSync(file('lonely.npy'), writeNpy({ shape: [10, 2], dtype: 'float32', data: new Float32Array(20) }));
    writeFileSync(file('good-x.npy'), writeNpy({ shape: [10, 2], dtype: 'float32', data: new Float32Array(20) }));
    for (const [, name, text] of cases) writeFileSync(file(name), text);
  });

  it(`at least 200 cases, each one line, a non-zero exit, no stack trace, nothing written`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const failures: string[] = [];
    for (const [label, name] of cases) failures.push(...(await expectOneLineFailure(label, ['run', file(name), '--out', file('out')])));
    failures.push(...(await expectOneLineFailure('config file missing', ['run', file('no-such-config.yaml'), '--out', file('out')])));
    expect(failures).toEqual([]);
  });

  it('the base config itself runs (the cases fail because of their one change)', async () => {
    writeFileSync(file('base.json'), JSON.stringify({ ...BASE, hessian: undefined }));
    const out = mkdtempSync(join(tmpdir(), 'losscape-fuzz-base-'));
    const r = await run(['run', file('base.json'), '--out', join(out, 'run')]);
    expect(r.code, r.stderr).toBe(0);
  });
});

// ---------------------------------------------------------------- corrupted files

const N = 40;

/** Intact input files made from the reference fixture (784 inputs, 10 classes). */
async function writeGoodFiles(dir: string): Promise<void> {
  const d = fixtureData();
  const x = d.x.subarray(0, N * 784);
  const y = Int32Array.from(d.y.subarray(0, N));
  writeFileSync(join(dir, 'model.onnx'), readFileSync(`${FIXTURE}model.onnx`));
  writeFileSync(join(dir, 'directions.h5'), readFileSync(`${FIXTURE}directions.h5`));
  await writeH5(join(dir, 'data.h5'), { X: { data: x, shape: [N, 784] }, y: { data: y } });
  const xNpy = writeNpy({ shape: [N, 784], dtype: 'float32', data: x });
  const yNpy = writeNpy({ shape: [N], dtype: 'int32', data: y });
  writeFileSync(join(dir, 'x.npy'), xNpy);
  writeFileSync(join(dir, 'y.npy'), yNpy);
  writeFileSync(
    join(dir, 'data.npz'),
    writeZip(
      [
        { name: 'x.npy', data: xNpy },
        { name: 'y.npy', data: yNpy },
      ],
      true,
    ),
  );
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), writeIdx({ shape: [N, 28, 28], dtype: 'float32', data: x }));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), writeIdx({ shape: [N], dtype: 'uint8', data: y }));
  const rows = Array.from({ length: N }, (_, i) => [...Array.from(x.subarray(i * 784, (i + 1) * 784), (v) => v.toFixed(4)), y[i]].join(','));
  writeFileSync(join(dir, 'data.csv'), `${rows.join('\n')}\n`);
  const theta = fixtureTheta();
  const shapes: [string, number[]][] = [
    ['fc1.weight', [64, 784]],
    ['fc1.bias', [64]],
    ['fc2.weight', [10, 64]],
    ['fc2.bias', [10]],
  ];
  let o = 0;
  const tensors = shapes.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    o += n;
    return { name, shape, data: theta.slice(o - n, o) };
  });
  writeFileSync(join(dir, 'weights.safetensors'), writeSafetensors(tensors));
}

/** How each kind of file is used: the command line with `path` in its place. */
const USE: Record<string, (dir: string, path: string, out: string) => string[]> = {
  onnx: (dir, p, out) => ['surface', '--model', p, '--data', join(dir, 'data.h5'), '--x', '-1:1:3', '--y', '-1:1:3', '--out', `${out}.h5`],
  data: (dir, p, out) => ['surface', '--model', join(dir, 'model.onnx'), '--data', p, '--x', '-1:1:3', '--y', '-1:1:3', '--out', `${out}.h5`],
  directions: (dir, p, out) => [
    'surface',
    '--model',
    join(dir, 'model.onnx'),
    '--data',
    join(dir, 'data.h5'),
    '--directions',
    p,
    '--x',
    '-1:1:3',
    '--y',
    '-1:1:3',
    '--out',
    `${out}.h5`,
  ],
  weights: (dir, p, out) => ['import', join(dir, 'model.onnx'), '--weights', p, '--no-eval', '--out', out],
};

/** [file, use]: the files a corruption is applied to. A file's partner (labels) stays intact. */
const TARGETS: [string, keyof typeof USE][] = [
  ['model.onnx', 'onnx'],
  ['data.h5', 'data'],
  ['directions.h5', 'directions'],
  ['x.npy', 'data'],
  ['y.npy', 'data'],
  ['data.npz', 'data'],
  ['train-images-idx3-ubyte', 'data'],
  ['train-labels-idx1-ubyte', 'data'],
  ['data.csv', 'data'],
  ['weights.safetensors', 'weights'],
];

/** The file the command names when `target` is corrupted (a labels file is found through its partner). */
const NAMED: Record<string, string> = { 'y.npy': 'x.npy', 'train-labels-idx1-ubyte': 'train-images-idx3-ubyte' };

/** Corruptions of bytes `b`: truncations, and damage to the structure every reader checks. */
function corruptions(name: string, b: Uint8Array): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const keep of [0, 1, 7, 0.1, 0.5, 0.97]) {
    // off any row or record boundary: a CSV cut between rows is a valid, shorter table
    const n = keep < 1 ? Math.min(b.length - 1, Math.floor(b.length * keep) + 3) : keep;
    out.push([`truncated to ${n} bytes`, b.slice(0, n)]);
  }
  const flip = (label: string, at: number, xor: number) => {
    const c = b.slice();
    c[at]! ^= xor;
    out.push([label, c]);
  };
  if (name.endsWith('.csv')) {
    const text = new TextDecoder().decode(b);
    const mid = text.indexOf(',', text.length >> 1);
    out.push(['a number garbled', new TextEncoder().encode(`${text.slice(0, mid - 2)}x${text.slice(mid - 1)}`)]);
    out.push(['a row cut short', new TextEncoder().encode(text.replace(/,[^,\n]*\n/, '\n'))]);
  } else if (name.endsWith('.onnx')) {
    // protobuf has no magic: damage an operator's name and a tensor's name where the graph uses it
    const text = new TextDecoder('latin1').decode(b);
    for (const word of ['Gemm', 'fc2.bias']) {
      const at = text.indexOf(word);
      expect(at).toBeGreaterThan(0);
      flip(`"${word}" damaged`, at + 1, 0x01);
    }
  } else {
    flip('first magic byte flipped', 0, 0x40);
    flip('second magic byte flipped', 1, 0x08);
  }
  if (name.endsWith('.h5')) flip('superblock end-of-file address flipped', 28, 0x20);
  if (name.endsWith('.npy')) flip('header dict damaged', 12, 0x7f);
  if (name.endsWith('.npz')) flip('central directory signature damaged', b.length - 22, 0x01);
  if (name.includes('idx')) flip('data type byte damaged', 2, 0x55);
  if (name.endsWith('.safetensors')) flip('header JSON damaged', 8, 0x5b);
  return out;
}

describe('corrupted input files', () => {
  const good = join(work, 'good');
  beforeAll(async () => {
    mkdirSync(good);
    await writeGoodFiles(good);
  });

  it('the intact files pass the same commands', async () => {
    const out = mkdtempSync(join(tmpdir(), 'losscape-fuzz-ok-'));
    const seen = new Set<string>();
    for (const [name, use] of TARGETS) {
      const named = NAMED[name] ?? name;
      if (seen.has(named)) continue;
      seen.add(named);
      const r = await run(USE[use]!(good, join(good, named), join(out, `${named}.out`)));
      expect(r.code, `${named}: ${r.stderr}`).toBe(0);
    }
  });

  it('at least 50 corruptions of ONNX, HDF5, NPY, NPZ, IDX, CSV and safetensors files: each one line, a non-zero exit, no stack trace, nothing written', async () => {
    const failures: string[] = [];
    let count = 0;
    for (const [name, use] of TARGETS) {
      const bytes = new Uint8Array(readFileSync(join(good, name)));
      for (const [label, bad] of corruptions(name, bytes)) {
        const dir = join(work, `case-${count++}`);
        mkdirSync(dir);
        for (const f of readdirSync(good)) writeFileSync(join(dir, f), f === name ? bad : readFileSync(join(good, f)));
        failures.push(...(await expectOneLineFailure(`${name} ${label}`, USE[use]!(dir, join(dir, NAMED[name] ?? name), join(dir, 'out')))));
      }
    }
    expect(count).toBeGreaterThanOrEqual(50);
    expect(failures).toEqual([]);
  });

  it('a truncated HDF5 file (--data or --directions) is exactly one line, naming the file and the truncation', async () => {
    const dir = join(work, 'truncated-h5');
    mkdirSync(dir);
    for (const f of readdirSync(good)) writeFileSync(join(dir, f), readFileSync(join(good, f)));
    for (const [name, use] of [
      ['data.h5', 'data'],
      ['directions.h5', 'directions'],
    ] as const) {
      const bytes = readFileSync(join(good, name));
      writeFileSync(join(dir, name), bytes.subarray(0, bytes.length >> 1));
      const r = await run(USE[use]!(dir, join(dir, name), join(dir, 'out.h5')));
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `losscape: ${join(dir, name)}: not a readable HDF5 file (truncated file: eof = ${bytes.length >> 1}, sblock->base_addr = 0, stored_eof = ${bytes.length})\n`,
      );
      writeFileSync(join(dir, name), bytes);
    }
  });
});
