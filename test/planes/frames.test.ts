/**
 * `losscape frames`: PNG sequences at up to 4K with a transparent background (alpha 0 around the
 * surface, opaque on it) and the camera following keyframes from a YAML file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cameraAt } from '../../src/viewer/shared/camera-path.js';
import { cli, errorLines, tinyConfig } from '../helpers/cli.js';
import { ensureBuilt } from '../viewer/helpers.js';

/** Decode an 8-bit RGBA PNG (no interlace): width, height and the unfiltered pixels. */
function decodePng(buf: Buffer): { width: number; height: number; colorType: number; rgba: Uint8Array } {
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const colorType = buf[25]!;
  const idat: Buffer[] = [];
  for (let o = 8; o < buf.length; ) {
    const len = buf.readUInt32BE(o);
    if (buf.toString('ascii', o + 4, o + 8) === 'IDAT') idat.push(buf.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = 4;
  const stride = width * bpp;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= bpp ? out[y * stride + x - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp]! : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f]!;
      out[y * stride + x] = (v + pred) & 255;
    }
  }
  return { width, height, colorType, rgba: out };
}

let root: string;
let run: string;

beforeAll(() => {
  ensureBuilt({ cli: true });
  root = mkdtempSync(join(tmpdir(), 'losscape-frames-'));
  run = join(root, 'run');
  writeFileSync(join(root, 'tiny.json'), JSON.stringify(tinyConfig()));
  const r = cli(['run', join(root, 'tiny.json'), '--out', run, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('losscape frames', () => {
  it('camera keyframes interpolate linearly in azimuth, elevation and distance', () => {
    const keys = [
      { t: 0, azimuth: 0, elevation: 0, distance: 2 },
      { t: 2, azimuth: 90, elevation: 0, distance: 4 },
    ];
    const p = cameraAt(keys, 1);
    const r = 3; // distance halfway
    expect(p.position[0]).toBeCloseTo(r * Math.sin(Math.PI / 4), 12);
    expect(p.position[1]).toBeCloseTo(0.1, 12);
    expect(p.position[2]).toBeCloseTo(r * Math.cos(Math.PI / 4), 12);
    expect(cameraAt(keys, 5).position[0]).toBeCloseTo(4, 12); // held after the last key
  });

  it('transparent PNGs along a camera path: alpha 0 around the surface, opaque on it; the camera moves', () => {
    writeFileSync(
      join(root, 'cam.yaml'),
      'camera:\n  - { t: 0, azimuth: 0, elevation: 35, distance: 4 }\n  - { t: 2, azimuth: 120, elevation: 15, distance: 3 }\n',
    );
    const out = join(root, 'seq');
    const r = cli([
      'frames',
      run,
      '--out',
      out,
      '--width',
      '320',
      '--height',
      '180',
      '--fps',
      '2',
      '--duration',
      '1.5',
      '--transparent',
      '--camera',
      join(root, 'cam.yaml'),
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toEqual(['frame-00000.png', 'frame-00001.png', 'frame-00002.png']);
    const pngs = files.map((f) => decodePng(readFileSync(join(out, f))));
    for (const p of pngs) {
      expect([p.width, p.height, p.colorType]).toEqual([320, 180, 6]);
      const alpha = p.rgba.filter((_, i) => i % 4 === 3);
      expect(alpha[0]).toBe(0); // a corner: background
      const opaque = alpha.filter((a) => a === 255).length / alpha.length;
      expect(opaque).toBeGreaterThan(0.05);
      expect(opaque).toBeLessThan(0.9);
    }
    let changed = 0;
    for (let i = 3; i < pngs[0]!.rgba.length; i += 4) if (pngs[0]!.rgba[i] !== pngs[2]!.rgba[i]) changed++;
    expect(changed).toBeGreaterThan(1000);
  });

  it('4K frames (3840×2160)', () => {
    const out = join(root, 'uhd');
    const r = cli(['frames', run, '--out', out, '--width', '3840', '--height', '2160', '--fps', '1', '--duration', '1', '--transparent', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const png = readFileSync(join(out, 'frame-00000.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[25]]).toEqual([3840, 2160, 6]);
  });

  it('a bad camera file is one line per mistake', () => {
    writeFileSync(join(root, 'bad.yaml'), 'camera:\n  - { t: 0, elevation: 120 }\n');
    const r = cli(['frames', run, '--out', join(root, 'x'), '--camera', join(root, 'bad.yaml')]);
    expect(r.code).not.toBe(0);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toContain('camera.0.elevation');
  });
});
