/**
 * The package as users get it: commands print no npm warning, every dependency's install script
 * is covered by package.json's allowScripts, a global install from the clone puts `losscape` on
 * the PATH, and the `npm pack` tarball installs into an empty project (offline, from the npm
 * cache, with the repository's locked dependency versions) where `losscape --help` and the README's
 * library example (examples/library.mjs) run. Needs `npm run build` first (npm test does it).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
};

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A consumer project that depends on the tarball, locked to the repository's production
 * dependency tree (package-lock.json without its dev entries), so that `npm ci --offline`
 * installs it from the npm cache. It denies onnxruntime-node's postinstall, which on linux/x64
 * would download CUDA binaries (README "Install").
 */
function consumerProject(dir: string, tarball: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const spec = `file:${tarball}`;
  const deps = { [PKG.name]: spec };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: deps },
    [`node_modules/${PKG.name}`]: { version: PKG.version, resolved: spec, dependencies: PKG.dependencies, bin: PKG.bin },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  const manifest = { name: 'consumer', private: true, type: 'module', dependencies: deps, allowScripts: { 'onnxruntime-node': false } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
}

describe('npm', () => {
  it('npx losscape prints no npm warning', () => {
    const r = sh('npx', ['losscape', '--version'], ROOT);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(PKG.version);
    expect(r.stderr).not.toMatch(/npm (warn|WARN|notice)/);
    expect(r.stderr).toBe('');
  });

  it('allowScripts covers every installed dependency with an install script', () => {
    const r = sh('npm', ['approve-scripts', '--allow-scripts-pending'], ROOT);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/No packages with unreviewed install scripts/);
    expect(r.stderr).not.toMatch(/npm warn/);
  });

  it('a global install from the clone puts losscape on the PATH', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'losscape-global-'));
    const r = sh('npm', ['install', '-g', '.', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--prefix', prefix], ROOT);
    expect(r.code, r.stderr).toBe(0);
    const help = sh(join(prefix, 'bin', 'losscape'), ['--help'], tmpdir());
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: losscape/);
  });
});

describe('npm pack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'losscape-pack-'));
  const app = join(dir, 'app');
  let files: string[] = [];

  beforeAll(() => {
    const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    mkdirSync(app);
    consumerProject(app, join(dir, info!.filename));
    const install = sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/npm warn/);
  });

  it('the tarball holds the built CLI and library, not the sources or tests', () => {
    for (const f of ['package.json', 'README.md', 'bin/losscape.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/viewer/app/viewer.js']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|bench|scripts)\//.test(f))).toEqual([]);
  });

  it('the installed bin runs: losscape --help', () => {
    const r = sh(join(app, 'node_modules', '.bin', 'losscape'), ['--help'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: losscape/);
    expect(r.stdout).toMatch(/surface/);
  });

  it("the README's library example runs against the installed package by its name", () => {
    copyFileSync(join(ROOT, 'examples', 'library.mjs'), join(app, 'library.mjs'));
    const r = sh(process.execPath, ['library.mjs'], app);
    expect(r.code, r.stderr).toBe(0);
    // the README shows the example's code and what it prints
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const code = readFileSync(join(ROOT, 'examples', 'library.mjs'), 'utf8').replace(/^\/\/.*\n/gm, '');
    expect(readme).toContain(code.trim());
    const printed = readme.match(/prints `(loss at the centre [^`]+)` and `(Hessian at the centre:[^`]+)`/);
    expect(printed).not.toBeNull();
    expect(r.stdout.trim().split('\n')).toEqual([printed![1], printed![2]!.replace(/\s+/g, ' ')]);
    expect(existsSync(join(app, 'surface.h5'))).toBe(true);
    // what ran is the installed copy, not a link back into the repository
    expect(lstatSync(join(app, 'node_modules', PKG.name)).isSymbolicLink()).toBe(false);
  });

  it('the package exports its package.json', () => {
    const r = sh(process.execPath, ['--input-type=module', '-e', "import p from 'losscape/package.json' with { type: 'json' }; console.log(p.version)"], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(PKG.version);
  });
});
