/**
 * Axes of the 3-D surface: round ticks along the two floor edges nearest the
 * camera (α and β, or PC1 and PC2) and a vertical loss axis at the corner
 * that is leftmost on screen, with the loss values at their heights (log
 * spaced in log mode). Tick marks are three.js lines in the scene; the labels
 * are screen positions that the app writes into DOM elements and the movie
 * renderer paints onto its frame, so both show the same axes.
 */
import * as THREE from 'three';
import { logTicks, niceTicks } from '../../../core/ticks.js';
import type { AxisTitles } from '../data.js';
import type { Theme } from './plot.js';
import { tickLabels } from './ticks.js';

export interface AxisLabel {
  text: string;
  /** Anchor in CSS pixels of the 3-D canvas. */
  x: number;
  y: number;
  align: 'left' | 'right' | 'center';
  /** α/β/loss ticks, or the axis titles. */
  kind: 'x' | 'y' | 'z' | 'title';
}

/** What the axes need to know about the surface on screen. */
export interface AxesInput {
  /** Data ranges of the floor. */
  x: { min: number; max: number };
  y: { min: number; max: number };
  wx: (x: number) => number;
  wz: (y: number) => number;
  floor: number;
  /** Transformed loss value → world height (lo → 0, cap → top). */
  height: (u: number) => number;
  lo: number;
  cap: number;
  /** Heights are log(loss + shift) when log. */
  log: boolean;
  shift: number;
  titles: AxisTitles;
}

const TICK = 0.045;
const LABEL = 0.11;
const TITLE = 0.26;

type V3 = [number, number, number];

export class Axes3D {
  readonly object: THREE.LineSegments;
  labels: AxisLabel[] = [];

  constructor() {
    this.object = new THREE.LineSegments(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0x8b93a7, transparent: true, opacity: 0.75 }));
  }

  /** Rebuild the tick marks and the labels for this camera; `width` × `height` is the canvas in CSS pixels. */
  update(a: AxesInput, camera: THREE.Camera, width: number, height: number): void {
    const segs: number[] = [];
    const labels: AxisLabel[] = [];
    camera.updateMatrixWorld(); // the projection below must see this frame's camera, not the last render's
    const project = (p: V3): [number, number] => {
      const v = new THREE.Vector3(...p).project(camera);
      return [((v.x + 1) / 2) * width, ((1 - v.y) / 2) * height];
    };
    const label = (text: string, at: V3, out: V3, kind: AxisLabel['kind']) => {
      const [x, y] = project(at);
      const [x2] = project([at[0] + out[0], at[1] + out[1], at[2] + out[2]]);
      const dx = x2 - x;
      labels.push({ text, x, y, kind, align: Math.abs(dx) < 2 ? 'center' : dx > 0 ? 'left' : 'right' });
    };
    const cam = camera.position;
    const [x0, x1] = [a.wx(a.x.min), a.wx(a.x.max)];
    const [z0, z1] = [a.wz(a.y.min), a.wz(a.y.max)];
    const f = a.floor;

    // α along the floor edge (constant z) nearer the camera, ticks pointing away from the surface
    const zEdge = Math.abs(cam.z - z0) < Math.abs(cam.z - z1) ? z0 : z1;
    const zOut = Math.sign(zEdge - (z0 + z1) / 2) || 1;
    const xt = niceTicks(a.x.min, a.x.max, 5);
    tickLabels(xt).forEach((text, k) => {
      const wx = a.wx(xt[k]!);
      segs.push(wx, f, zEdge, wx, f, zEdge + zOut * TICK);
      label(text, [wx, f, zEdge + zOut * LABEL], [0, 0, zOut], 'x');
    });
    label(a.titles.x, [(x0 + x1) / 2, f, zEdge + zOut * TITLE], [0, 0, zOut], 'title');

    // β along the edge (constant x) nearer the camera
    const xEdge = Math.abs(cam.x - x0) < Math.abs(cam.x - x1) ? x0 : x1;
    const xOut = Math.sign(xEdge - (x0 + x1) / 2) || 1;
    const yt = niceTicks(a.y.min, a.y.max, 5);
    tickLabels(yt).forEach((text, k) => {
      const wz = a.wz(yt[k]!);
      segs.push(xEdge, f, wz, xEdge + xOut * TICK, f, wz);
      label(text, [xEdge + xOut * LABEL, f, wz], [xOut, 0, 0], 'y');
    });
    label(a.titles.y, [xEdge + xOut * TITLE, f, (z0 + z1) / 2], [xOut, 0, 0], 'title');

    // the loss axis at the corner leftmost on screen
    const corners: V3[] = [
      [x0, f, z0],
      [x1, f, z0],
      [x1, f, z1],
      [x0, f, z1],
    ];
    const corner = corners.reduce((best, c) => (project(c)[0] < project(best)[0] ? c : best));
    const [cx, , cz] = corner;
    const out: V3 = [Math.sign(cx - (x0 + x1) / 2) || 1, 0, Math.sign(cz - (z0 + z1) / 2) || 1];
    const top = a.height(a.cap);
    segs.push(cx, f, cz, cx, top, cz);
    const zt = heightTicks(a);
    tickLabels(zt.values).forEach((text, k) => {
      const h = a.height(zt.positions[k]!);
      segs.push(cx, h, cz, cx + out[0] * TICK * 0.7, h, cz + out[2] * TICK * 0.7);
      label(text, [cx + out[0] * LABEL * 0.7, h, cz + out[2] * LABEL * 0.7], out, 'z');
    });
    label(a.titles.z, [cx, top + 0.09, cz], [0, 0, 0], 'title');

    writeLines(this.object, segs);
    this.labels = withoutOverlaps(labels);
  }
}

/** Approximate screen box of a label (11–13 px text). */
function box(l: AxisLabel): [number, number, number, number] {
  const w = l.text.length * (l.kind === 'title' ? 7.5 : 6.3);
  const x = l.align === 'left' ? l.x : l.align === 'right' ? l.x - w : l.x - w / 2;
  return [x, l.y - 7, x + w, l.y + 7];
}

/** Drop tick labels that would overprint one placed before them (loss ticks and titles win). */
function withoutOverlaps(labels: AxisLabel[]): AxisLabel[] {
  const rank = { title: 0, z: 1, x: 2, y: 2 };
  const order = [...labels].sort((a, b) => rank[a.kind] - rank[b.kind]);
  const kept: AxisLabel[] = [];
  const boxes: [number, number, number, number][] = [];
  for (const l of order) {
    const b = box(l);
    if (l.kind !== 'title' && boxes.some((o) => b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3])) continue;
    kept.push(l);
    boxes.push(b);
  }
  return kept;
}

/** Loss values for the vertical axis and their transformed positions, inside [lo, cap]. */
export function heightTicks(a: Pick<AxesInput, 'lo' | 'cap' | 'log' | 'shift'>): { values: number[]; positions: number[] } {
  if (!(a.cap > a.lo)) return { values: [], positions: [] };
  if (!a.log) {
    const values = niceTicks(a.lo, a.cap, 4);
    return { values, positions: values };
  }
  // heights are log(loss + shift): ticks at round values of loss + shift, labelled as losses
  const shifted = logTicks(Math.exp(a.lo), Math.exp(a.cap));
  const values = shifted.map((v) => v - a.shift);
  return { values, positions: shifted.map(Math.log) };
}

/** Paint the labels onto a 2-D canvas whose 3-D view starts at (dx, dy). */
export function drawAxisLabels(ctx: CanvasRenderingContext2D, labels: AxisLabel[], theme: Theme, dx: number, dy: number): void {
  const u = theme.scale;
  ctx.save();
  ctx.shadowColor = 'rgba(4,6,12,0.9)';
  ctx.shadowBlur = 4 * u;
  ctx.textBaseline = 'middle';
  for (const l of labels) {
    ctx.font = l.kind === 'title' ? `600 ${13 * u}px ${theme.font}` : `${11.5 * u}px ${theme.font}`;
    ctx.fillStyle = l.kind === 'title' ? theme.text : theme.muted;
    ctx.textAlign = l.align;
    ctx.fillText(l.text, dx + l.x, dy + l.y);
  }
  ctx.restore();
}

function writeLines(lines: THREE.LineSegments, segs: number[]): void {
  const g = lines.geometry;
  g.setAttribute('position', new THREE.BufferAttribute(new Float32Array(segs), 3));
  g.computeBoundingSphere();
}
