/**
 * Computations on the Hessian operator at one θ that an engine may run where its HVPs are: an
 * engine whose HVPs live in a worker thread runs the whole task there, so that no vector
 * crosses threads per HVP (LossEngine.hessianTask). Tasks are found by name; their options and
 * results are plain data that a worker can post back.
 */
import { extremeEigenvalues } from './extremes.js';
import type { HessianOperator, ParamSelection } from './hessian-operator.js';

export const HESSIAN_TASKS = {
  /** λmax and λmin (and the top-k) from one Lanczos run. */
  extremes: extremeEigenvalues,
} satisfies Record<string, (op: HessianOperator, dtype: 'float32' | 'float64', options: never) => Promise<unknown>>;

export type HessianTaskName = keyof typeof HESSIAN_TASKS;
export type HessianTaskOptions<K extends HessianTaskName> = NonNullable<Parameters<(typeof HESSIAN_TASKS)[K]>[2]>;
export type HessianTaskResult<K extends HessianTaskName> = Awaited<ReturnType<(typeof HESSIAN_TASKS)[K]>>;

export interface HessianTask<K extends HessianTaskName = HessianTaskName> {
  name: K;
  /** The parameter tensors whose Hessian block the task sees. */
  params: ParamSelection;
  options: HessianTaskOptions<K>;
}

/** Runs `task` on `op` (the Hessian at θ over `task.params`), whose HVPs are in `dtype`. */
export function runHessianTask<K extends HessianTaskName>(
  op: HessianOperator,
  dtype: 'float32' | 'float64',
  task: HessianTask<K>,
): Promise<HessianTaskResult<K>> {
  const run = HESSIAN_TASKS[task.name] as (op: HessianOperator, dtype: 'float32' | 'float64', options: HessianTaskOptions<K>) => Promise<HessianTaskResult<K>>;
  if (!run) throw new Error(`unknown Hessian task "${String(task.name)}"`);
  return run(op, dtype, task.options);
}
