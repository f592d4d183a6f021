/** Versions recorded in manifests. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** A dependency's version: its package.json, found upward from its entry (exports maps may hide it). */
function pkgVersion(name: string): string {
  try {
    let entry: string;
    try {
      entry = require.resolve(name);
    } catch {
      entry = fileURLToPath(import.meta.resolve(name));
    }
    for (let d = dirname(entry); d !== dirname(d); d = dirname(d)) {
      const p = join(d, 'package.json');
      if (!existsSync(p)) continue;
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version: string };
      if (pkg.name === name) return pkg.version;
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

export function ownVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function versions(): Record<string, string> {
  return {
    losscape: ownVersion(),
    node: process.version,
    'jax-js': pkgVersion('@jax-js/jax'),
    'onnxruntime-node': pkgVersion('onnxruntime-node'),
    h5wasm: pkgVersion('h5wasm'),
  };
}
