/**
 * Learning-rate schedules over the optimizer steps of a run, as in PyTorch's schedulers stepped
 * once per epoch (the rate is constant within an epoch):
 *   constant:  η
 *   cosine:    η · ½(1 + cos(π·step/total))            (CosineAnnealingLR, η_min = 0, per step)
 *   step:      η · γ^k, k = number of milestones ≤ the current epoch   (MultiStepLR)
 * Milestones are epochs, or fractions of the run in (0, 1), rounded to the nearest epoch (Li et
 * al. 2018 train ResNets on CIFAR-10 for 300 epochs at η = 0.1, ×0.1 at epochs 150, 225 and 275:
 * milestones [0.5, 0.75, 0.9167] at any length).
 * Any of them may start with a linear warm-up (Goyal et al. 2017): `{ type: cosine, warmup: 2 }`
 * scales the rate of step t by (t + 1)/(2 · steps per epoch) during the first 2 epochs (deep plain
 * nets with batch norm diverge at η = 0.1 from initialization without it).
 */
import { z } from 'zod';

/** Epochs of linear warm-up (fractional allowed). */
const Warmup = z.number().nonnegative().optional();

export const ScheduleSpec = z.union([
  z.enum(['constant', 'cosine']),
  z.object({ type: z.enum(['constant', 'cosine']), warmup: Warmup }).strict(),
  z
    .object({
      type: z.literal('step'),
      milestones: z.array(z.number().positive()).min(1),
      gamma: z.number().positive().default(0.1),
      warmup: Warmup,
    })
    .strict(),
]);
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

/** The epoch a milestone names, for a run of `epochs` epochs. */
function milestoneEpoch(m: number, epochs: number): number {
  return m < 1 ? Math.round(m * epochs) : m;
}

/** The learning rate of optimizer step `step` (0-based) of `total`, with `perEpoch` steps per epoch. */
export function scheduledRate(schedule: ScheduleSpec, lr: number, step: number, total: number, perEpoch: number): number {
  const type = typeof schedule === 'string' ? schedule : schedule.type;
  const warmupSteps = typeof schedule === 'string' ? 0 : (schedule.warmup ?? 0) * perEpoch;
  const ramp = step < warmupSteps ? (step + 1) / warmupSteps : 1;
  if (type === 'constant') return ramp * lr;
  if (type === 'cosine') return ramp * 0.5 * lr * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
  const s = schedule as Extract<ScheduleSpec, { type: 'step' }>;
  const epoch = Math.floor(step / perEpoch);
  const epochs = total / perEpoch;
  const k = s.milestones.filter((m) => milestoneEpoch(m, epochs) <= epoch).length;
  return ramp * lr * s.gamma ** k;
}
