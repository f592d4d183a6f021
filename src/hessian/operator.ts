/** The Hessian of an engine's mean loss at θ as an operator over a parameter selection. */
import type { Vec } from '../core/layout.js';
import type { LossEngine } from '../engine/engine.js';
import { type HessianOperator, hessianOperatorOf, type ParamSelection } from '../linalg/hessian-operator.js';

/**
 * H(θ) of the engine's mean loss, restricted to `params`, through engine.hvp; coordinates the
 * engine knows to have zero Hessian rows are left out (and counted as zero eigenvalues).
 */
export function hessianOperator(engine: LossEngine, theta: Vec, params: ParamSelection = 'all'): HessianOperator {
  return hessianOperatorOf((t, v) => engine.hvp(t, v), engine.layout, theta, params, engine.hessianNullCoordinates?.());
}
