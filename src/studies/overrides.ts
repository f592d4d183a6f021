/** Partial changes of a run config (a study's `override`, a comparison's variants). */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * Deep merge of a partial override into a base (both plain JSON). Objects merge
 * key by key, everything else (arrays included) is replaced. An object with a
 * `type` other than the base's (model type, optimizer type) replaces the base
 * object instead of merging, so its own defaults apply.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? base : over;
  if ('type' in over && 'type' in base && over.type !== base.type) return structuredClone(over);
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** "model.batchNorm=true, train.optimizer.lr=0.1" (for tables). */
export function describeOverride(over: unknown, prefix = ''): string {
  if (!isObj(over)) return prefix ? `${prefix}=${JSON.stringify(over)}` : '';
  const parts = Object.entries(over).map(([k, v]) => describeOverride(v, prefix ? `${prefix}.${k}` : k));
  return parts.filter(Boolean).join(', ');
}
