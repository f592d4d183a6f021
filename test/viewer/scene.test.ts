import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colormap } from '../../src/core/colormap.js';
import { contourSegments } from '../../src/core/contour.js';
import { bilinear, decodeRun, framePos, makeScale, sampleChannel, spreadAt, transform, uncertifiedPoints } from '../../src/viewer/app/data.js';
import { DecodedScene } from '../../src/viewer/app/decoded-scene.js';
import { DEFAULT_VIEW, type Layer, type ScaleMode } from '../../src/viewer/app/state.js';
import { decodeFloats, loadScene } from '../../src/viewer/server/scene.js';
import { bowl, makeRun } from './fixture.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'losscape-viewer-scene-'));
  await makeRun(join(dir, 'bowl'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The browser decodes with atob; the test runs in Node, which has atob too.
describe('loadScene', () => {
  it('turns a run folder into frames, Hessian maps, history and the PCA path', async () => {
    const s = await loadScene(join(dir, 'bowl'));
    expect(s.format).toBe('losscape-scene/1');
    const r = s.runs[0]!;
    expect(r.error).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(r.name).toBe('bowl');
    expect(r.frames.map((f) => [f.checkpoint, f.step, f.epoch])).toEqual([
      [0, 0, 0],
      [1, 100, 1],
      [2, 200, 2],
    ]);
    const f1 = r.frames[1]!;
    expect([f1.surface.x.n, f1.surface.y.n]).toEqual([21, 17]);
    const loss = decodeFloats(f1.surface.channels.train_loss!);
    expect(loss.length).toBe(21 * 17);
    // element [i, j] = (x[j], y[i]): check a corner and an interior point
    expect(loss[0]).toBeCloseTo(bowl(1)(-1, -0.8), 5);
    expect(loss[5 * 21 + 7]).toBeCloseTo(bowl(1)(-1 + 0.1 * 7, -0.8 + 0.1 * 5), 5);
    expect([f1.hessian!.x.n, f1.hessian!.y.n]).toEqual([11, 9]);
    expect(Object.keys(f1.hessian!.channels).sort()).toEqual(['certified', 'eig_ratio', 'max_eig', 'min_eig']);
    expect(r.history.length).toBe(9);
    expect(r.checkpoints.length).toBe(3);
    expect(r.pca!.path).toEqual([
      [-1.5, 0.6],
      [-0.75, 0.15],
      [0, 0],
    ]);
    expect(r.pca!.explained).toEqual([0.72, 0.18]);
    expect(r.pca!.surface!.x.n).toBe(26);
  });

  it('reports missing and corrupt runs as messages, not exceptions', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'json'), { recursive: true });
    writeFileSync(join(bad, 'json', 'manifest.json'), '{"frames": [');
    mkdirSync(join(bad, 'h5', 'surfaces'), { recursive: true });
    writeFileSync(join(bad, 'h5', 'surfaces', 'a.h5'), 'not hdf5 at all');
    writeFileSync(join(bad, 'h5', 'manifest.json'), JSON.stringify({ name: 'h5', frames: [{ checkpoint: 0, surface: 'surfaces/a.h5' }] }));
    mkdirSync(join(bad, 'empty'), { recursive: true });
    writeFileSync(join(bad, 'empty', 'manifest.json'), JSON.stringify({ name: 'empty', frames: [{ checkpoint: 0 }] }));
    mkdirSync(join(bad, 'escape'), { recursive: true });
    writeFileSync(
      join(bad, 'escape', 'manifest.json'),
      JSON.stringify({ name: 'escape', frames: [{ checkpoint: 0, surface: '../bowl/surfaces/ckpt-0000.h5' }] }),
    );
    mkdirSync(join(bad, 'nomanifest'), { recursive: true });

    const s = await loadScene(['nope/does-not-exist', ...['json', 'h5', 'empty', 'escape', 'nomanifest'].map((d) => join(bad, d))]);
    const errs = s.runs.map((r) => r.error);
    expect(errs[0]).toMatch(/^Run not found: nope\/does-not-exist/);
    expect(errs[1]).toMatch(/manifest\.json is not valid JSON/);
    expect(errs[2]).toMatch(/surfaces\/a\.h5: not an HDF5 file/);
    expect(errs[3]).toMatch(/empty has no surfaces yet/);
    expect(errs[4]).toMatch(/must stay inside the run folder/);
    expect(errs[5]).toMatch(/manifest\.json is missing/);
  });
});

describe('viewer data', () => {
  it('colormaps run from dark to bright with the documented end points', () => {
    const v = colormap('viridis');
    expect([...v.srgb.slice(0, 3)]).toEqual([0x44, 0x01, 0x54]);
    expect([...v.srgb.slice(255 * 3)]).toEqual([0xfd, 0xe7, 0x25]);
    const m = colormap('magma');
    const lum = (i: number) => m.srgb[i * 3]! + m.srgb[i * 3 + 1]! + m.srgb[i * 3 + 2]!;
    for (let i = 16; i < 256; i += 16) expect(lum(i)).toBeGreaterThan(lum(i - 16));
    expect(colormap('no-such').name).toBe('no-such'); // falls back to viridis stops
    expect([...colormap('no-such').srgb.slice(0, 3)]).toEqual([0x44, 0x01, 0x54]);
  });

  it('marching squares puts the contour of a cone where it belongs', () => {
    const n = 41;
    const v = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = Math.hypot(i - 20, j - 20);
    const seg = contourSegments(v, n, n, 10);
    expect(seg.length).toBeGreaterThan(4 * 40);
    for (let q = 0; q < seg.length; q += 2) expect(Math.hypot(seg[q]! - 20, seg[q + 1]! - 20)).toBeCloseTo(10, 0);
    // NaN cells are skipped
    v[20 * n + 30] = Number.NaN;
    expect(contourSegments(v, n, n, 10).length).toBeLessThan(seg.length);
  });

  it('log scale shifts only when values reach zero; frames interpolate smoothly', async () => {
    const pos = makeScale([{ channels: { train_loss: new Float32Array([0.5, 2, 8]) } } as never], 'train_loss', true);
    expect(pos.shift).toBe(0);
    expect(pos.lo).toBeCloseTo(Math.log(0.5));
    const zero = makeScale([{ channels: { train_loss: new Float32Array([-1, 0, 3]) } } as never], 'train_loss', true);
    expect(zero.shift).toBeGreaterThan(1);
    expect(Number.isFinite(transform(zero, -1))).toBe(true);

    expect(framePos(3, 0)).toEqual({ a: 0, b: 0, w: 0 });
    expect(framePos(3, 2)).toEqual({ a: 2, b: 2, w: 0 });
    expect(framePos(3, 1.5)).toEqual({ a: 1, b: 2, w: 0.5 });
    expect(framePos(3, 1.25).w).toBeLessThan(0.25); // eased

    const s = await loadScene(join(dir, 'bowl'));
    const run = decodeRun(s.runs[0]!);
    const a = sampleChannel(run, 1, 'train_loss', null)!.values;
    const b = sampleChannel(run, 2, 'train_loss', null)!.values;
    const mid = sampleChannel(run, 1.5, 'train_loss', null)!.values;
    expect(mid[100]).toBeCloseTo((a[100]! + b[100]!) / 2, 5);

    // the uncertified points of the nearer frame's Hessian map, as (α, β)
    const round = (ps: [number, number][]) => ps.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]);
    expect(round(uncertifiedPoints(run, 1))).toEqual([
      [0.6, 0],
      [-0.4, 0.4],
    ]);
    expect(round(uncertifiedPoints(run, 1.3))).toHaveLength(2);
    expect(uncertifiedPoints(run, 0)).toEqual([]);
    expect(uncertifiedPoints(run, 1.7)).toEqual([]);
    expect(spreadAt(run, 1)).toBeUndefined();
  });

  it('subset error bars: the range over the other subsets along the centre row and column', async () => {
    await makeRun(join(dir, 'spread'), { spread: true });
    const s = await loadScene(join(dir, 'spread'));
    expect(s.runs[0]!.warnings).toEqual([]);
    const run = decodeRun(s.runs[0]!);
    const sp = spreadAt(run, 1)!;
    expect(sp).toMatchObject({ k: 3, rowY: 0, colX: 0 });
    expect(sp.row.lo).toHaveLength(21);
    expect(sp.col!.hi).toHaveLength(17);
    // the fixture's subsets are the bowl offset by −0.05, 0, +0.05: min and max are the outer ones
    expect(sp.row.lo[3]).toBeCloseTo(bowl(1)(-1 + 0.1 * 3, 0) - 0.05, 5);
    expect(sp.row.hi[3]).toBeCloseTo(bowl(1)(-1 + 0.1 * 3, 0) + 0.05, 5);
    expect(sp.col!.hi[2]).toBeCloseTo(bowl(1)(0, -0.8 + 0.1 * 2) + 0.05, 5);

    // bilinear on the coarse Hessian grid reproduces a plane exactly
    const f = { x: { min: -1, max: 1, n: 3 }, y: { min: 0, max: 1, n: 2 }, nx: 3, ny: 2 };
    const plane = [0, 1, 2, 10, 11, 12]; // v = x + 1 + 10 y
    expect(bilinear(f, plane, 0.5, 0.25)).toBeCloseTo(1.5 + 2.5);
    expect(Number.isNaN(bilinear(f, plane, 2, 0))).toBe(true);
  });

  it("scale modes: global is one range; frame fills the box; track is each checkpoint's range, blended, and always covers what is drawn", async () => {
    const scene = new DecodedScene(await loadScene(join(dir, 'bowl')));
    const view = (t: number, scale: ScaleMode, layer: Layer = 'loss') => ({ ...DEFAULT_VIEW, t, scale, layer });
    const range = (l: { heights: Float32Array }) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of l.heights) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      return [lo, hi];
    };
    const global0 = scene.look(0, view(0, 'global'))!;
    const global2 = scene.look(0, view(2, 'global'))!;
    expect([global0.lo, global0.cap]).toEqual([global2.lo, global2.cap]);
    expect(global0.rangeNote).toBe('range of the whole run');
    for (const t of [0, 0.3, 1, 1.5, 2]) {
      const fr = scene.look(0, view(t, 'frame'))!;
      const tr = scene.look(0, view(t, 'track'))!;
      const [lo, hi] = range(fr);
      expect(fr.lo).toBeCloseTo(lo, 6);
      expect(fr.cap).toBeCloseTo(hi, 6);
      // track: never narrower than what is drawn, equal to the frame's range on checkpoints
      expect(tr.lo).toBeLessThanOrEqual(lo + 1e-6);
      expect(tr.cap).toBeGreaterThanOrEqual(hi - 1e-6);
      if (Number.isInteger(t)) expect([tr.lo, tr.cap].map((v) => v.toFixed(5))).toEqual([fr.lo, fr.cap].map((v) => v.toFixed(5)));
      // colour bars show exactly the range in use
      expect([tr.colorLo, tr.colorHi]).toEqual([tr.lo, tr.cap]);
    }
    // track moves between the checkpoints' ranges with the timeline's easing
    const [c1, c2, mid] = [1, 2, 1.5].map((t) => scene.look(0, view(t, 'track'))!);
    expect(mid!.lo).toBeCloseTo((c1!.lo + c2!.lo) / 2, 5);
    expect(mid!.cap).toBeCloseTo((c1!.cap + c2!.cap) / 2, 5);
    // the Hessian layer: the whole run's largest ratio, or this frame's, and the range is named
    const hg = scene.look(0, view(2, 'global', 'hessian'))!;
    const hf = scene.look(0, view(2, 'frame', 'hessian'))!;
    let maxFrame = 0;
    for (const v of hf.colors) if (Number.isFinite(v)) maxFrame = Math.max(maxFrame, v);
    expect(hf.colorHi).toBeCloseTo(maxFrame, 6);
    expect(hg.colorHi).toBeGreaterThanOrEqual(hf.colorHi);
    expect(hf.rangeNote).toBe('range of this frame');
  });
});
