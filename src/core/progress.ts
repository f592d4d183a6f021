/**
 * Progress reporting, decoupled from any terminal: the library reports through
 * a sink; the CLI renders it (bars with ETA), tests and scripts pass `silent`.
 */
export interface ProgressTask {
  /** `total` re-estimates the work (e.g. an iteration that converges before its cap). */
  update(done: number, info?: string, total?: number): void;
  end(): void;
}

export interface ProgressSink {
  task(label: string, total: number, unit?: string): ProgressTask;
  /** One line of information (where results are, what was resumed…). */
  log(line: string): void;
  warn(line: string): void;
}

export const silent: ProgressSink = {
  task: () => ({ update() {}, end() {} }),
  log() {},
  warn() {},
};
