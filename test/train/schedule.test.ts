import { describe, expect, it } from 'vitest';
import { ScheduleSpec, scheduledRate } from '../../src/train/schedule.js';

describe('learning-rate schedules', () => {
  it("step: MultiStepLR's rate per epoch, milestones as epochs or fractions (Li et al.'s 150/225/275 of 300)", () => {
    const paper = ScheduleSpec.parse({ type: 'step', milestones: [150, 225, 275] });
    const per = 391; // CIFAR-10 at batch 128
    const total = 300 * per;
    const at = (epoch: number) => scheduledRate(paper, 0.1, epoch * per, total, per);
    expect(at(0)).toBe(0.1);
    expect(at(149)).toBe(0.1);
    expect(at(150)).toBeCloseTo(0.01, 12);
    expect(at(224)).toBeCloseTo(0.01, 12);
    expect(at(225)).toBeCloseTo(0.001, 12);
    expect(at(275)).toBeCloseTo(0.0001, 12);
    // the same schedule as fractions, on a 12-epoch run: milestones at epochs 6, 9, 11
    const frac = ScheduleSpec.parse({ type: 'step', milestones: [0.5, 0.75, 0.9167], gamma: 0.1 });
    const rates = Array.from({ length: 12 }, (_, e) => scheduledRate(frac, 1, e * 10 + 9, 120, 10));
    expect(rates.map((r) => Math.round(Math.log10(r)))).toEqual([0, 0, 0, 0, 0, 0, -1, -1, -1, -2, -2, -3]);
  });
  it('cosine goes from η to η/2 at half way to 0; constant stays', () => {
    expect(scheduledRate('cosine', 0.2, 0, 100, 10)).toBeCloseTo(0.2, 12);
    expect(scheduledRate('cosine', 0.2, 50, 100, 10)).toBeCloseTo(0.1, 12);
    expect(scheduledRate('cosine', 0.2, 100, 100, 10)).toBeCloseTo(0, 12);
    expect(scheduledRate('constant', 0.2, 77, 100, 10)).toBe(0.2);
  });
  it('a linear warm-up ramps any schedule over its first epochs, then leaves it as it was', () => {
    const per = 10;
    const warm = ScheduleSpec.parse({ type: 'cosine', warmup: 2 });
    expect(scheduledRate(warm, 0.1, 0, 100, per)).toBeCloseTo(0.1 * (1 / 20) * 0.5 * (1 + Math.cos(0)), 12);
    expect(scheduledRate(warm, 0.1, 9, 100, per)).toBeCloseTo(0.1 * (10 / 20) * 0.5 * (1 + Math.cos((Math.PI * 9) / 100)), 12);
    for (const t of [20, 50, 99]) expect(scheduledRate(warm, 0.1, t, 100, per)).toBe(scheduledRate('cosine', 0.1, t, 100, per));
    const step = ScheduleSpec.parse({ type: 'step', milestones: [5], warmup: 0.5 });
    expect(scheduledRate(step, 1, 0, 100, per)).toBeCloseTo(0.2, 12);
    expect(scheduledRate(step, 1, 4, 100, per)).toBeCloseTo(1, 12);
    expect(scheduledRate(step, 1, 50, 100, per)).toBeCloseTo(0.1, 12);
    expect(scheduledRate(ScheduleSpec.parse({ type: 'constant', warmup: 1 }), 0.5, 3, 100, per)).toBeCloseTo(0.2, 12);
    expect(ScheduleSpec.safeParse({ type: 'cosine', warmup: -1 }).success).toBe(false);
  });
});
