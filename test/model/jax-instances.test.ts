/**
 * ensureJax makes WebAssembly.Instance return one instance per (module, memory) for jax-js's
 * kernel modules (import env.memory only, export `kernel` only), so that its per-dispatch
 * instantiation stops costing Chromium's metrics flush; every other module is instantiated anew.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureJax, wasmApi } from '../../src/model/jax.js';

const W = wasmApi()!;

/** A module importing env.memory and exporting one no-op function named `name` (6 letters). */
function module6(name: string): object {
  const n = [...name].map((c) => c.charCodeAt(0));
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type: () -> ()
    ...[0x02, 0x0f, 0x01, 0x03, ...[0x65, 0x6e, 0x76], 0x06, ...[0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79], 0x02, 0x00, 0x01], // import env.memory
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...[0x07, 0x0a, 0x01, 0x06, ...n, 0x00, 0x00], // export it as `name`
    ...[0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b], // its body: nothing
  ];
  return new W.Module(new Uint8Array(bytes));
}

beforeAll(() => ensureJax());

describe('jax-js kernel instances', () => {
  it('one instance per kernel module and memory; others anew', () => {
    const memory = new W.Memory({ initial: 1 });
    const kernel = module6('kernel');
    const a = new W.Instance(kernel, { env: { memory } });
    const b = new W.Instance(kernel, { env: { memory } });
    expect(a).toBe(b);
    expect(a).toBeInstanceOf(W.Instance);
    expect(typeof (a as { exports: Record<string, unknown> }).exports.kernel).toBe('function');
    const other = new W.Instance(kernel, { env: { memory: new W.Memory({ initial: 1 }) } });
    expect(other).not.toBe(a);
    const plain = module6('others');
    expect(new W.Instance(plain, { env: { memory } })).not.toBe(new W.Instance(plain, { env: { memory } }));
  });
});
