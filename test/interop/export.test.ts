import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mesh } from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { describe, expect, it } from 'vitest';
import { coordinates, type Grid } from '../../src/core/grid.js';
import { exportSurfaces, parseGlb, readSurfaceFrames, surfacesToCsv, surfacesToGlb, surfaceToPly, surfaceToVtp } from '../../src/export/index.js';
import { emptyGridFile, writeGridFile } from '../../src/jobs/grid-file.js';
import { type Manifest, RunStore } from '../../src/store/run-store.js';
import { FIXTURE, fixtureSurface } from '../helpers/fixture.js';
import { find, numbers, parseXml, type XmlNode } from './xml.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'losscape-export-'));

/** A non-square surface file: loss = 1 + x² + 2y² (+ shift), acc = 50 + 10x; `holes` points left uncomputed. */
async function knownSurface(path: string, grid: Grid, shift = 0, holes: number[] = []) {
  const xs = coordinates(grid.x);
  const ys = grid.y ? coordinates(grid.y) : new Float64Array([0]);
  const gf = emptyGridFile(grid, ['train_loss', 'train_acc'], { dir_file: 'd.h5' });
  for (let i = 0; i < ys.length; i++) {
    for (let j = 0; j < xs.length; j++) {
      const k = i * xs.length + j;
      if (holes.includes(k)) continue;
      gf.values.train_loss![k] = 1 + xs[j]! ** 2 + 2 * ys[i]! ** 2 + shift;
      gf.values.train_acc![k] = 50 + 10 * xs[j]!;
      gf.done[k] = 1;
    }
  }
  await writeGridFile(path, gf);
}

async function fakeRun(dir: string, frames: number): Promise<void> {
  const store = new RunStore(dir);
  store.ensureDirs();
  const grid: Grid = { x: { min: -1, max: 1, n: 5 }, y: { min: -1, max: 1, n: 4 } };
  const m = {
    format: 'losscape-run/1',
    name: 'fake',
    created: '2026-01-01T00:00:00.000Z',
    updated: '',
    status: 'complete',
    versions: {},
    config: {},
    configHash: 'x',
    model: { name: 'm', params: 1, layout: [] },
    data: { name: 'd', train: 1, test: 0, inputShape: [1], classes: 2, task: 'classification', subset: { seed: 0, size: 1, indices: [0] } },
    history: [],
    checkpoints: Array.from({ length: frames }, (_, k) => ({ index: k, step: 10 * k, epoch: k, train_loss: 1, train_acc: 50 })),
    frames: Array.from({ length: frames }, (_, k) => ({ checkpoint: k, surface: `surfaces/ckpt-000${k}.h5` })),
    timings: {},
  } as unknown as Manifest;
  for (let k = 0; k < frames; k++) await knownSurface(store.path(`surfaces/ckpt-000${k}.h5`), grid, k);
  store.writeManifest(m);
}

function dataArrays(piece: XmlNode, section: string): Record<string, number[]> {
  return Object.fromEntries(find(piece, [section, 'DataArray']).map((d) => [d.attrs.Name!, numbers(d)]));
}

describe('VTK PolyData (.vtp) for ParaView', () => {
  it('the fixture surface: well-formed XML, NumberOfPoints = nx·ny, quads, zvalue / train_loss / train_acc arrays', async () => {
    const [f] = await readSurfaceFrames(`${FIXTURE}surface.h5`);
    const xml = surfaceToVtp(f!);
    const root = parseXml(xml);
    expect([root.name, root.attrs.type]).toEqual(['VTKFile', 'PolyData']);
    const piece = find(root, ['PolyData', 'Piece'])[0]!;
    expect(piece.attrs.NumberOfPoints).toBe('441');
    expect(piece.attrs.NumberOfPolys).toBe('400');
    const pd = dataArrays(piece, 'PointData');
    expect(Object.keys(pd)).toEqual(['zvalue', 'train_loss', 'train_acc', 'valid']);
    const ref = fixtureSurface();
    const flat = ref.loss.flat();
    expect(pd.zvalue!.length).toBe(441);
    pd.zvalue!.forEach((v, k) => expect(v).toBeCloseTo(Math.fround(flat[k]!), 6));
    expect(pd.train_acc![0]).toBeCloseTo(ref.acc[0]![0]!, 4);
    const pts = dataArrays(piece, 'Points').Points!;
    expect(pts.length).toBe(3 * 441);
    // point k = (x[j], y[i], loss[i][j]) with k = i·21 + j
    expect([pts[3 * 22], pts[3 * 22 + 1]]).toEqual([Math.fround(ref.x[1]!), Math.fround(ref.y[1]!)]);
    const polys = dataArrays(piece, 'Polys');
    expect(polys.connectivity!.length).toBe(1600);
    expect(polys.offsets!.at(-1)).toBe(1600);
    expect(polys.connectivity!.slice(0, 4)).toEqual([0, 1, 22, 21]);
    expect(dataArrays(piece, 'CellData')['averaged zvalue']!.length).toBe(400);
  });

  it('--log (ln(z + 0.1) after clipping, like the reference), --clip, triangles, holes, 1-D lines', async () => {
    const dir = tmp();
    const p = join(dir, 's.h5');
    await knownSurface(p, { x: { min: -1, max: 1, n: 4 }, y: { min: 0, max: 1, n: 3 } }, 0, [5]);
    const [f] = await readSurfaceFrames(p);
    const piece = find(parseXml(surfaceToVtp(f!, { log: true, clip: 2, triangles: true })), ['PolyData', 'Piece'])[0]!;
    expect(piece.attrs.NumberOfPoints).toBe('12');
    // 3×2 cells, the hole at point 5 (i = 1, j = 1) removes 4 of them → 2 quads → 4 triangles
    expect(piece.attrs.NumberOfPolys).toBe('4');
    const pd = dataArrays(piece, 'PointData');
    const loss = f!.values.train_loss!;
    for (let k = 0; k < 12; k++) {
      if (k === 5) {
        expect(pd.valid![k]).toBe(0);
        expect(pd.train_loss![k]).toBeNaN();
      } else expect(pd.zvalue![k]).toBeCloseTo(Math.log(Math.min(loss[k]!, 2) + 0.1), 5);
    }
    expect(dataArrays(piece, 'Polys').offsets).toEqual([3, 6, 9, 12]);

    const q = join(dir, 'line.h5');
    await knownSurface(q, { x: { min: -1, max: 1, n: 7 } });
    const [l] = await readSurfaceFrames(q);
    const lp = find(parseXml(surfaceToVtp(l!)), ['PolyData', 'Piece'])[0]!;
    expect([lp.attrs.NumberOfPoints, lp.attrs.NumberOfLines, lp.attrs.NumberOfPolys]).toEqual(['7', '1', '0']);
    expect(dataArrays(lp, 'Lines').connectivity).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('python xml.etree agrees that the file is well-formed (when /usr/bin/python3 exists)', async (ctx) => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import xml.etree.ElementTree'], { encoding: 'utf8' });
    if (probe.status !== 0) ctx.skip();
    const dir = tmp();
    const out = join(dir, 's.vtp');
    await exportSurfaces(`${FIXTURE}surface.h5`, { format: 'vtp', out, log: true });
    const r = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys, xml.etree.ElementTree as E; p = E.parse(sys.argv[1]).getroot().find("PolyData/Piece"); print(p.get("NumberOfPoints"), len(p.find("Points/DataArray").text.split()))',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('441 1323');
  });
});

describe('glTF binary (.glb)', () => {
  async function frames(n: number) {
    const dir = tmp();
    await fakeRun(dir, n);
    return readSurfaceFrames(dir, { all: true });
  }

  it('container, accessor bounds and counts, normals and colours are valid', async () => {
    const fs = await frames(1);
    const glb = surfacesToGlb(fs, { log: true });
    const { json, bin } = parseGlb(glb);
    const j = json as any;
    expect(j.asset.version).toBe('2.0');
    expect(j.buffers).toEqual([{ byteLength: bin.length }]);
    for (const v of j.bufferViews) expect(v.byteOffset + v.byteLength).toBeLessThanOrEqual(bin.length);
    const read = (a: number) => {
      const acc = j.accessors[a];
      const v = j.bufferViews[acc.bufferView];
      const comps = acc.type === 'VEC3' ? 3 : 1;
      const n = acc.count * comps;
      const buf = bin.slice(v.byteOffset + (acc.byteOffset ?? 0), v.byteOffset + (acc.byteOffset ?? 0) + 4 * n);
      const data = acc.componentType === 5126 ? new Float32Array(buf.buffer) : new Uint32Array(buf.buffer);
      if (acc.min) {
        for (let c = 0; c < comps; c++) {
          let lo = Infinity;
          let hi = -Infinity;
          for (let i = c; i < n; i += comps) (lo = Math.min(lo, data[i]!)), (hi = Math.max(hi, data[i]!));
          expect([lo, hi]).toEqual([acc.min[c], acc.max[c]]);
        }
      }
      return { acc, data };
    };
    const prim = j.meshes[0].primitives[0];
    expect(prim.mode).toBe(4);
    expect(Object.keys(prim.attributes)).toEqual(['POSITION', 'NORMAL', 'COLOR_0', '_TRAIN_LOSS', '_TRAIN_ACC', '_VALID']);
    const pos = read(prim.attributes.POSITION);
    expect(pos.acc.count).toBe(20);
    expect(pos.acc.min).toEqual([-1, Math.fround(Math.log(1 + 2 / 9 + 0.1)), -1]); // lowest point (0, ±1/3)
    const nrm = read(prim.attributes.NORMAL);
    for (let k = 0; k < 20; k++) {
      expect(Math.hypot(nrm.data[3 * k]!, nrm.data[3 * k + 1]!, nrm.data[3 * k + 2]!)).toBeCloseTo(1, 5);
      expect(nrm.data[3 * k + 1]).toBeGreaterThan(0);
    }
    const col = read(prim.attributes.COLOR_0);
    expect(col.data.every((c) => c >= 0 && c <= 1)).toBe(true);
    const idx = read(prim.indices);
    expect(idx.acc.count).toBe(4 * 3 * 6);
    expect(Math.max(...idx.data)).toBeLessThan(20);
    // triangles face up (+y) in glTF's y-up frame
    const p = pos.data;
    for (let t = 0; t < idx.data.length; t += 3) {
      const [a, b, c] = [idx.data[t]!, idx.data[t + 1]!, idx.data[t + 2]!];
      const u = [p[3 * b]! - p[3 * a]!, p[3 * b + 1]! - p[3 * a + 1]!, p[3 * b + 2]! - p[3 * a + 2]!];
      const w = [p[3 * c]! - p[3 * a]!, p[3 * c + 1]! - p[3 * a + 1]!, p[3 * c + 2]! - p[3 * a + 2]!];
      expect(u[2]! * w[0]! - u[0]! * w[2]!).toBeGreaterThan(0);
    }
    const loss = read(prim.attributes._TRAIN_LOSS);
    expect(loss.data[0]).toBeCloseTo(fs[0]!.values.train_loss![0]!, 5);
  });

  it("loads in three's GLTFLoader (Node, parse on the ArrayBuffer); several frames animate by scale", async () => {
    const fs = await frames(3);
    const glb = surfacesToGlb(fs);
    const gltf = await new Promise<any>((res, rej) =>
      new GLTFLoader().parse(glb.buffer.slice(glb.byteOffset, glb.byteOffset + glb.byteLength) as ArrayBuffer, '', res, rej),
    );
    const meshes: Mesh[] = [];
    gltf.scene.traverse((o: any) => o.isMesh && meshes.push(o));
    expect(meshes.map((m) => m.name)).toEqual(['ckpt-0000', 'ckpt-0001', 'ckpt-0002']);
    const g = meshes[1]!.geometry;
    expect(g.getAttribute('position').count).toBe(20);
    expect(g.getAttribute('normal').count).toBe(20);
    expect(g.getAttribute('color').itemSize).toBe(3);
    expect(g.getAttribute('_train_loss').count).toBe(20);
    expect(g.index!.count).toBe(72);
    expect(gltf.animations).toHaveLength(1);
    expect(gltf.animations[0].tracks).toHaveLength(3);
    expect(gltf.scene.children[0].userData.checkpoint).toBe(0);
    expect(gltf.scene.children[2].userData.step).toBe(20);
    // frame k's surface sits k higher (knownSurface shift); lowest grid point (0, ±1/3)
    g.computeBoundingBox();
    expect(g.boundingBox!.min.y).toBeCloseTo(1 + 1 + 2 / 9, 5);
  });
});

describe('PLY and CSV', () => {
  it('PLY ASCII and binary little-endian: header, vertex colours, faces', async () => {
    const dir = tmp();
    const p = join(dir, 's.h5');
    await knownSurface(p, { x: { min: -1, max: 1, n: 4 }, y: { min: 0, max: 1, n: 3 } });
    const [f] = await readSurfaceFrames(p);
    const ascii = new TextDecoder().decode(surfaceToPly(f!));
    const [head, body] = ascii.split('end_header\n') as [string, string];
    expect(head).toMatch(/^ply\nformat ascii 1\.0\n/);
    expect(head).toContain('element vertex 12\n');
    expect(head).toContain('element face 12\n');
    expect(head).toContain('property uchar red\n');
    const lines = body.trim().split('\n');
    expect(lines).toHaveLength(24);
    const v0 = lines[0]!.split(' ').map(Number);
    expect(v0.slice(0, 3)).toEqual([-1, 0, 2]);
    const v1 = lines[1]!.split(' ').map(Number);
    expect(v1.slice(0, 3)).toEqual([Math.fround(-1 / 3), 0, Math.fround(1 + 1 / 9)]);
    expect(v1.slice(3, 6)).toEqual([68, 1, 84]); // the lowest height gets viridis' first colour
    const v11 = lines[11]!.split(' ').map(Number);
    expect(v11.slice(0, 6)).toEqual([1, 1, 4, 253, 231, 37]); // the highest point gets its last colour
    expect(lines[12]).toBe('3 0 1 5');
    const bin = surfaceToPly(f!, { binary: true });
    const text = new TextDecoder('latin1').decode(bin);
    const hlen = text.indexOf('end_header\n') + 'end_header\n'.length;
    expect(text.slice(0, hlen)).toContain('format binary_little_endian 1.0');
    expect(bin.length - hlen).toBe(12 * (12 + 3 + 8 + 1) + 12 * (1 + 12));
    const dv = new DataView(bin.buffer, bin.byteOffset + hlen);
    expect([dv.getFloat32(0, true), dv.getFloat32(4, true), dv.getFloat32(8, true)]).toEqual([-1, 0, 2]);
  });

  it('CSV of one surface and of all frames of a run', async () => {
    const [f] = await readSurfaceFrames(`${FIXTURE}surface.h5`);
    const rows = surfacesToCsv([f!]).trim().split('\n');
    expect(rows[0]).toBe('x,y,train_loss,train_acc,computed');
    expect(rows).toHaveLength(442);
    const r = rows[1]!.split(',').map(Number);
    const ref = fixtureSurface();
    expect(r).toEqual([-1, -1, ref.loss[0]![0], ref.acc[0]![0], 1]);
    const dir = tmp();
    await fakeRun(dir, 2);
    const all = surfacesToCsv(await readSurfaceFrames(dir, { all: true }))
      .trim()
      .split('\n');
    expect(all[0]).toBe('checkpoint,step,epoch,x,y,train_loss,train_acc,computed');
    expect(all).toHaveLength(1 + 2 * 20);
    expect(all[21]!.startsWith('1,10,1,-1,-1,')).toBe(true);
  });
});

describe('exportSurfaces on a run folder', () => {
  it('--all: one .vtp per frame plus a .pvd series, one animated .glb, per-frame .ply, one .csv; --frame picks one', async () => {
    const run = tmp();
    await fakeRun(run, 3);
    const out = tmp();
    const vtp = await exportSurfaces(run, { format: 'vtp', out: join(out, 'land.vtp'), all: true });
    expect(vtp.map((p) => p.replace(`${out}/`, ''))).toEqual(['land-ckpt-0000.vtp', 'land-ckpt-0001.vtp', 'land-ckpt-0002.vtp', 'land.pvd']);
    const pvd = parseXml(readFileSync(join(out, 'land.pvd'), 'utf8'));
    expect(find(pvd, ['Collection', 'DataSet']).map((d) => [d.attrs.timestep, d.attrs.file])).toEqual([
      ['0', 'land-ckpt-0000.vtp'],
      ['1', 'land-ckpt-0001.vtp'],
      ['2', 'land-ckpt-0002.vtp'],
    ]);
    const glb = await exportSurfaces(run, { format: 'glb', out: join(out, 'movie.glb'), all: true });
    expect((parseGlb(readFileSync(glb[0]!)).json as any).meshes).toHaveLength(3);
    const perFrame = await exportSurfaces(run, { format: 'glb', out: join(out, 'f{k}.glb'), all: true, perFrame: true });
    expect(perFrame.map((p) => p.replace(`${out}/`, ''))).toEqual(['f0.glb', 'f1.glb', 'f2.glb']);
    mkdirSync(join(out, 'ply'));
    await exportSurfaces(run, { format: 'ply', out: join(out, 'ply', 's.ply'), all: true, binary: true });
    expect(readdirSync(join(out, 'ply')).sort()).toEqual(['s-ckpt-0000.ply', 's-ckpt-0001.ply', 's-ckpt-0002.ply']);
    const one = await exportSurfaces(run, { format: 'csv', out: join(out, 'one.csv'), frame: 1 });
    expect(readFileSync(one[0]!, 'utf8').split('\n')[1]).toBe(`-1,-1,${1 + 1 + 2 + 1},40,1`);
    const last = await readSurfaceFrames(run);
    expect(last.map((f) => f.checkpoint)).toEqual([2]);
    await expect(readSurfaceFrames(run, { frame: 7 })).rejects.toThrow(/no surface for checkpoint 7 \(frames: 0, 1, 2\)$/);
    await expect(readSurfaceFrames(`${FIXTURE}surface.h5`, { all: true })).rejects.toThrow(/select frames of a run folder/);
  });
});
