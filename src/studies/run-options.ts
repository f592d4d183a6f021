/**
 * Options that most single-run studies share (the checkpoint, the grid axes,
 * the engine backend, the output folder, recomputing): their keys in a study
 * config and their command flags.
 */
import { z } from 'zod';
import { BACKEND_CHOICES, BACKEND_HELP } from '../engine/registry.js';
import type { StudyFlag } from './definition.js';

/** checkpoint, x, y, backend: the last keys of a run study's options in a config. */
export const RUN_STUDY_KEYS = {
  checkpoint: z.number().int().min(0).optional(),
  x: z.string().optional(),
  y: z.string().optional(),
  backend: z.enum(BACKEND_CHOICES).optional(),
};

export const checkpointFlag: StudyFlag<'checkpoint'> = {
  flags: '--checkpoint <k>',
  description: 'checkpoint index (default: the last)',
  key: 'checkpoint',
  value: { type: 'number', integer: true, min: 0 },
};

export const xFlag: StudyFlag<'x'> = { flags: '--x <min:max:n>', description: "x axis (default: the run's surface grid)", key: 'x' };

export const yFlag: StudyFlag<'y'> = { flags: '--y <min:max:n>', description: 'y axis', key: 'y' };

export const backendFlag: StudyFlag<'backend'> = {
  flags: '--backend <name>',
  description: BACKEND_HELP,
  key: 'backend',
  value: { type: 'choice', choices: BACKEND_CHOICES },
};

/** --out with the default folder named in the help ("<run>/studies/taylor-ckpt-K"). */
export function outFlag(defaultFolder: string): StudyFlag<'out'> {
  return { flags: '--out <dir>', description: `output folder (default ${defaultFolder})`, key: 'out' };
}

export const freshFlag: StudyFlag<'fresh'> = { flags: '--fresh', description: 'recompute results computed with other settings', key: 'fresh' };
