import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { parseStudyConfig, STUDY_KINDS } from '../../src/studies/config.js';
import { STUDIES } from '../../src/studies/registry.js';

describe('study registry', () => {
  const program = buildProgram();
  const command = (name: string) => program.commands.find((c) => c.name() === name);

  it('every run study is a command on a run folder with its flags, --png and its help', () => {
    for (const s of STUDIES) {
      if (s.input !== 'run') {
        expect(command(s.kind)).toBeUndefined();
        continue;
      }
      const c = command(s.kind)!;
      expect(c, s.kind).toBeDefined();
      expect(c.summary()).toBe(s.command.summary);
      expect(c.registeredArguments.map((a) => a.name())).toEqual(['run']);
      const flags = c.options.map((o) => o.flags);
      for (const f of s.command.flags) if (!('group' in f)) expect(flags).toContain(f.flags);
      expect(flags[flags.length - 1]).toBe('--png');
    }
  });

  it('losscape study names every kind; a config of every kind is accepted and others are refused', () => {
    expect(STUDY_KINDS).toEqual(STUDIES.map((s) => s.kind));
    expect(command('study')!.summary()).toBe(`run a study from one config: ${STUDIES.map((s) => s.label).join(', ')}`);
    for (const s of STUDIES) {
      const raw = s.input === 'run' ? { study: s.kind, run: 'r', [s.kind]: {} } : { study: s.kind, base: {}, variants: { a: {} } };
      expect(parseStudyConfig(raw).config.study).toBe(s.kind);
    }
    expect(() => parseStudyConfig({ study: 'nope', run: 'r' })).toThrow(/Invalid option/);
  });
});
