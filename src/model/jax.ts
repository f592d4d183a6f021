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

/**
 * jax-js's wasm backend instantiates a kernel's module anew at every synchronous dispatch (its
 * worker pool keeps one instance per kernel instead). An instance costs little to make, but
 * Chromium records a metrics event per instantiation and flushes them in one task about once a
 * second: 200–600 ms on a thread evaluating a landscape (tens of thousands of dispatches), a
 * quarter of the playground's landscape worker's time (measured with a trace, 2026-12-06). So
 * WebAssembly.Instance returns the one instance per (module, memory) for jax-js's kernels:
 * modules that import only `env.memory` and export only `kernel`, which keep no state between
 * calls. Every other module is instantiated as before.
 */
/** The parts of the WebAssembly API used here (the project compiles without DOM types). */
interface WasmModuleDesc {
  module?: string;
  name: string;
}
type WasmCtor = new (module: object, imports?: Record<string, Record<string, unknown>>) => object;
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; exports(m: object): WasmModuleDesc[]; imports(m: object): WasmModuleDesc[] };
  Memory: new (d: { initial: number }) => object;
  Instance: WasmCtor & { kernelCache?: boolean };
}

/** The global WebAssembly object, typed. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

function reuseKernelInstances(): void {
  const wasm = wasmApi();
  if (!wasm || wasm.Instance.kernelCache) return;
  const Original = wasm.Instance;
  const isKernel = new WeakMap<object, boolean>();
  const made = new WeakMap<object, { memory: object; instance: object }>();
  const kernelModule = (m: object): boolean => {
    let k = isKernel.get(m);
    if (k === undefined) {
      const exp = wasm.Module.exports(m);
      const imp = wasm.Module.imports(m);
      k = exp.length === 1 && exp[0]!.name === 'kernel' && imp.length === 1 && imp[0]!.module === 'env' && imp[0]!.name === 'memory';
      isKernel.set(m, k);
    }
    return k;
  };
  const Cached = function (this: unknown, module: object, imports?: Record<string, Record<string, unknown>>) {
    const memory = imports?.env?.memory;
    if (!new.target || !(module instanceof wasm.Module) || !(memory instanceof wasm.Memory) || !kernelModule(module)) {
      return Reflect.construct(Original, [module, imports], new.target ?? Original) as object;
    }
    const hit = made.get(module);
    if (hit && hit.memory === memory) return hit.instance;
    const instance = new Original(module, imports);
    made.set(module, { memory, instance });
    return instance;
  } as unknown as WasmApi['Instance'];
  Cached.prototype = Original.prototype;
  Cached.kernelCache = true;
  wasm.Instance = Cached;
}

let ready: Promise<Device[]> | null = null;

export function ensureJax(): Promise<Device[]> {
  if (!ready) {
    reuseKernelInstances();
    const inBrowser = typeof (globalThis as { window?: unknown }).window !== 'undefined';
    ready = (inBrowser ? init() : init('wasm')).then((devices) => {
      if (!inBrowser) defaultDevice('wasm');
      return devices;
    });
  }
  return ready;
}
