/**
 * The one error type for failures a user can act on, each with a kind that fixes its exit
 * code. The CLI prints such an error as one line (`losscape: <message>`) and exits with
 * EXIT_CODES[kind]; anything else is a bug or an environment failure and exits 1.
 */

/**
 * - usage:  a flag or argument is wrong
 * - config: a run or study config is wrong
 * - input:  a file, model, data set or run folder cannot be used as given
 * - state:  what is on disk disagrees with the request (a result made with other settings,
 *           a run made with another config, a run folder in use)
 * - failed: the computation itself failed (training diverged, a tool it needs is missing)
 */
export type ErrorKind = 'usage' | 'config' | 'input' | 'state' | 'failed';

/** Exit codes by kind: 2 for everything the user fixes by changing the request, 1 otherwise. */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = { usage: 2, config: 2, input: 2, state: 2, failed: 1 };

export class LosscapeError extends Error {
  override name = 'LosscapeError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The process exit code for an error thrown out of a command. */
export function exitCodeOf(e: unknown): number {
  return e instanceof LosscapeError ? EXIT_CODES[e.kind] : 1;
}
