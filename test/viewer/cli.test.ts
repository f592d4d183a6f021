/** The built CLI (dist/, via bin/losscape.js): video, snapshot, report, and their errors. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRun } from './fixture.js';
import { ensureBuilt, ROOT } from './helpers.js';

const run = promisify(execFile);
let dir: string;

async function losscape(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [join(ROOT, 'bin/losscape.js'), ...args], { cwd: dir, timeout: 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  ensureBuilt({ cli: true });
  dir = mkdtempSync(join(tmpdir(), 'losscape-viewer-cli-'));
  await makeRun(join(dir, 'run'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('losscape video / snapshot / report', () => {
  it('video writes a playable H.264 MP4 of the requested size and length', async () => {
    const r = await losscape('video', 'run', '--out', 'movie.mp4', '--width', '320', '--height', '240', '--fps', '10', '--duration', '2', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('video: movie.mp4');
    const probe = await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_frames',
      '-show_entries',
      'stream=codec_name,width,height,nb_frames,nb_read_frames,avg_frame_rate:format=duration,format_name',
      '-of',
      'json',
      join(dir, 'movie.mp4'),
    ]);
    const info = JSON.parse(probe.stdout);
    const s = info.streams[0];
    expect(s.codec_name).toBe('h264');
    expect([s.width, s.height]).toEqual([320, 240]);
    expect(Number(s.nb_frames)).toBe(20); // fps × duration
    expect(Number(s.nb_read_frames)).toBe(20); // every frame decodes
    expect(s.avg_frame_rate).toBe('10/1');
    expect(Number(info.format.duration)).toBeCloseTo(2, 2);
    expect(info.format.format_name).toContain('mp4');
  });

  it('snapshot writes a PNG of the requested size; bad input is one line and a non-zero exit', async () => {
    const r = await losscape('snapshot', 'run', '--frame', '1', '--out', 'shot.png', '--width', '400', '--height', '300');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('snapshot: shot.png');
    const png = readFileSync(join(dir, 'shot.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([400, 300]);
    expect(png.length).toBeGreaterThan(20_000); // a picture, not an empty canvas

    const missing = await losscape('snapshot', 'nowhere', '--out', 'x.png');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('Run not found: nowhere');
    expect(existsSync(join(dir, 'x.png'))).toBe(false);

    const range = await losscape('snapshot', 'run', '--frame', '7');
    expect(range.code).not.toBe(0);
    expect(range.stderr).toContain('--frame 7 is out of range: the run has frames 0 to 2');

    const odd = await losscape('video', 'run', '--width', '321');
    expect(odd.code).not.toBe(0);
    expect(odd.stderr.trim()).toBe('losscape: --width must be even for video encoding, got 321');
  });

  it('report writes one self-contained HTML file', async () => {
    const r = await losscape('report', 'run', '--out', 'out/report.html');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^report: out\/report\.html \(\d+\.\d MB\)/);
    const html = readFileSync(join(dir, 'out/report.html'), 'utf8');
    expect(html).toContain('id="losscape-scene"');
    expect(/<script[^>]+src=/.test(html)).toBe(false);
  });
});
