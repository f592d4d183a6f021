/**
 * Study configs: one YAML/JSON file per research question, validated with zod
 * against the registry: the common keys (study-config.ts), `study:` one of the
 * registered kinds, and each single-run kind's options under a key named like it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LosscapeError } from '../core/errors.js';
import type { RunStudy } from './definition.js';
import { STUDIES } from './registry.js';
import { COMMON_STUDY_KEYS, type LoadedStudy, type StudyConfig } from './study-config.js';

export const STUDY_KINDS = STUDIES.map((s) => s.kind);

const RUN_STUDIES = STUDIES.filter((s): s is RunStudy => s.input === 'run');

/** The kind of a config without `study:` but with `variants:`. */
const VARIANTS_KIND = STUDIES.find((s) => s.input === 'variants')?.kind;

const StudyConfigSchema = z
  .object({
    study: z.enum(STUDY_KINDS as [string, ...string[]]).optional(),
    ...COMMON_STUDY_KEYS,
    ...Object.fromEntries(RUN_STUDIES.map((s) => [s.kind, s.spec.optional()])),
  })
  .strict()
  .superRefine((c, ctx) => {
    const kind = c.study ?? (c.variants ? VARIANTS_KIND : undefined);
    if (!kind) {
      ctx.addIssue({ code: 'custom', path: ['study'], message: `say which study: one of ${STUDY_KINDS.join(', ')}` });
      return;
    }
    if (kind === VARIANTS_KIND) {
      if (!c.base) ctx.addIssue({ code: 'custom', path: ['base'], message: 'a comparison needs a base run config' });
      if (!c.variants || Object.keys(c.variants).length < 1)
        ctx.addIssue({ code: 'custom', path: ['variants'], message: 'give at least one variant (name: partial override)' });
      if (c.run)
        ctx.addIssue({ code: 'custom', path: ['run'], message: 'a comparison trains its variants from the base config; "run" is for the single-run studies' });
    } else {
      if (c.variants) ctx.addIssue({ code: 'custom', path: ['variants'], message: `variants belong to "study: ${VARIANTS_KIND}", not "${kind}"` });
      if (Boolean(c.run) === Boolean(c.base))
        ctx.addIssue({ code: 'custom', path: ['run'], message: 'give either "run" (an existing run folder) or "base" (a run config to train first)' });
    }
    for (const { kind: k } of RUN_STUDIES) {
      if (k !== kind && (c as Record<string, unknown>)[k]) ctx.addIssue({ code: 'custom', path: [k], message: `options for "${k}" in a "${kind}" study` });
    }
  });

export function parseStudyConfig(raw: unknown, source = 'study', dir = '.'): LoadedStudy {
  const r = StudyConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new LosscapeError('config', lines.join('\n'));
  }
  const config = { ...r.data, study: r.data.study ?? VARIANTS_KIND } as StudyConfig;
  return { config, dir, source };
}

export function loadStudyFile(path: string): LoadedStudy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LosscapeError('config', `${path}: cannot read the study config`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new LosscapeError('config', `${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new LosscapeError('config', `${path}: the study config must be a mapping (study, name, base, variants, …)`);
  return parseStudyConfig(raw, path, dirname(resolve(path)));
}
