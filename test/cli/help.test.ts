/** Help texts: written one paragraph per line, wrapped by the terminal's width only. */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, wrapHelp } from '../../src/cli/main.js';

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

describe('help texts', () => {
  it('no command description is hard-wrapped: a long prose line never continues on the next', () => {
    const bad: string[] = [];
    for (const cmd of allCommands(buildProgram())) {
      const lines = cmd.description().split('\n');
      lines.forEach((line, k) => {
        const next = lines[k + 1];
        // a hard wrap: a long unindented line, not a heading, followed by more unindented prose
        if (next && line.length >= 70 && !/^\s/.test(line) && !line.endsWith(':') && /^[a-z(]/.test(next))
          bad.push(`${cmd.name()}: "${line.slice(-30)}" / "${next.slice(0, 30)}"`);
      });
    }
    expect(bad).toEqual([]);
  });

  it('wraps paragraphs at the width and continues indented lines two spaces further in', () => {
    const text = `${'word '.repeat(30).trim()}\nExamples:\n  losscape hessian runs/demo --x -1:1:9 --y -1:1:9 --out eig.h5 --all-checkpoints --sharpness s.csv`;
    const out = wrapHelp(text, 40).split('\n');
    for (const l of out) expect(l.length).toBeLessThanOrEqual(40);
    expect(out.slice(0, 4).every((l) => l.startsWith('word'))).toBe(true);
    expect(out).toContain('Examples:');
    const ex = out.findIndex((l) => l.startsWith('  losscape'));
    expect(out[ex + 1]).toMatch(/^ {4}\S/);
    // nothing lost or reordered
    expect(out.join(' ').split(/\s+/).filter(Boolean)).toEqual(text.split(/\s+/).filter(Boolean));
  });
});
