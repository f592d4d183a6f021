/**
 * What a study is, for the registry: its options in a study config (a zod
 * schema), its compute function, its figure, what `losscape study` prints
 * about it, and its command on a run folder (`losscape <kind> <run>`), all as
 * plain data and functions; the CLI builds its commands from them.
 */
import type { z } from 'zod';
import type { ProgressSink } from '../core/progress.js';
import type { FigureFiles } from './figure/svg.js';
import type { LoadedStudy } from './study-config.js';

/** Where a study prints: progress lines (stderr) and result lines (stdout, kept with --quiet). */
export interface StudyOutput {
  log(line: string): void;
  out(line: string): void;
}

/** What `losscape study` gives every study besides its options. */
export interface StudySettings {
  /** The study's output folder (the config's name under studies/, or --out). */
  out: string;
  fresh: boolean;
  progress: ProgressSink;
  /**
   * Only these variants of a variants study (trained and summarized; the study's tables, report
   * and figure are left to a run without it): separate processes can then train variants side by side.
   */
  variants?: string[];
}

/** How a flag's text becomes its value; a flag without one passes its text (or switch) on as given. */
export type FlagValue =
  | { type: 'number'; integer?: boolean; min?: number }
  | { type: 'choice'; choices: readonly string[] }
  | { type: 'parse'; parse(text: string, flag: string): unknown };

/** A flag of a study command, setting the option `key` of the compute function. */
export interface StudyFlag<K extends string = string> {
  /** Commander syntax: '--n <points>', '--no-center', '--fresh'. */
  flags: string;
  description: string;
  /** The default as typed (shown in the help). */
  default?: string;
  key: K;
  value?: FlagValue;
}

/** The sharpness flags (--no-sharpness, --epsilon, …; STUDY_SHARPNESS_DEFAULTS), setting the option `key`. */
export interface SharpnessFlags<K extends string = string> {
  group: 'sharpness';
  key: K;
}

export interface StudyCommand<Options, Result> {
  summary: string;
  description: string;
  /** The flags in the order of the help; every study command also gets --png. */
  flags: (StudyFlag | SharpnessFlags)[];
  /** The lines about the result (after the figure line). */
  print(result: Result, io: StudyOutput, input: { run: string; options: Options }): void;
}

interface StudyBase<Result> {
  kind: string;
  /** A few words for the summary of `losscape study` ("PCA", "pruning"). */
  label: string;
  /** Draw figure.svg (and figure.png) from the files the study wrote; undefined: this result has no figure. */
  figure(result: Result, png: boolean): Promise<FigureFiles | undefined>;
}

/**
 * A study of one run: `losscape <kind> <run>`, or a study config with `run:`
 * (or a `base:` trained first) and its options under the key named like the kind.
 */
export interface RunStudy<Spec extends z.ZodType = z.ZodType, Options = object | undefined, Result = object> extends StudyBase<Result> {
  input: 'run';
  /** Its options in a study config. */
  spec: Spec;
  compute(run: string, options: Options): Promise<Result>;
  /** The compute options from a study config: its options ({} without the key), the settings, the whole config. */
  configOptions(spec: Partial<z.output<Spec>>, s: StudySettings, study: LoadedStudy): Options;
  command: StudyCommand<Options, Result>;
  /** What `losscape study` prints about the result (after the figure line). */
  report(result: Result, io: StudyOutput, run: string): void;
}

/** A study of variants of a base run config, which it trains itself (`variants:` in a study config). */
export interface VariantsStudy<Result = object> extends StudyBase<Result> {
  input: 'variants';
  compute(study: LoadedStudy, s: StudySettings): Promise<Result>;
  report(result: Result, io: StudyOutput): void;
}

export type Study = RunStudy | VariantsStudy;

type FlagKey<O> = Extract<keyof NonNullable<O>, string>;

/** A run study, its flags checked against the options of its compute function. */
export function defineRunStudy<S extends z.ZodType, O, R>(
  d: RunStudy<S, O, R> & { command: { flags: (StudyFlag<FlagKey<O>> | SharpnessFlags<FlagKey<O>>)[] } },
): RunStudy<S, O, R> {
  return d;
}

export function defineVariantsStudy<R>(d: VariantsStudy<R>): VariantsStudy<R> {
  return d;
}
