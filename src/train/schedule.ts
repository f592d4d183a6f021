/**
 * Learning-rate schedules over the optimizer steps of a run, as in PyTorch's schedulers stepped
 * once per epoch (the rate is constant within an epoch):
 *   constant:  η
 *   cosine:    η · ½(1 + cos(π·step/total))            (CosineAnnealingLR, η_min = 0, per step)
 *   step:      η · γ^k, k = number of milestones ≤ the current epoch   (MultiStepLR)
 * Milestones are epochs, or fractions of the run in (0, 1), rounded to the nearest epoch (Li et
 * al. 2018 train ResNets on CIFAR-10 for 300 epochs at η = 0.1, ×0.1 at epochs 150, 225 and 275:
 * milestones [0.5, 0.75, 0.9167] at any length).
 */
import { z } from 'zod';

export const ScheduleSpec = z.union([
  z.enum(['constant', 'cosine']),
  z
    .object({
      type: z.literal('step'),
      milestones: z.array(z.number().positive()).min(1),
      gamma: z.number().positive().default(0.1),
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
  if (schedule === 'constant') return lr;
  if (schedule === 'cosine') return 0.5 * lr * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
  const epoch = Math.floor(step / perEpoch);
  const epochs = total / perEpoch;
  const k = schedule.milestones.filter((m) => milestoneEpoch(m, epochs) <= epoch).length;
  return lr * schedule.gamma ** k;
}
