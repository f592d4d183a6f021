import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/run/config.js';
import { planVariants } from '../../src/studies/compare/study.js';
import { loadStudyFile } from '../../src/studies/config.js';
import { deepMerge } from '../../src/studies/overrides.js';
import { rawBase } from '../../src/studies/study-config.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('example study configs', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  it('there is one per seed question', () => {
    for (const f of [
      'bn-vs-none',
      'skip-vs-noskip',
      'batch-size',
      'train-vs-eval',
      'pca-trajectory',
      'pruning',
      'direction-variability',
      'subset-fidelity',
      'taylor-view',
    ]) {
      expect(files).toContain(`${f}.yaml`);
    }
  });
  for (const f of files) {
    it(`${f} is valid`, () => {
      const s = loadStudyFile(join(EXAMPLES, f));
      if (s.config.study === 'compare') expect(planVariants(s, '/tmp/x').length).toBeGreaterThanOrEqual(2);
      else expect(() => resolveConfig(deepMerge(rawBase(s), s.config.override ?? {}))).not.toThrow();
    });
  }
});
