/**
 * The offscreen renderer of the page's render mode: fixed-size frames for
 * movies and stills. The same SurfaceView as the app, composited with a HUD
 * (title, checkpoint, colour bar, training curves) onto one 2-D canvas, which
 * is what gets encoded (WebCodecs + mediabunny) or saved as PNG.
 */
import { BufferTarget, CanvasSource, canEncodeVideo, Mp4OutputFormat, Output, Quality, WebMOutputFormat } from 'mediabunny';
import { colormap } from '../../core/colormap.js';
import type { CameraPose } from '../shared/camera-path.js';
import { type RunData, stepAt } from './data.js';
import type { DecodedScene } from './decoded-scene.js';
import { drawAxisLabels } from './draw/axes3d.js';
import { drawCurvatureTimeline } from './draw/curvature-timeline.js';
import { drawTrainingCurves } from './draw/curves.js';
import { drawColorbar } from './draw/heatmap.js';
import { drawPlaneInset, planeFrameAt } from './draw/plane-inset.js';
import { DARK } from './draw/plot.js';
import { SurfaceView } from './draw/surface3d.js';
import { DEFAULT_VIEW, type ScaleMode, type ViewState } from './state.js';

export interface StillOptions {
  width: number;
  height: number;
  /** Timeline position (frame index, fractional allowed); default: the last frame. */
  t?: number;
  log?: boolean;
  colormap?: string;
  layer?: ViewState['layer'];
  plane?: ViewState['plane'];
  exaggeration?: number;
  clip?: number;
  /** Height and colour ranges: the whole run (default), each frame, or each checkpoint's (ScaleMode). */
  scale?: ScaleMode;
  /** Camera rotation about the vertical axis, in degrees. */
  azimuth?: number;
  /** Camera pose (a camera path's keyframes, shared/camera-path.ts); overrides azimuth. */
  pose?: CameraPose;
  /** Only the surface, on a transparent background (no backdrop, headings or curves). */
  transparent?: boolean;
  run?: number;
  /** Axes with ticks on the 3-D view (default true). */
  axes?: boolean;
}

export interface MovieOptions extends StillOptions {
  fps: number;
  /** Number of video frames. */
  frames: number;
  camera: 'orbit' | 'fixed';
  format: 'mp4' | 'webm';
  /** Orbit speed in degrees per second. */
  orbitSpeed?: number;
  /** Target bitrate in bits per second. */
  bitrate: number;
}

export type MovieResult = { ok: true; bytes: number; codec: string } | { ok: false; reason: string };

type Host = {
  losscapeProgress?: (done: number, total: number) => Promise<void>;
  losscapeWrite?: (chunk: string) => Promise<void>;
};

export class MovieRenderer {
  private gl: HTMLCanvasElement;
  private view: SurfaceView;
  readonly canvas: HTMLCanvasElement;
  private size = '';

  constructor(private scene: DecodedScene) {
    this.gl = document.createElement('canvas');
    this.canvas = document.createElement('canvas');
    this.view = new SurfaceView(this.gl, { interactive: false });
  }

  /** Draw one composite frame into `this.canvas`. */
  draw(o: StillOptions): HTMLCanvasElement {
    const box = o.transparent ? { ...hudLayout(o.width, o.height), glTop: 0, glH: o.height } : hudLayout(o.width, o.height);
    const key = `${box.W}x${box.H}x${box.glH}`;
    if (key !== this.size) {
      this.canvas.width = box.W;
      this.canvas.height = box.H;
      this.view.setSize(box.W, box.glH, 1);
      this.size = key;
    }
    const runIndex =
      o.run ??
      Math.max(
        0,
        this.scene.errors.findIndex((e) => !e),
      );
    const run = this.scene.runs[runIndex];
    const view = viewOf(o, this.scene.frameCount);
    const look = this.scene.look(runIndex, view);
    const cmap = colormap(view.colormap);
    const ctx = this.canvas.getContext('2d')!;
    if (o.transparent) ctx.clearRect(0, 0, box.W, box.H);
    else drawBackdrop(ctx, box);
    if (!look || !run) {
      drawMessage(ctx, box, this.scene.errors[runIndex] ?? 'nothing to show');
      return this.canvas;
    }
    if (o.pose) this.view.setCamera(o.pose);
    else this.view.orbit(((o.azimuth ?? 0) * Math.PI) / 180);
    this.view.show({ ...look, exaggeration: view.exaggeration, cmap, contours: 12, titles: o.axes === false ? undefined : look.titles });
    this.view.render();
    ctx.drawImage(this.gl, 0, box.glTop, box.W, box.glH);
    if (o.transparent) return this.canvas;
    const { W, u, glTop, glH, bottom } = box;
    const theme = { ...DARK, scale: u };
    drawAxisLabels(ctx, this.view.axisLabels, theme, 0, glTop);
    drawHeadings(ctx, box, run, view, this.scene.lossLabels(run, look, view.t));
    const cbH = Math.min(240 * u, glH * 0.5);
    const cb = { x: W - 78 * u, y: glTop + glH / 2 - cbH / 2 + 30 * u, w: 12 * u, h: cbH };
    drawRangeNote(ctx, look.rangeNote, cb.x + cb.w, cb.y + cb.h + 8 * u, theme);
    drawColorbar(ctx, cb, cmap, look.colorLo, look.colorHi, look.colorLabel, theme, look.colorTitle);
    const curves = { x: 24 * u, y: glTop + glH, w: W - 48 * u, h: bottom - 18 * u };
    if (run.scene.curvature?.length) {
      // the curvature timeline beside the training curves, on the same step axis position
      const half = (curves.w - 12 * u) / 2;
      drawTrainingCurves(ctx, { ...curves, w: half }, run, view, theme, 'rgba(20,26,41,0.85)');
      drawCurvatureTimeline(ctx, { ...curves, x: curves.x + half + 12 * u, w: half }, run, view, theme, 'rgba(20,26,41,0.85)');
    } else drawTrainingCurves(ctx, curves, run, view, theme, 'rgba(20,26,41,0.85)');
    const plane = view.plane === 'frames' ? planeFrameAt(run, view.t) : undefined;
    if (plane?.path) drawPlaneInset(ctx, { x: 24 * u, y: glTop + 62 * u, w: 230 * u, h: 250 * u }, look, plane, cmap, theme);
    return this.canvas;
  }

  still(o: StillOptions): string {
    return this.draw(o).toDataURL('image/png');
  }

  /** Options of video frame i. */
  frameOptions(o: MovieOptions, i: number): StillOptions {
    const last = this.scene.frameCount - 1;
    const t = o.frames > 1 ? (last * i) / (o.frames - 1) : last;
    const azimuth = o.camera === 'orbit' ? (o.azimuth ?? 0) + ((o.orbitSpeed ?? 20) * i) / o.fps : (o.azimuth ?? 0);
    return { ...o, t, azimuth };
  }

  framePng(o: MovieOptions, i: number): string {
    return this.still(this.frameOptions(o, i));
  }

  async movie(o: MovieOptions): Promise<MovieResult> {
    try {
      return await this.encode(o);
    } catch (e) {
      return { ok: false, reason: (e as Error).message ?? String(e) };
    }
  }

  private async encode(o: MovieOptions): Promise<MovieResult> {
    const host = window as unknown as Host;
    if (typeof VideoEncoder === 'undefined') return { ok: false, reason: 'WebCodecs (VideoEncoder) is not available in this browser' };
    const codec = o.format === 'webm' ? 'vp9' : 'avc';
    if (!(await canEncodeVideo(codec, { width: o.width, height: o.height }))) {
      return { ok: false, reason: `this browser cannot encode ${codec} at ${o.width}×${o.height}` };
    }
    this.draw(this.frameOptions(o, 0));
    const output = new Output({
      format: o.format === 'webm' ? new WebMOutputFormat() : new Mp4OutputFormat({ fastStart: 'in-memory' }),
      target: new BufferTarget(),
    });
    const source = new CanvasSource(this.canvas, { codec, quality: new Quality({ bitrate: Math.round(o.bitrate) }), keyFrameInterval: 2 });
    output.addVideoTrack(source, { frameRate: o.fps });
    await output.start();
    for (let i = 0; i < o.frames; i++) {
      this.draw(this.frameOptions(o, i));
      await source.add(i / o.fps, 1 / o.fps);
      await host.losscapeProgress?.(i + 1, o.frames);
    }
    await output.finalize();
    const buf = output.target.buffer;
    if (!buf) return { ok: false, reason: 'the encoder produced no data' };
    const bytes = new Uint8Array(buf);
    const CHUNK = 3 * 1024 * 1024;
    for (let off = 0; off < bytes.length; off += CHUNK) await host.losscapeWrite?.(toBase64(bytes.subarray(off, off + CHUNK)));
    return { ok: true, bytes: bytes.length, codec };
  }
}

/** Where things go on a W × H frame: u is the HUD unit (1 at 720 px high); the 3-D view spans glTop to glTop + glH. */
interface HudLayout {
  W: number;
  H: number;
  u: number;
  bottom: number;
  glTop: number;
  glH: number;
}

function hudLayout(W: number, H: number): HudLayout {
  const u = H / 720;
  const bottom = Math.round(150 * u);
  const glTop = Math.round(36 * u);
  return { W, H, u, bottom, glTop, glH: H - bottom - glTop };
}

/** The view state of a still: the defaults, with what the options set. */
function viewOf(o: StillOptions, frameCount: number): ViewState {
  return {
    ...DEFAULT_VIEW,
    t: o.t ?? frameCount - 1,
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.colormap ? { colormap: o.colormap } : {}),
    ...(o.layer ? { layer: o.layer } : {}),
    ...(o.plane ? { plane: o.plane } : {}),
    ...(o.exaggeration ? { exaggeration: o.exaggeration } : {}),
    ...(o.clip ? { clip: o.clip } : {}),
    ...(o.scale ? { scale: o.scale } : {}),
  };
}

/** Dark vertical gradient with a soft glow behind the surface. */
function drawBackdrop(ctx: CanvasRenderingContext2D, { W, H, glTop, glH }: HudLayout): void {
  const bg = ctx.createLinearGradient(0, 0, 0, H);
  bg.addColorStop(0, '#141a29');
  bg.addColorStop(1, '#07090f');
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, W, H);
  const glow = ctx.createRadialGradient(W / 2, glTop + glH * 0.55, 0, W / 2, glTop + glH * 0.55, Math.max(W, H) * 0.55);
  glow.addColorStop(0, 'rgba(90,110,170,0.16)');
  glow.addColorStop(1, 'rgba(90,110,170,0)');
  ctx.fillStyle = glow;
  ctx.fillRect(0, 0, W, H);
}

/** Run name and model on the left; checkpoint, epoch, step and metrics on the right (with a soft shadow where they cross the surface). */
function drawHeadings(ctx: CanvasRenderingContext2D, { W, u }: HudLayout, run: RunData, view: ViewState, losses: { full: string; centre: string }): void {
  ctx.save();
  ctx.shadowColor = 'rgba(4,6,12,0.85)';
  ctx.shadowBlur = 8 * u;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.fillStyle = DARK.text;
  ctx.font = `600 ${26 * u}px ${DARK.font}`;
  ctx.fillText(run.scene.name, 32 * u, 50 * u);
  ctx.font = `${14 * u}px ${DARK.font}`;
  ctx.fillStyle = DARK.muted;
  const sub = [run.scene.model, run.scene.data].filter(Boolean).join(' · ');
  if (sub) ctx.fillText(sub, 32 * u, 74 * u);
  ctx.textAlign = 'right';
  const st = stepAt(run, view.t);
  ctx.fillStyle = DARK.text;
  ctx.font = `600 ${20 * u}px ${DARK.font}`;
  if (view.plane === 'pca') ctx.fillText('PCA plane of the trajectory', W - 32 * u, 48 * u);
  else if (st) ctx.fillText(`checkpoint ${st.checkpoint}`, W - 32 * u, 48 * u);
  ctx.font = `${14 * u}px ${DARK.font}`;
  ctx.fillStyle = DARK.muted;
  const line2 = [st?.epoch !== undefined ? `epoch ${st.epoch}` : '', st ? `step ${st.nearStep}` : ''].filter(Boolean).join(' · ');
  ctx.fillText(line2, W - 32 * u, 72 * u);
  if (losses.full) ctx.fillText(losses.full, W - 32 * u, 94 * u);
  if (losses.centre) ctx.fillText(losses.centre, W - 32 * u, 114 * u);
  ctx.restore();
}

/** Where the colour bar's range comes from, right-aligned under it. */
function drawRangeNote(ctx: CanvasRenderingContext2D, note: string, right: number, top: number, theme: typeof DARK): void {
  ctx.save();
  ctx.font = `${10 * theme.scale}px ${theme.font}`;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'top';
  ctx.fillText(note, right, top);
  ctx.restore();
}

/** Why there is nothing to draw, centred. */
function drawMessage(ctx: CanvasRenderingContext2D, { W, H, u }: HudLayout, message: string): void {
  ctx.fillStyle = DARK.text;
  ctx.font = `${20 * u}px ${DARK.font}`;
  ctx.textAlign = 'center';
  ctx.fillText(message, W / 2, H / 2);
}

function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
