/**
 * Honest planes for a run: the plane of a checkpoint (seeded random directions, or Hessian
 * eigenvectors with `directions.type: hessian`), its hidden-curvature report
 * (hessian/plane-curvature.ts, stored in the manifest as frames[k].curvature), and the
 * trajectory relative to every frame's plane (trajectory.json): where the next checkpoint
 * projects onto the plane, how far off the plane it lies, and which checkpoints of the whole
 * path lie near the plane.
 */

import { LosscapeError } from '../core/errors.js';
import type { ParamLayout } from '../core/layout.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { norm2 } from '../directions/directions.js';
import { readDirectionFile } from '../directions/file.js';
import { type PlaneProjection, projectOntoPlane } from '../directions/projection.js';
import type { LossEngine } from '../engine/engine.js';
import { type EigenPair, eigenvectorPlane } from '../hessian/eigen-plane.js';
import { HIDDEN_SADDLE_EPSILON, type PlaneCurvature, planeCurvature } from '../hessian/plane-curvature.js';
import { type FrameInfo, type Manifest, RunStore, writeAtomic } from '../store/run-store.js';
import { type DirectionSpec, type RunConfig, resolveConfig } from './config.js';
import { specAttrs, specPlane } from './directions.js';
import { runEvalEngine } from './engine.js';

export interface RunPlane {
  dx: Float32Array;
  dy: Float32Array;
  cosine: number;
  /** Attributes of the directions file. */
  attrs: Record<string, string | number>;
  /** The full Hessian's extremes, when making the plane computed them. */
  extremes?: { lambdaMin: number; lambdaMax: number; converged: boolean };
}

/**
 * The plane of a checkpoint at θ: seeded random directions, or with `directions.type: hessian`
 * the eigenvector plane, each direction as long as the seeded filter-normalized one.
 */
export async function checkpointPlane(d: DirectionSpec, layout: ParamLayout, engine: LossEngine, theta: Float32Array, seed: number): Promise<RunPlane> {
  const random = specPlane(theta, layout, d, seed);
  const attrs = specAttrs(d, seed);
  if (d.type !== 'hessian') return { ...random, attrs };
  const pair = (d.pair ?? 'top-bottom') as EigenPair;
  const p = await eigenvectorPlane(engine, theta, { pair, length: norm2(random.dx) });
  return {
    dx: p.dx,
    dy: p.dy,
    cosine: p.cosine,
    attrs: { type: 'hessian', pair, lambda_x: p.lambdaX, lambda_y: p.lambdaY, residual_x: p.residualX, residual_y: p.residualY, length: norm2(random.dx) },
    extremes: p.extremes,
  };
}

/** Whether a run writes hidden-curvature reports: with a `curvature` section or eigenvector planes. */
export function reportsCurvature(cfg: RunConfig): boolean {
  return !!cfg.curvature || cfg.directions.type === 'hessian';
}

/** The hidden-curvature report of a checkpoint's plane (the config's ε; the plane's extremes when known). */
export function planeReport(cfg: RunConfig, engine: LossEngine, theta: Float32Array, plane: Pick<RunPlane, 'dx' | 'dy' | 'extremes'>): Promise<PlaneCurvature> {
  return planeCurvature(engine, theta, plane.dx, plane.dy, {
    epsilon: cfg.curvature?.epsilon ?? HIDDEN_SADDLE_EPSILON,
    known: plane.extremes,
  });
}

export const TRAJECTORY_FILE = 'trajectory.json';
export const TRAJECTORY_FORMAT = 'losscape-trajectory/1';
/** A checkpoint is near a plane when its distance off the plane is at most this fraction of ‖δ‖ (one grid unit of α). */
export const NEAR_PLANE = 0.1;

export interface PathPoint extends PlaneProjection {
  checkpoint: number;
  /** offPlane ≤ NEAR_PLANE·‖δ‖. */
  near: boolean;
}

export interface FrameTrajectory {
  checkpoint: number;
  /** ‖δ‖ and ‖η‖ of the frame's plane: one unit of α and of β in parameter space. */
  unitX: number;
  unitY: number;
  /** The next checkpoint relative to this frame's plane (absent at the last checkpoint). */
  next?: PathPoint & { /** ‖projection‖ / ‖step‖: the part of the step the plane shows. */ captured: number };
  /** Every checkpoint relative to this frame's plane, in checkpoint order. */
  path: PathPoint[];
}

export interface TrajectoryDoc {
  format: typeof TRAJECTORY_FORMAT;
  nearPlane: number;
  frames: FrameTrajectory[];
}

/** The trajectory relative to each frame's plane, from the run's checkpoints and directions files. */
export async function runTrajectory(store: RunStore, layout: ParamLayout, manifest: Manifest = store.readManifest()): Promise<TrajectoryDoc> {
  const thetas = await store.readCheckpoints();
  const order = [...thetas.keys()].sort((a, b) => a - b);
  const frames: FrameTrajectory[] = [];
  for (const f of manifest.frames) {
    const centre = thetas.get(f.checkpoint);
    if (!f.directions || !centre) continue;
    const dirs = await readDirectionFile(store.path(f.directions), layout);
    frames.push(frameTrajectory(f.checkpoint, centre.theta, dirs.dx, dirs.dy, order, (k) => thetas.get(k)!.theta));
  }
  return { format: TRAJECTORY_FORMAT, nearPlane: NEAR_PLANE, frames };
}

/** One frame: every checkpoint projected onto its plane, and the next one singled out. */
export function frameTrajectory(
  checkpoint: number,
  theta: Float32Array,
  dx: Float32Array,
  dy: Float32Array | undefined,
  order: readonly number[],
  weights: (k: number) => Float32Array,
): FrameTrajectory {
  const unitX = norm2(dx);
  const unitY = dy ? norm2(dy) : 0;
  const path = order.map((k): PathPoint => {
    const p = projectOntoPlane(theta, dx, dy, weights(k));
    return { checkpoint: k, ...p, near: p.offPlane <= NEAR_PLANE * unitX };
  });
  const out: FrameTrajectory = { checkpoint, unitX, unitY, path };
  const next = path.find((p) => p.checkpoint > checkpoint);
  if (next) {
    const captured = next.distance > 0 ? Math.sqrt(Math.max(0, next.distance ** 2 - next.offPlane ** 2)) / next.distance : 1;
    out.next = { ...next, captured };
  }
  return out;
}

/** Write trajectory.json of a run (atomically). */
export async function writeRunTrajectory(store: RunStore, layout: ParamLayout, manifest?: Manifest): Promise<TrajectoryDoc> {
  const doc = await runTrajectory(store, layout, manifest);
  writeAtomic(store.path(TRAJECTORY_FILE), `${JSON.stringify(doc)}\n`);
  return doc;
}

export interface RunPlanesOptions {
  /** ε of the hidden-saddle flag (default: the run's curvature section, else HIDDEN_SADDLE_EPSILON). */
  epsilon?: number;
  progress?: ProgressSink;
}

/**
 * For a finished run (`losscape planes RUN`): the hidden-curvature report of every frame's
 * plane (kept where one with the same ε exists) and trajectory.json. The manifest is re-read
 * and written after every frame, so an interrupted call resumes.
 */
export async function computeRunPlanes(dir: string, opts: RunPlanesOptions = {}): Promise<{ reports: FrameInfo[]; trajectory: TrajectoryDoc }> {
  const store = new RunStore(dir);
  if (!store.exists()) throw new LosscapeError('usage', `${dir} is not a run folder (no manifest.json)`);
  const cfg = resolveConfig(store.readManifest().config, `${dir}/manifest.json`);
  const epsilon = opts.epsilon ?? cfg.curvature?.epsilon ?? HIDDEN_SADDLE_EPSILON;
  const progress = opts.progress ?? silent;
  const thetas = await store.readCheckpoints();
  const engine = await runEvalEngine(cfg, {}, (l) => progress.warn(l));
  try {
    const todo = store.readManifest().frames.filter((f) => f.directions && thetas.has(f.checkpoint) && f.curvature?.epsilon !== epsilon);
    const task = progress.task('curvature reports', todo.length, 'planes');
    for (const [k, f] of todo.entries()) {
      const dirs = await readDirectionFile(store.path(f.directions!), engine.layout);
      if (dirs.dy) {
        const report = await planeCurvature(engine, thetas.get(f.checkpoint)!.theta, dirs.dx, dirs.dy, { epsilon });
        const m = store.readManifest();
        m.frames = m.frames.map((x) => (x.checkpoint === f.checkpoint ? { ...x, curvature: report } : x));
        store.writeManifest(m);
      }
      task.update(k + 1);
    }
    task.end();
    const m = store.readManifest();
    return { reports: m.frames.filter((f) => f.curvature), trajectory: await writeRunTrajectory(store, engine.layout, m) };
  } finally {
    await engine.dispose();
  }
}
