/**
 * The decoded scene: each run's fields (or why it cannot be shown), the
 * scales shared by all runs, and what each run looks like under a view state
 * (heights, colour values and ranges, the trajectory). The interactive app
 * and the movie renderer both draw from it, so they draw the same picture.
 */
import type { Scene } from '../shared/scene.js';
import {
  type AxisTitles,
  bilinear,
  decodeRun,
  type Field,
  finiteRange,
  framePos,
  makeScale,
  metricsOf,
  pathPointAt,
  type RunData,
  ratioOnSurface,
  type Scale,
  sampleChannel,
  sampleRatio,
  transformedValues,
  untransform,
} from './data.js';
import { fmt } from './draw/ticks.js';
import type { Layer, Plane, ScaleMode, ViewState } from './state.js';

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
  /** Where the height and colour ranges come from, in words (shown with the colour bar). */
  rangeNote: string;
}

type Channel = 'train_loss' | 'train_acc' | 'eig_ratio';

const RANGE_NOTES: Record<ScaleMode, string> = { global: 'range of the whole run', frame: 'range of this frame', track: 'range of each checkpoint' };

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
  /** Per run, channel and scale: each frame's finite range (null where the frame has no such values). */
  private frameRanges = new Map<string, ([number, number] | null)[]>();

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

  /** The |λmin/λmax| colour range under the view's scale mode: from 0 to the largest ratio of the run, the frame, or the checkpoints around it. */
  hessianRange(index: number, o: ViewState, ratio: ArrayLike<number>): [number, number] {
    if (o.scale === 'global') return this.ratioRange();
    const hi = this.shownRange(index, o, false, ratio, 'eig_ratio', null)[1];
    return [0, Math.max(hi, 1e-9)];
  }

  /**
   * The range of `values` (what is on screen) under a non-global scale mode:
   * their own range (`frame`, and always on the PCA plane, which has one field),
   * or the neighbouring checkpoints' ranges blended with the timeline's easing
   * (`track`), widened to the values on screen so nothing drawn falls outside.
   */
  private shownRange(index: number, o: ViewState, pca: boolean, values: ArrayLike<number>, channel: Channel, s: Scale | null): [number, number] {
    const own = finiteRange(values);
    const run = this.runs[index];
    if (o.scale !== 'track' || pca || !run) return own;
    const key = `${index}|${channel}|${s ? `${s.log}|${s.shift}` : ''}`;
    let ranges = this.frameRanges.get(key);
    if (!ranges) {
      ranges = run.frames.map((fr) => {
        const v = channel === 'eig_ratio' ? ratioOnSurface(fr) : fr.surface.channels[channel];
        return v ? finiteRange(s ? transformedValues(v, s) : v) : null;
      });
      this.frameRanges.set(key, ranges);
    }
    const p = framePos(run.frames.length, o.t);
    const a = ranges[p.a];
    const b = ranges[p.b];
    if (!a || !b) return own;
    return [Math.min(own[0], a[0] + (b[0] - a[0]) * p.w), Math.max(own[1], a[1] + (b[1] - a[1]) * p.w)];
  }

  /**
   * Which loss is which, for a label: the checkpoint's metrics (full train split) and the
   * landscape's value at its centre (on the evaluation subset), which differ.
   */
  lossLabels(run: RunData, look: RunLook | null, t: number): { full: string; centre: string } {
    const p = framePos(run.frames.length, t);
    const mt = metricsOf(run, p.w < 0.5 ? p.a : p.b);
    const full = [mt?.train_loss !== undefined ? `loss ${fmt(mt.train_loss)}` : '', mt?.train_acc !== undefined ? `acc ${fmt(mt.train_acc)}%` : '']
      .filter(Boolean)
      .join(' · ');
    const c = look ? bilinear(look.grid, look.heights, 0, 0) : Number.NaN;
    const subset = run.scene.subset !== undefined ? `${run.scene.subset}-sample subset` : 'evaluation subset';
    return {
      full: full && `full train set: ${full}`,
      centre: Number.isFinite(c) ? `surface centre: loss ${fmt(untransform(look!.scale, c))} (${subset})` : '',
    };
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
    const pca = o.plane === 'pca' && run.pca?.field !== undefined;
    const rangeOf = (values: ArrayLike<number>, channel: Channel) => this.shownRange(index, o, pca, values, channel, runScale);
    let s = runScale;
    if (o.scale !== 'global') {
      const [lo, hi] = rangeOf(heights, 'train_loss');
      s = { ...runScale, lo, hi: hi > lo ? hi : lo + 1e-9 };
    }
    const cap = s.lo + Math.max(0.02, Math.min(1, o.clip)) * (s.hi - s.lo);
    const lossLabel = (v: number) => fmt(untransform(s, v));
    const titles = { x: pca ? 'PC1' : 'α', y: pca ? 'PC2' : 'β', z: o.log ? 'train loss (log scale)' : 'train loss' };
    const rangeNote = RANGE_NOTES[pca && o.scale === 'track' ? 'frame' : o.scale];
    const base = { grid, heights, lo: s.lo, cap, scale: s, acc, ratio, path, marker, titles, rangeNote };
    if (o.layer === 'accuracy' && acc) {
      const [lo, hi] = o.scale === 'global' ? this.accRange(o.plane) : rangeOf(acc, 'train_acc');
      return { ...base, layer: 'accuracy', colors: acc, colorLo: lo, colorHi: hi, colorTitle: 'train acc %', colorLabel: (v) => fmt(v) };
    }
    if (o.layer === 'hessian' && ratio) {
      const [lo, hi] = this.hessianRange(index, o, ratio);
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
