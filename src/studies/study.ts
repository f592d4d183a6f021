/**
 * One config, one command: `losscape study <config>` runs any registered
 * study kind. Comparisons train their variants; the single-run kinds use
 * `run` (an existing folder) or train `base` (+ `override`) into <out>/run
 * first. Every study ends with its figure.
 */
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { type ProgressSink, silent } from '../core/progress.js';
import { resolveConfig } from '../run/config.js';
import { runConfigHash, runPipeline } from '../run/pipeline.js';
import { RunStore } from '../store/run-store.js';
import type { Study, StudyOutput, StudySettings } from './definition.js';
import type { FigureFiles } from './figure/svg.js';
import { studyOf } from './registry.js';
import { type LoadedStudy, overriddenBase, studyPath } from './study-config.js';
import { writeJson } from './tables.js';

export interface RunStudyOptions {
  /** Output folder (default studies/<name>). */
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Render figure.png too. */
  png?: boolean;
  /** Only these variants (`study: compare`; see StudySettings.variants). */
  variants?: string[];
}

export interface StudyRun {
  kind: string;
  /** The run folder a single-run study looked at. */
  run?: string;
  result: object;
  figure?: FigureFiles;
  /** Print what `losscape study` says about the result. */
  report(io: StudyOutput): void;
}

export async function runStudy(s: LoadedStudy, o: RunStudyOptions = {}): Promise<StudyRun> {
  const progress = o.progress ?? silent;
  const settings: StudySettings = { out: o.out ?? join('studies', s.config.name), fresh: Boolean(o.fresh), progress, variants: o.variants };
  const png = Boolean(o.png);
  const def = studyOf(s.config.study);
  if (def.input === 'variants') {
    const result = await def.compute(s, settings);
    const figure = await drawFigure(def, result, png, progress.warn);
    return { kind: def.kind, result, figure, report: (io) => def.report(result, io) };
  }
  if (o.variants) throw new LosscapeError('usage', `--variant: only a study of variants has them ("study: ${s.config.study}" studies one run)`);
  const run = await studyRun(s, settings);
  const spec = (s.config[def.kind] ?? {}) as object;
  writeJson(join(settings.out, 'study.json'), { study: def.kind, name: s.config.name, source: s.source, run, options: spec });
  const result = await def.compute(run, def.configOptions(spec, settings, s));
  const figure = await drawFigure(def, result, png, progress.warn);
  return { kind: def.kind, run, result, figure, report: (io) => def.report(result, io, run) };
}

/** A study's figure; a failure (no Chromium for the PNG, …) is a warning, not a failed study. */
export async function drawFigure(def: Study, result: object, png: boolean, warn: (l: string) => void): Promise<FigureFiles | undefined> {
  try {
    return await def.figure(result, png);
  } catch (e) {
    warn(`no figure: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** The run a single-run study works on: an existing folder, or the base config trained into <out>/run. */
async function studyRun(s: LoadedStudy, o: StudySettings): Promise<string> {
  if (s.config.run) return studyPath(s, s.config.run);
  const raw = overriddenBase(s);
  raw.name ??= s.config.name;
  const cfg = resolveConfig(raw, `${s.source}: base`);
  const dir = join(o.out, 'run');
  const store = new RunStore(dir);
  if (store.exists() && !o.fresh) {
    const m = store.readManifest();
    if (m.status === 'complete' && m.configHash === runConfigHash(cfg)) {
      o.progress.log(`${dir}: trained, skipped`);
      return dir;
    }
  }
  await runPipeline(cfg, dir, { fresh: o.fresh, progress: o.progress });
  return dir;
}
