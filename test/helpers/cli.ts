/** Runs the built CLI (dist/) as a child process. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/losscape.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function cliAsync(args: string[], opts: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The lines a failing command printed on stderr (non-empty ones). */
export function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** A tiny, fast run config: spirals, small MLP, 2 epochs, 9×7 landscapes. */
export function tinyConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    data: { source: 'spirals', n: 600, subset: { size: 120, seed: 1 }, testSubset: { size: 60, seed: 1 } },
    model: { type: 'mlp', hidden: [16], activation: 'tanh' },
    train: { epochs: 2, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 }, seed: 3 },
    surface: { x: '-1:1:9', y: '-0.5:0.5:7', chunk: 8 },
    ...over,
  };
}
