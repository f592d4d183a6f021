/**
 * The decoded scene: each run's fields (or why it cannot be shown), the
 * scales shared by all runs, and what each run looks like under a view state
 * (heights, colour values and ranges, the trajectory). The interactive app
 * and the movie renderer both draw from it, so they draw the same picture.
 */
import type { Scene } from '../shared/scene.js';
import {
  decodeRun,
  type Field,
  finiteRange,
  makeScale,
  pathPointAt,
  type RunData,
  type Scale,
  sampleChannel,
  sampleRatio,
  transformedValues,
  untransform,
} from './data.js';
import type { AxisTitles } from './draw/axes3d.js';
import { fmt } from './draw/ticks.js';
import type { Layer, Plane, ViewState } from './state.js';

export interface RunLook {
  grid: Field;
  heights: Float32Array;
  lo: number;
  cap: number;
  scale: Scale;
  colors: Float32Array;
  colorLo: number;
  colorHi: number;
  colorTitle: string;
  colorLabel: (v: number) => string;
  /** The layer actually shown (hessian falls back to loss where a frame has none). */
  layer: Layer;
  acc?: Float32Array | undefined;
  ratio?: Float32Array | undefined;
  path?: [number, number][] | undefined;
  marker?: [number, number] | null | undefined;
  /** Titles of the 3-D axes: the plane's two directions and the height. */
  titles: AxisTitles;
}

interface Buffers {
  heights?: Float32Array;
  acc?: Float32Array;
  ratio?: Float32Array;
}

export class DecodedScene {
  readonly runs: (RunData | null)[];
  readonly errors: (string | null)[];
  private scales = new Map<string, Scale>();
  private buffers: Buffers[];
  private ranges = new Map<string, [number, number]>();

  constructor(readonly scene: Scene) {
    this.errors = scene.runs.map((r) => r.error ?? null);
    this.runs = scene.runs.map((r, i) => {
      if (r.error) return null;
      try {
        return decodeRun(r);
      } catch (e) {
        this.errors[i] = `${r.name}: the scene data is corrupt (${(e as Error).message})`;
        return null;
      }
    });
    this.buffers = this.runs.map(() => ({}));
  }

  get ok(): RunData[] {
    return this.runs.filter((r): r is RunData => r !== null);
  }

  /** Number of timeline positions (the longest run). */
  get frameCount(): number {
    return Math.max(1, ...this.ok.map((r) => r.frames.length));
  }

  get hasPca(): boolean {
    return this.ok.some((r) => r.pca?.field);
  }

  get hasHessian(): boolean {
    return this.ok.some((r) => r.hasHessian);
  }

  /** Loss scale shared by every run shown together (so compare is fair). */
  scale(plane: Plane, log: boolean): Scale {
    const key = `${plane}|${log}`;
    let s = this.scales.get(key);
    if (!s) {
      const fields = plane === 'pca' ? this.ok.flatMap((r) => (r.pca?.field ? [r.pca.field] : [])) : this.ok.flatMap((r) => r.frames.map((f) => f.surface));
      s = makeScale(fields, 'train_loss', log);
      this.scales.set(key, s);
    }
    return s;
  }

  private range(key: string, compute: () => [number, number]): [number, number] {
    let r = this.ranges.get(key);
    if (!r) {
      r = compute();
      this.ranges.set(key, r);
    }
    return r;
  }

  accRange(plane: Plane): [number, number] {
    return this.range(`acc|${plane}`, () => {
      const fields = plane === 'pca' ? this.ok.flatMap((r) => (r.pca?.field ? [r.pca.field] : [])) : this.ok.flatMap((r) => r.frames.map((f) => f.surface));
      let lo = Infinity;
      let hi = -Infinity;
      for (const f of fields) {
        const v = f.channels.train_acc;
        if (!v) continue;
        const [a, b] = finiteRange(v);
        lo = Math.min(lo, a);
        hi = Math.max(hi, b);
      }
      return Number.isFinite(lo) && hi > lo ? [lo, hi] : [0, 100];
    });
  }

  ratioRange(): [number, number] {
    return this.range('ratio', () => {
      let hi = 0;
      for (const r of this.ok) for (const f of r.frames) if (f.hessian?.channels.eig_ratio) hi = Math.max(hi, finiteRange(f.hessian.channels.eig_ratio)[1]);
      return [0, hi > 0 ? hi : 1];
    });
  }

  look(index: number, o: ViewState): RunLook | null {
    const run = this.runs[index];
    if (!run) return null;
    const buf = this.buffers[index]!;
    const runScale = this.scale(o.plane, o.log);
    let grid: Field;
    let heights: Float32Array;
    let acc: Float32Array | undefined;
    let ratio: Float32Array | undefined;
    let path: [number, number][] | undefined;
    let marker: [number, number] | null | undefined;
    if (o.plane === 'pca' && run.pca?.field) {
      grid = run.pca.field;
      const raw = grid.channels.train_loss;
      if (!raw) return null;
      heights = transformedValues(raw, runScale);
      acc = grid.channels.train_acc;
      path = run.pca.path;
      marker = pathPointAt(run, o.t);
    } else {
      const h = sampleChannel(run, o.t, 'train_loss', runScale, buf.heights);
      if (!h) return null;
      grid = h.grid;
      heights = buf.heights = h.values;
      const a = sampleChannel(run, o.t, 'train_acc', null, buf.acc);
      if (a) acc = buf.acc = a.values;
      ratio = sampleRatio(run, o.t, buf.ratio);
      if (ratio && ratio.length === heights.length) buf.ratio = ratio;
      else ratio = undefined;
    }
    let s = runScale;
    if (o.fit) {
      const [lo, hi] = finiteRange(heights);
      s = { ...runScale, lo, hi: hi > lo ? hi : lo + 1e-9 };
    }
    const cap = s.lo + Math.max(0.02, Math.min(1, o.clip)) * (s.hi - s.lo);
    const lossLabel = (v: number) => fmt(untransform(s, v));
    const pca = o.plane === 'pca' && run.pca?.field !== undefined;
    const titles = { x: pca ? 'PC1' : 'α', y: pca ? 'PC2' : 'β', z: o.log ? 'train loss (log scale)' : 'train loss' };
    const base = { grid, heights, lo: s.lo, cap, scale: s, acc, ratio, path, marker, titles };
    if (o.layer === 'accuracy' && acc) {
      const [lo, hi] = o.fit ? finiteRange(acc) : this.accRange(o.plane);
      return { ...base, layer: 'accuracy', colors: acc, colorLo: lo, colorHi: hi, colorTitle: 'train acc %', colorLabel: (v) => fmt(v) };
    }
    if (o.layer === 'hessian' && ratio) {
      const [lo, hi] = o.fit ? [0, Math.max(finiteRange(ratio)[1], 1e-9)] : this.ratioRange();
      return { ...base, layer: 'hessian', colors: ratio, colorLo: lo, colorHi: hi, colorTitle: '|λmin/λmax|', colorLabel: (v) => fmt(v) };
    }
    return {
      ...base,
      layer: 'loss',
      colors: heights,
      colorLo: s.lo,
      colorHi: cap,
      colorTitle: o.log ? 'train loss (log)' : 'train loss',
      colorLabel: lossLabel,
    };
  }
}
