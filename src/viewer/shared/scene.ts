/**
 * The scene: everything the viewer draws, as one JSON document. The Node side
 * builds it from run folders (`loadScene`), the server serves it as
 * `scene.json`, the report inlines it. The browser never reads HDF5 itself, so
 * there is one code path for the live viewer, the report, the video and the
 * snapshot.
 *
 * This file imports only its sibling type files and uses no Node APIs: the browser bundle uses it too.
 * Float arrays travel as base64 of little-endian float32 (NaN = unfinished).
 */

import type { CurvatureRow, PlaneFrameScene } from './planes.js';

export const SCENE_FORMAT = 'losscape-scene/1';

export interface Axis {
  min: number;
  max: number;
  n: number;
}

/** Values over a 2-D grid; each channel is row-major [ny, nx], element [i, j] = (x[j], y[i]). */
export interface FieldSet {
  x: Axis;
  y: Axis;
  /** channel name (train_loss, train_acc, test_loss, test_acc, eig_ratio, …) → base64 float32. */
  channels: Record<string, string>;
}

/** One row of training history (any field may be missing). */
export interface MetricRow {
  step: number;
  epoch?: number;
  train_loss?: number;
  train_acc?: number;
  test_loss?: number;
  test_acc?: number;
}

export interface FrameScene {
  /** Index into the run's checkpoints. */
  checkpoint: number;
  step?: number;
  epoch?: number;
  surface: FieldSet;
  /** Eigenvalue maps (eig_ratio = |λmin/λmax|, max_eig, min_eig, certified 0/1 where checked); its grid may be coarser. */
  hessian?: FieldSet;
  /** The loss range over other evaluation subsets along the centre row and column (data.subset.errorBars). */
  spread?: SpreadScene;
}

/** Min and max of the loss over K other subsets along one line of the surface grid (base64 float32). */
export interface SpreadLine {
  lo: string;
  hi: string;
}

export interface SpreadScene {
  /** Number of other subsets. */
  k: number;
  /** The row lies at β = rowY (values at the surface's x coordinates). */
  rowY: number;
  row: SpreadLine;
  /** The column lies at α = colX (values at the surface's y coordinates); 2-D surfaces only. */
  colX?: number;
  col?: SpreadLine;
}

export interface PcaScene {
  /** The loss over the PCA plane of the trajectory (absent if not computed). */
  surface?: FieldSet;
  /** Checkpoint k's position in the plane, in the same order as `checkpoints`. */
  path: [number, number][];
  /** Fraction of variance explained by the two components. */
  explained?: [number, number];
}

export interface RunScene {
  name: string;
  /** The folder as given on the command line (for messages). */
  source: string;
  status?: string;
  model?: string;
  data?: string;
  /** Number of train samples the landscapes are evaluated on (the evaluation subset). */
  subset?: number;
  /** Checkpoint metrics are on the full splits; the surfaces on the subset. */
  history: MetricRow[];
  checkpoints: (MetricRow & { index: number })[];
  frames: FrameScene[];
  pca?: PcaScene;
  /** Per frame: the plane's hidden-curvature report and the trajectory relative to it (./planes.ts). */
  planes?: PlaneFrameScene[];
  /** The curvature timeline: λmax against 2/η at every checkpoint that has one (./planes.ts). */
  curvature?: CurvatureRow[];
  /** Things that were skipped but did not stop the run from showing. */
  warnings: string[];
  /** Set when the run cannot be shown at all (missing, corrupt, no frames). */
  error?: string;
}

export interface Scene {
  format: typeof SCENE_FORMAT;
  runs: RunScene[];
}
