/**
 * Scene data about how honest each frame's plane is (src/run/planes.ts writes it into the run):
 * the hidden-curvature report of the plane, and where the next checkpoint and the rest of the
 * training path lie relative to it. No imports and no Node APIs (the browser bundle uses it).
 */

export interface CurvatureScene {
  /** δᵀHδ/‖δ‖² and ηᵀHη/‖η‖². */
  curvatureX: number;
  curvatureY: number;
  /** Eigenvalues of the Hessian compressed to the plane, ascending. */
  planeEigenvalues: number[];
  lambdaMin: number;
  lambdaMax: number;
  epsilon: number;
  hiddenSaddle: boolean;
}

export interface PathPointScene {
  checkpoint: number;
  alpha: number;
  beta: number;
  /** Distance from the plane in parameter space. */
  offPlane: number;
  /** Distance from the frame's centre. */
  distance: number;
  /** Within the run's near-plane tolerance. */
  near: boolean;
}

export interface PlaneFrameScene {
  checkpoint: number;
  curvature?: CurvatureScene;
  /** ‖δ‖: one unit of α in parameter space. */
  unitX?: number;
  /** The next checkpoint relative to this frame's plane; `captured` = ‖projection‖/‖step‖. */
  next?: PathPointScene & { captured: number };
  /** Every checkpoint relative to this frame's plane. */
  path?: PathPointScene[];
}

/** One checkpoint of the curvature timeline (run/timeline.ts). */
export interface CurvatureRow {
  checkpoint: number;
  step: number;
  lambdaMax: number;
  /** 2/η at this step. */
  threshold: number;
  trace: number;
  epsSharpness: number;
  /** Adam: λmax(P⁻¹H) and its threshold (2 + 2β1)/((1 − β1)η). */
  preconditionedLambdaMax?: number;
  preconditionedThreshold?: number;
}
