/** Versions recorded in manifests. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
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
