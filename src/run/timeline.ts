/**
 * The curvature timeline of a run (config `curvature: { timeline: true }`): at every checkpoint,
 * while training, λmax against 2/η, the trace and ε-sharpness, and for Adam the preconditioned
 * λmax against Adam's threshold (hessian/timeline.ts), stored in the manifest's checkpoint rows
 * (checkpoints[k].curvature). The optimizer state the preconditioner needs exists only while
 * training, so checkpoints saved before an interruption keep no Adam value.
 */
import { isLearnable, type ParamLayout } from '../core/layout.js';
import type { LossEngine } from '../engine/engine.js';
import { type AdamPreconditioner, type CurvaturePoint, curvaturePoint } from '../hessian/timeline.js';
import { stepsPerEpoch } from '../train/loop.js';
import { scheduledRate } from '../train/schedule.js';
import { checkpointSteps, type TrainSpec } from '../train/train.js';

/** The timeline point of a checkpoint at `step`, with the optimizer state right after it. */
export function checkpointCurvature(
  engine: LossEngine,
  layout: ParamLayout,
  spec: TrainSpec,
  trainSize: number,
  c: { step: number; theta: Float32Array },
  optState: Float32Array[],
): Promise<CurvaturePoint> {
  const total = checkpointSteps(spec, trainSize).at(-1) ?? 1;
  const lr = scheduledRate(spec.schedule, spec.optimizer.lr, c.step, total, stepsPerEpoch(trainSize, spec.batchSize));
  return curvaturePoint(engine, c.theta, lr, adamPreconditioner(spec, layout, c.step, optState));
}

/** Adam's second moments as a flat vector in the layout (state slot 1 of each tensor). */
function adamPreconditioner(spec: TrainSpec, layout: ParamLayout, step: number, optState: Float32Array[]): AdamPreconditioner | undefined {
  const o = spec.optimizer;
  if (o.type !== 'adam' || optState.length !== 2 * layout.entries.length) return undefined;
  const v = new Float32Array(layout.size);
  const learnable = new Uint8Array(layout.size);
  layout.entries.forEach((e, k) => {
    v.set(optState[2 * k + 1]!, e.offset);
    if (isLearnable(e.role)) learnable.fill(1, e.offset, e.offset + e.size);
  });
  return { v, learnable, step, beta1: o.beta1, beta2: o.beta2, eps: o.eps };
}
