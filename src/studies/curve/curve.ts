/**
 * A mode-connecting curve between two trained networks (Garipov et al. 2018), start to finish:
 * train the bend of the quadratic Bézier curve (train/curve.ts), compare the loss along the
 * straight line with the loss along the curve (the barrier table), compute the landscape of the
 * plane through θ₁, θ₂ and the bend (./plane.ts), and write a run folder whose frames travel
 * along the curve, so that `losscape view` and `losscape video` play it.
 *
 * The output folder is a run folder (format losscape-run/1, a "derived" run): checkpoint k is
 * φ(t_k), its surface a window of the curve's plane centred there; the manifest's `pca` entry
 * holds the whole plane with the frames' positions as its path (the viewer's plane-with-path
 * view); next to it barrier.csv/.md, curve.json (the summary) and curve.h5 (θ₁, θ_b, θ₂).
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { type Grid, gridSize, parseAxis } from '../../core/grid.js';
import { hashBytes } from '../../core/hash.js';
import { layoutToJSON } from '../../core/layout.js';
import { type ProgressSink, silent } from '../../core/progress.js';
import type { Dataset } from '../../data/dataset.js';
import type { LossEngine, Metrics } from '../../engine/engine.js';
import { writeH5 } from '../../io/h5.js';
import type { Model } from '../../model/model.js';
import { type CheckpointInfo, frameFile, type Manifest, RunStore } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { bezierPoint, CURVE_BN_UNSUPPORTED, createCurveLoop, linePoint } from '../../train/curve.js';
import type { TrainBackend } from '../../train/native.js';
import type { OptimizerSpec } from '../../train/optimizer.js';
import { scheduledRate } from '../../train/schedule.js';
import { type DerivedFrame, writeDerivedRun } from '../derived-run.js';
import { type Column, writeJson, writeTables } from '../tables.js';
import { coveringAxis, curveCoordinates, curvePlane } from './plane.js';

/** The two end points and everything evaluated on them. */
export interface CurveInputs {
  model: Model;
  a: Float32Array;
  b: Float32Array;
  /** What θ₁ and θ₂ are, for tables and the manifest ("runs/a checkpoint 3"). */
  labels: [string, string];
  /** Minibatches of curve training come from here (a run's train split). */
  train: Dataset;
  /** The fixed evaluation subset: barriers and landscapes. */
  evalData: Dataset;
  test?: Dataset;
  /** The whole train and test splits: the movie's checkpoint rows (default: `train`, none). */
  splits?: { train: Dataset; test?: Dataset };
  /** An engine over a data set (a run's engine settings, or the default ones). */
  engine(data: Dataset): Promise<LossEngine>;
  /** The manifest the output run copies model, data and config rows from, and its folder. */
  source: Manifest;
  sourceDir: string;
}

export interface CurveOptions {
  steps: number;
  optimizer: OptimizerSpec;
  schedule: 'constant' | 'cosine';
  batchSize: number;
  seed: number;
  trainBackend: TrainBackend;
  /** Evenly spaced t of the barrier table (t = 0 and 1 included). */
  points: number;
  /** Points per axis of the whole plane. */
  grid: number;
  /** Margin around θ₁, θ₂ and θ_b, as a fraction of the covered range. */
  margin: number;
  /** Frames of the movie along the curve (t_k = k/(K − 1)). */
  frames: number;
  /** Half-width of each frame's window, in units of ‖θ₂ − θ₁‖. */
  window: number;
  /** Points per axis of each frame's window. */
  windowGrid: number;
  out: string;
  fresh?: boolean;
  progress?: ProgressSink;
}

export const CURVE_DEFAULTS = {
  steps: 2000,
  lr: 0.05,
  momentum: 0.9,
  schedule: 'cosine',
  batchSize: 128,
  seed: 0,
  points: 61,
  grid: 41,
  margin: 0.2,
  frames: 21,
  window: 0.4,
  windowGrid: 25,
} as const;

export interface PathRow {
  t: number;
  line_loss: number;
  line_acc: number;
  curve_loss: number;
  curve_acc: number;
  line_test_loss?: number;
  line_test_acc?: number;
  curve_test_loss?: number;
  curve_test_acc?: number;
}

/** Barrier of a path: max over t of L(t) − max(L(0), L(1)) (0 when the path never rises above its ends). */
export interface Barrier {
  barrier: number;
  /** Where the maximum is. */
  tMax: number;
  lMax: number;
  /** The lowest accuracy along the path (classification). */
  accMin: number;
}

export interface CurveResult {
  out: string;
  rows: PathRow[];
  line: Barrier;
  curve: Barrier;
  /** curve.barrier / line.barrier. */
  ratio: number;
  /** The same on the test subset (runs with one). */
  test?: { line: Barrier; curve: Barrier };
  bend: [number, number];
  distance: number;
  timings: { train: number; barrier: number; plane: number; movie: number };
  trainLoss: { first: number; last: number };
  trainEngine: string;
}

/** max_t L(t) − max(L(0), L(1)) over rows sorted by t, from t = 0 to t = 1. */
export function barrierOf(ts: ArrayLike<number>, loss: ArrayLike<number>, acc: ArrayLike<number>): Barrier {
  const n = ts.length;
  let k = 0;
  let accMin = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (loss[i]! > loss[k]!) k = i;
    accMin = Math.min(accMin, acc[i]!);
  }
  return { barrier: loss[k]! - Math.max(loss[0]!, loss[n - 1]!), tMax: ts[k]!, lMax: loss[k]!, accMin };
}

const BARRIER_DEFINITION = 'barrier = max_t L(t) − max(L(0), L(1)), L the mean loss on the evaluation subset (eval mode)';

export async function runCurve(inp: CurveInputs, o: CurveOptions): Promise<CurveResult> {
  const progress = o.progress ?? silent;
  const { model, a, b } = inp;
  if (model.batchNorms.length > 0) throw new LosscapeError('input', CURVE_BN_UNSUPPORTED);
  if (a.every((v, i) => v === b[i]))
    throw new LosscapeError('input', `${inp.labels[0]} and ${inp.labels[1]} are the same weights: there is no curve to train between them`);
  mkdirSync(join(o.out, 'surfaces'), { recursive: true });
  const store = new RunStore(o.out);
  const release = store.lock('curve');
  try {
    // 1. train the bend
    let t0 = performance.now();
    const loop = await createCurveLoop(
      { model, data: inp.train, a, b, optimizer: o.optimizer, batchSize: o.batchSize, seed: o.seed },
      o.trainBackend,
      progress.warn,
    );
    const perEpoch = Math.ceil(inp.train.y.length / o.batchSize);
    const bar = progress.task(`curve (${loop.engine})`, o.steps, 'steps');
    const losses: number[] = [];
    let bend: Float32Array;
    try {
      for (let s = 0; s < o.steps; s++) {
        const r = await loop.step(s, scheduledRate(o.schedule, o.optimizer.lr, s, o.steps, perEpoch));
        losses.push(r.loss);
        if (s % 20 === 19 || s === o.steps - 1) bar.update(s + 1, `loss ${mean(losses.slice(-50)).toPrecision(3)}`);
      }
      bend = await loop.bend();
    } finally {
      bar.end();
      loop.dispose();
    }
    const trainSec = (performance.now() - t0) / 1000;
    const trainEngine = loop.engine;

    // 2. line vs curve
    t0 = performance.now();
    const train = await inp.engine(inp.evalData);
    const test = inp.test ? await inp.engine(inp.test) : undefined;
    const rows: PathRow[] = [];
    try {
      const pbar = progress.task('line and curve', o.points, 'points');
      for (let i = 0; i < o.points; i++) {
        const t = o.points === 1 ? 0 : i / (o.points - 1);
        const line = linePoint(t, a, b);
        const curve = bezierPoint(t, a, bend, b);
        const [l, c] = [await train.evaluate(line), await train.evaluate(curve)];
        const row: PathRow = { t, line_loss: l.loss, line_acc: l.acc, curve_loss: c.loss, curve_acc: c.acc };
        if (test) {
          const [lt, ct] = [await test.evaluate(line), await test.evaluate(curve)];
          Object.assign(row, { line_test_loss: lt.loss, line_test_acc: lt.acc, curve_test_loss: ct.loss, curve_test_acc: ct.acc });
        }
        rows.push(row);
        pbar.update(i + 1);
      }
      pbar.end();
      const barrierSec = (performance.now() - t0) / 1000;
      const ts = rows.map((r) => r.t);
      const lineB = barrierOf(
        ts,
        rows.map((r) => r.line_loss),
        rows.map((r) => r.line_acc),
      );
      const curveB = barrierOf(
        ts,
        rows.map((r) => r.curve_loss),
        rows.map((r) => r.curve_acc),
      );
      const testB = test
        ? {
            line: barrierOf(
              ts,
              rows.map((r) => r.line_test_loss!),
              rows.map((r) => r.line_test_acc!),
            ),
            curve: barrierOf(
              ts,
              rows.map((r) => r.curve_test_loss!),
              rows.map((r) => r.curve_test_acc!),
            ),
          }
        : undefined;

      // 3. the plane through θ₁, θ₂ and θ_b
      t0 = performance.now();
      const plane = curvePlane(a, bend, b);
      const [xb, yb] = plane.bend;
      const planeGrid: Grid = {
        x: parseAxis(coveringAxis(Math.min(0, xb), Math.max(1, xb), o.margin, o.grid), 'x'),
        y: parseAxis(coveringAxis(Math.min(0, yb), Math.max(0, yb), o.margin, o.grid), 'y'),
      };
      const frameTs = Array.from({ length: o.frames }, (_, k) => (o.frames === 1 ? 0 : k / (o.frames - 1)));
      const path = frameTs.map((t) => curveCoordinates(t, plane.bend));
      const engines = test ? { train, test } : { train };
      const context = { kind: 'curve-plane', data: hashBytes(inp.evalData.x, inp.evalData.y) };
      const total = gridSize(planeGrid) + o.frames * o.windowGrid * o.windowGrid;
      const sbar = progress.task('plane and movie', total, 'points');
      let done = 0;
      const attrs = {
        plane: 'curve',
        convention: 'origin θ₁; x along u = θ₂ − θ₁; y along the bend θ_b − θ₁ orthogonalized against u, scaled to ‖u‖ (both axes in units of ‖θ₂ − θ₁‖)',
        distance: plane.distance,
        bend_x: xb,
        bend_y: yb,
      };
      const planeFile = 'surfaces/plane.h5';
      await computeSurface({
        theta: a,
        dx: plane.dx,
        dy: plane.dy,
        grid: planeGrid,
        engines,
        path: join(o.out, planeFile),
        context,
        fresh: o.fresh,
        attrs,
        onProgress: (p) => sbar.update(p.done),
      });
      done += gridSize(planeGrid);
      const planeSec = (performance.now() - t0) / 1000;

      // 4. the movie: windows of the same plane centred at φ(t_k)
      t0 = performance.now();
      const axis = `${-o.window}:${o.window}:${o.windowGrid}`;
      const window: Grid = { x: parseAxis(axis, 'x'), y: parseAxis(axis, 'y') };
      const frames: DerivedFrame[] = [];
      const thetas = new Map<number, { theta: Float32Array; step: number; epoch: number }>();
      for (let k = 0; k < o.frames; k++) {
        const theta = bezierPoint(frameTs[k]!, a, bend, b);
        thetas.set(k, { theta, step: k, epoch: 0 });
        const rel = frameFile('surfaces', k);
        const base = done;
        await computeSurface({
          theta,
          dx: plane.dx,
          dy: plane.dy,
          grid: window,
          engines,
          path: join(o.out, rel),
          context,
          fresh: o.fresh,
          attrs: { ...attrs, t: frameTs[k]!, centre_x: path[k]![0], centre_y: path[k]![1] },
          onProgress: (p) => sbar.update(base + p.done),
        });
        done += gridSize(window);
        const m: Metrics = await train.evaluate(theta);
        frames.push({ checkpoint: k, surface: rel, center_loss: m.loss, center_acc: m.acc, cosine: 0 });
      }
      sbar.end();
      // checkpoint rows, as runs record them: loss and accuracy on the whole splits
      const rowsOf: CheckpointInfo[] = [];
      const full = inp.splits ?? { train: inp.train };
      const fullTrain = await inp.engine(full.train);
      const fullTest = full.test ? await inp.engine(full.test) : undefined;
      try {
        for (const [k, c] of thetas) {
          const tr = await fullTrain.evaluate(c.theta);
          const te = fullTest ? await fullTest.evaluate(c.theta) : undefined;
          rowsOf.push({ index: k, step: k, epoch: 0, train_loss: tr.loss, train_acc: tr.acc, ...(te ? { test_loss: te.loss, test_acc: te.acc } : {}) });
        }
      } finally {
        for (const e of [fullTrain, fullTest]) await e?.dispose();
      }
      const movieSec = (performance.now() - t0) / 1000;
      await store.writeCheckpoints(layoutToJSON(model.layout), thetas);
      await writeH5(
        join(o.out, 'curve.h5'),
        { theta_a: { data: a }, bend: { data: bend }, theta_b: { data: b } },
        { layout: JSON.stringify(layoutToJSON(model.layout)), curve: 'quadratic Bézier φ(t) = (1 − t)²·theta_a + 2t(1 − t)·bend + t²·theta_b' },
      );

      // 5. tables, summary, manifest
      const cols: Column<PathRow>[] = [
        { key: 't', value: (r) => r.t, fmt: (v) => v.toFixed(3) },
        { key: 'line_loss', value: (r) => r.line_loss },
        { key: 'line_acc', value: (r) => r.line_acc },
        { key: 'curve_loss', value: (r) => r.curve_loss },
        { key: 'curve_acc', value: (r) => r.curve_acc },
      ];
      if (test) {
        cols.push(
          { key: 'line_test_loss', value: (r) => r.line_test_loss },
          { key: 'line_test_acc', value: (r) => r.line_test_acc },
          { key: 'curve_test_loss', value: (r) => r.curve_test_loss },
          { key: 'curve_test_acc', value: (r) => r.curve_test_acc },
        );
      }
      const ratio = lineB.barrier > 0 ? curveB.barrier / lineB.barrier : Number.NaN;
      writeTables(join(o.out, 'barrier'), cols, rows, {
        title: `Line vs Bézier curve: ${inp.labels[0]} → ${inp.labels[1]}`,
        intro: [
          `${BARRIER_DEFINITION}. Line: θ₁ + t·(θ₂ − θ₁). Curve: (1 − t)²θ₁ + 2t(1 − t)θ_b + t²θ₂, θ_b trained for ${o.steps} steps.`,
          `Barrier along the line ${lineB.barrier.toPrecision(4)} (peak ${lineB.lMax.toPrecision(4)} at t = ${lineB.tMax.toFixed(3)}), along the curve ${curveB.barrier.toPrecision(4)} (peak ${curveB.lMax.toPrecision(4)} at t = ${curveB.tMax.toFixed(3)}).`,
        ],
      });
      const result: CurveResult = {
        out: o.out,
        rows,
        line: lineB,
        curve: curveB,
        ratio,
        ...(testB ? { test: testB } : {}),
        bend: plane.bend,
        distance: plane.distance,
        timings: { train: trainSec, barrier: barrierSec, plane: planeSec, movie: movieSec },
        trainLoss: { first: mean(losses.slice(0, 50)), last: mean(losses.slice(-50)) },
        trainEngine,
      };
      writeJson(join(o.out, 'curve.json'), {
        ends: inp.labels,
        definition: BARRIER_DEFINITION,
        evaluation: { data: inp.evalData.name, samples: inp.evalData.y.length, engine: train.description },
        line: lineB,
        curve: curveB,
        ratio,
        test: testB,
        plane: { distance: plane.distance, bend: plane.bend, grid: { x: planeGrid.x, y: planeGrid.y }, surface: planeFile },
        movie: { frames: o.frames, t: frameTs, window: o.window, windowGrid: o.windowGrid },
        training: {
          steps: o.steps,
          optimizer: o.optimizer,
          schedule: o.schedule,
          batchSize: o.batchSize,
          seed: o.seed,
          engine: trainEngine,
          samples: inp.train.y.length,
          loss: result.trainLoss,
        },
        timings: result.timings,
      });
      const m = writeDerivedRun(o.out, {
        source: inp.source,
        sourceDir: inp.sourceDir,
        name: `curve ${basename(inp.labels[0])} → ${basename(inp.labels[1])}`,
        note: 'frames travel along a trained Bézier curve between two minima; each surface is a window of the plane through θ₁, θ₂ and the bend, centred at φ(t_k); the PCA entry holds the whole plane with the frames as its path',
        kind: 'curve',
        frames,
        checkpoints: rowsOf,
        extra: { t: frameTs, ends: inp.labels, barrier: { line: lineB.barrier, curve: curveB.barrier } },
      });
      m.history = [];
      // the viewer's plane-with-path entry ("explained" is left out: this plane is not a PCA one)
      (m as { pca?: unknown }).pca = { surface: planeFile, path };
      store.writeManifest(m);
      return result;
    } finally {
      for (const e of [train, test]) await e?.dispose();
    }
  } finally {
    release();
  }
}

function mean(v: number[]): number {
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN;
}
