/**
 * Every study kind, in the order the configs, commands and help list them.
 * A new kind is a folder src/studies/<kind>/ whose index.ts defines it
 * (definition.ts) and one line here; config.ts, study.ts and the CLI take
 * everything else from this list.
 */
import { compare } from './compare/index.js';
import type { Study } from './definition.js';
import { fidelity } from './fidelity/index.js';
import { modes } from './modes/index.js';
import { pca } from './pca/index.js';
import { prune } from './prune/index.js';
import { taylor } from './taylor/index.js';
import { variability } from './variability/index.js';

export const STUDIES: readonly Study[] = [compare, pca, modes, prune, variability, fidelity, taylor];

export function studyOf(kind: string): Study {
  const s = STUDIES.find((x) => x.kind === kind);
  if (!s) throw new Error(`unknown study kind "${kind}"`);
  return s;
}
