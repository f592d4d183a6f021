/**
 * The lowering rules of jaxprToOnnx by primitive name: one table per family (rules/*.ts), merged
 * here. `lowerEqn` looks an equation's primitive up; `coveredPrimitives()` lists what compiles.
 */

import { type Eqn, type Lowering, type LoweringRule, paramsString, unsupported, type Val } from './lowering.js';
import { convRules } from './rules/conv.js';
import { dotRules } from './rules/dot.js';
import { elementwiseRules } from './rules/elementwise.js';
import { reduceRules } from './rules/reduce.js';
import { shapeRules } from './rules/shape.js';

const FAMILIES: Record<string, LoweringRule>[] = [elementwiseRules, shapeRules, reduceRules, dotRules, convRules];

/** Primitives that have no ONNX form on purpose, and what to do instead. */
const REFUSED = new Map([['random_bits', 'generate random numbers (e.g. dropout masks) outside and pass them in as inputs']]);

const RULES: ReadonlyMap<string, LoweringRule> = merge(FAMILIES);

function merge(families: Record<string, LoweringRule>[]): Map<string, LoweringRule> {
  const rules = new Map<string, LoweringRule>();
  for (const family of families) {
    for (const [prim, rule] of Object.entries(family)) {
      if (rules.has(prim)) throw new Error(`jaxprToOnnx: two lowering rules for ${prim}`);
      rules.set(prim, rule);
    }
  }
  return rules;
}

/** The primitives jaxprToOnnx lowers, sorted (nested `jit` is inlined before lowering). */
export function coveredPrimitives(): string[] {
  return [...RULES.keys()].sort();
}

/** The Vals of `eqn`'s outputs; a primitive without a rule throws one line naming it and its params. */
export function lowerEqn(L: Lowering, eqn: Eqn): Val[] {
  const rule = RULES.get(eqn.primitive);
  if (rule) return rule(L, eqn);
  const advice = REFUSED.get(eqn.primitive);
  if (advice) throw new Error(`jaxprToOnnx: ${eqn.primitive} ${paramsString(eqn.params)} cannot be compiled to ONNX; ${advice}`);
  throw unsupported(eqn);
}
