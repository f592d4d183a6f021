/** The built CLI (dist/, via bin/losscape.js): video, snapshot, report, and their errors. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRun } from './fixture.js';
import { ensureBuilt, ROOT } from './helpers.js';

const run = promisify(execFile);
let dir: string;

async function losscape(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return losscapeIn(dir, ...args);
}

async function losscapeIn(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [join(ROOT, 'bin/losscape.js'), ...args], { cwd, timeout: 240_000 });
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

  it('video frames are the snapshots of the same frames, encoded at the default bitrate without visible loss', async () => {
    const r = await losscape(
      'video',
      'run',
      '--out',
      'still.mp4',
      '--width',
      '320',
      '--height',
      '240',
      '--fps',
      '10',
      '--duration',
      '1',
      '--camera',
      'fixed',
      '--scale',
      'global',
      '--quiet',
    );
    expect(r.code).toBe(0);
    const s = await losscape('snapshot', 'run', '--frame', '2', '--width', '320', '--height', '240', '--out', 'last.png');
    expect(s.code).toBe(0);
    // the last of the 10 video frames is checkpoint 2, the snapshot's frame
    await run('ffmpeg', ['-v', 'error', '-y', '-i', join(dir, 'still.mp4'), '-vf', 'select=eq(n\\,9)', '-vframes', '1', join(dir, 'decoded.png')]);
    const cmp = await run('ffmpeg', ['-i', join(dir, 'last.png'), '-i', join(dir, 'decoded.png'), '-lavfi', 'psnr', '-f', 'null', '-']);
    const psnr = Number(/average:([\d.]+)/.exec(cmp.stderr)![1]);
    // 37.0 dB measured at the default 0.2 bits per pixel (at 30 fps); the encoder's own default (270 kbit/s) gave 35.7
    expect(psnr).toBeGreaterThan(36);
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=bit_rate', '-of', 'csv=p=0', join(dir, 'still.mp4')]);
    expect(Number(probe.stdout.trim())).toBeGreaterThan(0.8 * 0.2 * 320 * 240 * 30);
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

  it('report and video write into the run folder by default, not the current directory', async () => {
    const cwd = join(dir, 'elsewhere');
    mkdirSync(cwd);
    const r = await losscapeIn(cwd, 'report', '../run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^report: \.\.\/run\/report\.html /);
    expect(readFileSync(join(dir, 'run/report.html'), 'utf8')).toContain('id="losscape-scene"');
    const v = await losscapeIn(cwd, 'video', '../run', '--width', '64', '--height', '48', '--fps', '5', '--duration', '0.4', '--quiet');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe('video: ../run/movie.mp4');
    expect(statSync(join(dir, 'run/movie.mp4')).size).toBeGreaterThan(1000);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

/** Start `what` and resolve with the viewer address it prints on stdout. */
function viewerUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /viewer: (http:\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before serving: ${out}`)));
  });
}

/** True once nothing answers at `url` (polled for up to `ms`). */
async function goneWithin(url: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(url);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The process exists and is not a zombie (an exited child that nobody reaped yet). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('losscape view', () => {
  it('a missing run is one line and a non-zero exit, and no server starts', async () => {
    const r = await losscape('view', 'run', 'nowhere', '--no-open', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('viewer:');
    expect(r.stderr.trim().split('\n')).toEqual(['losscape: Run not found: nowhere (no such folder)']);
  });

  it('stops on SIGTERM', async () => {
    const child = spawn('node', [join(ROOT, 'bin/losscape.js'), 'view', 'run', '--no-open', '--port', '0', '--quiet'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const url = await viewerUrl(child);
    expect((await fetch(url)).status).toBe(200);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await goneWithin(url, 2000)).toBe(true);
  });

  it('stops when the process that started it is killed', async () => {
    // a parent (like npx) that starts the viewer, forwards its output, and is then killed by PID
    const script = `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify([join(ROOT, 'bin/losscape.js'), 'view', 'run', '--no-open', '--port', '0', '--quiet'])}, { stdio: ['ignore', 'pipe', 'ignore'] });
      console.log('child ' + c.pid); c.stdout.pipe(process.stdout);`;
    const parent = spawn('node', ['-e', script], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    parent.stdout!.on('data', (b: Buffer) => (text += b.toString()));
    const url = await viewerUrl(parent);
    const pid = Number(/child (\d+)/.exec(text)![1]);
    try {
      expect((await fetch(url)).status).toBe(200);
      parent.kill('SIGKILL');
      expect(await goneWithin(url, 5000)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(running(pid)).toBe(false);
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
