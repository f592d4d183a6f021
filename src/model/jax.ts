/**
 * The one place that starts jax-js. In Node the wasm backend must be named
 * explicitly (plain `init()` touches `navigator`).
 */
import { type Device, defaultDevice, init } from '@jax-js/jax';

// Node 20 has no Float16Array; jax-js's np.array(Float64Array) checks `instanceof Float16Array`.
// An empty class makes that check false (no value is ever an instance) without changing anything else.
if (typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'undefined') {
  (globalThis as { Float16Array?: unknown }).Float16Array = class Float16Array {};
}

let ready: Promise<Device[]> | null = null;

export function ensureJax(): Promise<Device[]> {
  if (!ready) {
    const inBrowser = typeof (globalThis as { window?: unknown }).window !== 'undefined';
    ready = (inBrowser ? init() : init('wasm')).then((devices) => {
      if (!inBrowser) defaultDevice('wasm');
      return devices;
    });
  }
  return ready;
}
