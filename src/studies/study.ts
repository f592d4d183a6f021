/**
 * One config, one command: `losscape study <config>` runs any study kind.
 * Comparisons train their variants; the single-run kinds use `run` (an
 * existing folder) or train `base` (+ `override`) into <out>/run first.
 */
import { join } from 'node:path';
import { type ProgressSink, silent } from '../core/progress.js';
import { resolveConfig } from '../run/config.js';
import { runConfigHash, runPipeline } from '../run/pipeline.js';
import { RunStore } from '../store/run-store.js';
import { deepMerge, parseSize, writeJson } from './common.js';
import { type CompareResult, compareStudy } from './compare.js';
import { type LoadedStudy, rawBase, studyPath } from './config.js';
import { type FidelityResult, fidelityStudy } from './fidelity.js';
import { type ModesResult, modesStudy } from './modes.js';
import { type PcaStudyResult, pcaStudy } from './pca.js';
import { type PruneStudyResult, pruneStudy } from './prune.js';
import { type TaylorStudyResult, taylorStudy } from './taylor.js';
import { type VariabilityResult, variabilityStudy } from './variability.js';

export type StudyResult =
  | { kind: 'compare'; run?: undefined; result: CompareResult }
  | { kind: 'pca'; run: string; result: PcaStudyResult }
  | { kind: 'modes'; run: string; result: ModesResult }
  | { kind: 'prune'; run: string; result: PruneStudyResult }
  | { kind: 'variability'; run: string; result: VariabilityResult }
  | { kind: 'fidelity'; run: string; result: FidelityResult }
  | { kind: 'taylor'; run: string; result: TaylorStudyResult };

export interface RunStudyOptions {
  /** Output folder (default studies/<name>). */
  out?: string;
  fresh?: boolean;
  progress?: ProgressSink;
  /** Render figure.png too. */
  png?: boolean;
}

/** The run a single-run study works on: an existing folder, or the base config trained into <out>/run. */
async function studyRun(s: LoadedStudy, out: string, fresh: boolean, progress: ProgressSink): Promise<string> {
  if (s.config.run) return studyPath(s, s.config.run);
  const raw = deepMerge(rawBase(s), s.config.override ?? {}) as Record<string, unknown>;
  raw.name ??= s.config.name;
  const cfg = resolveConfig(raw, `${s.source}: base`);
  const dir = join(out, 'run');
  const store = new RunStore(dir);
  if (store.exists() && !fresh) {
    const m = store.readManifest();
    if (m.status === 'complete' && m.configHash === runConfigHash(cfg)) {
      progress.log(`${dir}: trained, skipped`);
      return dir;
    }
  }
  await runPipeline(cfg, dir, { fresh, progress });
  return dir;
}

export async function runStudy(s: LoadedStudy, o: RunStudyOptions = {}): Promise<StudyResult> {
  const progress = o.progress ?? silent;
  const out = o.out ?? join('studies', s.config.name);
  const fresh = Boolean(o.fresh);
  const png = Boolean(o.png);
  const c = s.config;
  if (c.study === 'compare') return { kind: 'compare', result: await compareStudy(s, { out, fresh, progress, png }) };
  const run = await studyRun(s, out, fresh, progress);
  writeJson(join(out, 'study.json'), { study: c.study, name: c.name, source: s.source, run, options: c[c.study] ?? {} });
  switch (c.study) {
    case 'pca': {
      const p = c.pca ?? {};
      return { kind: 'pca', run, result: await pcaStudy(run, { ...p, fresh, progress, png }) };
    }
    case 'modes':
      return { kind: 'modes', run, result: await modesStudy(run, { ...(c.modes ?? {}), out: join(out, 'modes'), fresh, progress, png }) };
    case 'prune': {
      const p = c.prune ?? {};
      return {
        kind: 'prune',
        run,
        result: await pruneStudy(run, { ...p, sharpness: c.sharpness, out: join(out, 'prune'), fresh, progress, png }),
      };
    }
    case 'variability':
      return {
        kind: 'variability',
        run,
        result: await variabilityStudy(run, { ...(c.variability ?? {}), out: join(out, 'variability'), fresh, progress, png }),
      };
    case 'fidelity': {
      const { sizes: raw, ...f } = c.fidelity ?? { sizes: undefined };
      const sizes = raw?.map((v: string | number) => (typeof v === 'number' ? v : parseSize(v)));
      return { kind: 'fidelity', run, result: await fidelityStudy(run, { ...f, sizes, out: join(out, 'fidelity'), fresh, progress, png }) };
    }
    case 'taylor':
      return { kind: 'taylor', run, result: await taylorStudy(run, { ...(c.taylor ?? {}), out: join(out, 'taylor'), fresh, progress, png }) };
  }
}
