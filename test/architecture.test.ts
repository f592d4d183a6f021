/**
 * The layer rules (biome.jsonc, docs/architecture.md) on a copy of src/: the tree as it is
 * passes, and one upward import or one import cycle makes the check fail.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

/** A copy of src/ and the Biome config, changed by `edit`; the lint result over it. */
function lintCopy(edit: (src: string) => void): { code: number; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-layers-'));
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(ROOT, 'biome.jsonc'), join(dir, 'biome.jsonc'));
  edit(join(dir, 'src'));
  const r = spawnSync(BIOME, ['lint', '--colors=off', '--max-diagnostics=50', 'src'], { cwd: dir, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('layers', () => {
  it('the tree as it is has no upward import and no cycle', () => {
    const r = lintCopy(() => {});
    expect(r.out).not.toMatch(/noRestrictedImports|noImportCycles/);
    expect(r.code, r.out).toBe(0);
  });

  it('an upward import fails the check (core importing the engine, linalg importing hessian)', () => {
    const r = lintCopy((src) => {
      appendFileSync(join(src, 'core', 'grid.ts'), "\nexport type { LossEngine } from '../engine/engine.js';\n");
      appendFileSync(join(src, 'linalg', 'lanczos.ts'), "\nexport const later = () => import('../hessian/point.js');\n");
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/layer 'core' .* imports only from the layers below it/);
    expect(r.out).toMatch(/layer 'linalg' .* imports only from the layers below it/);
  });

  it('a sibling import fails too (surface importing hessian), and so does the viewer app importing the server', () => {
    const r = lintCopy((src) => {
      appendFileSync(
        join(src, 'surface', 'surface.ts'),
        "\nexport type { Extremes } from '../linalg/extremes.js';\nexport { pointEigenvalues } from '../hessian/point.js';\n",
      );
      appendFileSync(join(src, 'viewer', 'app', 'dom.ts'), "\nexport { pageHtml } from '../server/page-html.js';\n");
    });
    expect(r.code).not.toBe(0);
    // one diagnostic for surface.ts: the hessian import; linalg is below surface
    expect(r.out.match(/^src\/surface\/surface\.ts:\d+:\d+ lint\/style\/noRestrictedImports/gm)).toHaveLength(1);
    expect(r.out).toMatch(/the viewer's 'app' imports only from core and shared/);
  });

  it('the library entry sits on top beside cli: it may not export the CLI, the CLI may not import it, and a layer below importing it is a cycle', () => {
    const exportsCli = lintCopy((src) => appendFileSync(join(src, 'index.ts'), "\nexport { main } from './cli/main.js';\n"));
    expect(exportsCli.code).not.toBe(0);
    expect(exportsCli.out).toMatch(/the library entry exports the library, not the CLI/);
    const cliImports = lintCopy((src) => appendFileSync(join(src, 'cli', 'flags.ts'), "\nexport { Rng } from '../index.js';\n"));
    expect(cliImports.code).not.toBe(0);
    expect(cliImports.out).toMatch(/^src\/cli\/flags\.ts:\d+:\d+ lint\/style\/noRestrictedImports/m);
    const runImports = lintCopy((src) => appendFileSync(join(src, 'run', 'pipeline.ts'), "\nexport const later = () => import('../index.js');\n"));
    expect(runImports.code).not.toBe(0);
    expect(runImports.out).toMatch(/^src\/run\/pipeline\.ts:\d+:\d+ lint\/suspicious\/noImportCycles/m);
  });

  it('live ranks between studies and cli: it may not import the CLI, and run may not import live', () => {
    const r = lintCopy((src) => {
      appendFileSync(join(src, 'live', 'session.ts'), "\nexport { register } from '../cli/commands/view.js';\n");
      appendFileSync(join(src, 'run', 'pipeline.ts'), "\nexport { LiveSession } from '../live/session.js';\n");
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/layer 'live' .* imports only from the layers below it/);
    expect(r.out).toMatch(/layer 'run' .* imports only from the layers below it/);
  });

  it('an import cycle fails the check', () => {
    const r = lintCopy((src) => {
      writeFileSync(join(src, 'core', 'ping.ts'), "import { pong } from './pong.js';\nexport const ping = () => pong();\n");
      writeFileSync(join(src, 'core', 'pong.ts'), "import { ping } from './ping.js';\nexport const pong = (): unknown => ping;\n");
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/noImportCycles/);
  });
});
