/**
 * The one place that starts jax-js. In Node the wasm backend must be named
 * explicitly (plain `init()` touches `navigator`).
 */
import { defaultDevice, init, type Device } from '@jax-js/jax';

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
