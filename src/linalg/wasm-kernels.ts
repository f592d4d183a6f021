/**
 * WebAssembly SIMD for the sweeps of reorthogonalization over a float32 Lanczos basis
 * (kernels.wat; ~3× the plain-JS loops of vector.ts, which stay the reference and fallback).
 *
 * A `VectorArena` hands out float32 basis rows and float64 work vectors that live in one
 * WebAssembly memory (shared, so that growing it keeps every view valid); the kernels run
 * only on vectors of the same arena, anything else takes the JS path. Arenas are per
 * Lanczos process and go away with it.
 */
import { KERNELS_WASM } from './kernels-wasm.js';

interface Kernels {
  proj(rows: number, m: number, w: number, n: number, h: number): void;
  sub(rows: number, m: number, c: number, w: number, n: number): void;
  store(w: number, s: number, dst: number, n: number): void;
  recur(w: number, a: number, q: number, b: number, p: number, n: number): number;
  dotnorm(q: number, w: number, n: number, out: number): void;
}

// The slice of the WebAssembly JS API used here (this package's TypeScript lib has no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      if (!WA) throw new Error('no WebAssembly');
      const bytes = Uint8Array.from(atob(KERNELS_WASM), (ch) => ch.charCodeAt(0));
      compiled = new WA.Module(bytes);
    } catch {
      compiled = null; // no SIMD or no shared memory here: the JS kernels
    }
  }
  return compiled;
}

const PAGE = 65536;
/** Arenas given back by finished runs (at most two per thread). */
const pool: VectorArena[] = [];
/** Where each arena vector lives: its arena and byte offset. */
const homes = new WeakMap<ArrayBufferView, { arena: VectorArena; offset: number }>();

export class VectorArena {
  private readonly memory: WasmMemory;
  private readonly kernels: Kernels;
  private top: number;
  /** Scratch for row lists and coefficients (grown on demand). */
  private scratch = { offset: 0, entries: 0 };

  private constructor(module: WasmModule) {
    this.memory = new WA!.Memory({ initial: 16, maximum: 65536, shared: true });
    this.kernels = new WA!.Instance(module, { env: { memory: this.memory } }).exports as Kernels;
    this.top = 16;
  }

  /** An arena (a recycled one if there is), or null where WebAssembly SIMD with shared memory is not available. */
  static create(): VectorArena | null {
    const spare = pool.pop();
    if (spare) return spare;
    const m = kernelModule();
    if (!m) return null;
    try {
      return new VectorArena(m);
    } catch {
      return null;
    }
  }

  /**
   * Takes back an arena whose vectors are no longer used (a finished Lanczos run): the next
   * create() reuses its memory, already mapped, from the start.
   */
  static recycle(arena: VectorArena): void {
    arena.top = 16;
    arena.scratch = { offset: 0, entries: 0 };
    if (pool.length < 2) pool.push(arena);
  }

  private alloc(bytes: number): number {
    const offset = (this.top + 15) & ~15;
    const end = offset + bytes;
    const have = this.memory.buffer.byteLength;
    // grow by at least a quarter (a Lanczos run adds one row per step)
    if (end > have) this.memory.grow(Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4)));
    this.top = end;
    return offset;
  }

  /** n zeros (a recycled arena's memory is cleared here, like a fresh array's). */
  float32(n: number): Float32Array {
    const offset = this.alloc(4 * n);
    const v = new Float32Array(this.memory.buffer, offset, n).fill(0);
    homes.set(v, { arena: this, offset });
    return v;
  }

  /** n zeros. */
  float64(n: number): Float64Array {
    const offset = this.alloc(8 * n);
    const v = new Float64Array(this.memory.buffer, offset, n).fill(0);
    homes.set(v, { arena: this, offset });
    return v;
  }

  /** Byte offsets of a row list (4 bytes each) and of m float64 coefficients. */
  private scratchFor(m: number): { rows: number; coef: number } {
    if (this.scratch.entries < m) {
      const entries = Math.max(64, 2 * m); // even: the coefficients start 8-aligned
      this.scratch = { offset: this.alloc(12 * entries), entries };
    }
    return { rows: this.scratch.offset, coef: this.scratch.offset + 4 * this.scratch.entries };
  }

  /** Offsets of rows that all live here, or null. */
  private offsets(rows: readonly ArrayBufferView[], w: ArrayBufferView): { rows: number[]; w: number } | null {
    const hw = homes.get(w);
    if (!hw || hw.arena !== this) return null;
    const out: number[] = [];
    for (const r of rows) {
      const h = homes.get(r);
      if (!h || h.arena !== this) return null;
      out.push(h.offset);
    }
    return { rows: out, w: hw.offset };
  }

  /** The arena of a vector (null if it is not an arena vector). */
  static of(v: ArrayBufferView): VectorArena | null {
    return homes.get(v)?.arena ?? null;
  }

  private home(v: ArrayBufferView): number {
    const h = homes.get(v);
    return h && h.arena === this ? h.offset : -1;
  }

  /** dst ← f32(s·w); false if the vectors live elsewhere. */
  store(w: Float64Array, s: number, dst: Float32Array): boolean {
    const ow = this.home(w);
    const od = this.home(dst);
    if (ow < 0 || od < 0 || w.length !== dst.length) return false;
    this.kernels.store(ow, s, od, w.length);
    return true;
  }

  /** w ← w − a·q − b·p, returning ‖w‖² (float32 q, p; p undefined: none); null if the vectors live elsewhere. */
  recurrence(w: Float64Array, a: number, q: Float32Array, b: number, p: Float32Array | undefined): number | null {
    const ow = this.home(w);
    const oq = this.home(q);
    const op = p ? this.home(p) : oq;
    if (ow < 0 || oq < 0 || op < 0) return null;
    return this.kernels.recur(ow, a, oq, p ? b : 0, op, w.length);
  }

  /** [qᵀw, wᵀw] into out; false if the vectors live elsewhere. */
  dotAndNormSq(q: Float32Array, w: Float64Array, out: Float64Array): boolean {
    const ow = this.home(w);
    const oq = this.home(q);
    if (ow < 0 || oq < 0) return false;
    const s = this.scratchFor(2);
    this.kernels.dotnorm(oq, ow, w.length, s.coef);
    out.set(new Float64Array(this.memory.buffer, s.coef, 2));
    return true;
  }

  /** Writes a row list (and room for m coefficients) to the scratch; null if some vector lives elsewhere. */
  private rowList(rows: readonly Float32Array[], w: Float64Array): { rows: number; coef: number; w: number } | null {
    const o = this.offsets(rows, w);
    if (!o) return null;
    const s = this.scratchFor(rows.length);
    new Int32Array(this.memory.buffer, s.rows, rows.length).set(o.rows);
    return { ...s, w: o.w };
  }

  /** h_k = q_kᵀw (float32 rows, float64 w of this arena); false if some vector lives elsewhere. */
  projections(rows: readonly Float32Array[], w: Float64Array, h: Float64Array): boolean {
    const l = this.rowList(rows, w);
    if (!l) return false;
    this.kernels.proj(l.rows, rows.length, l.w, w.length, l.coef);
    h.set(new Float64Array(this.memory.buffer, l.coef, rows.length));
    return true;
  }

  /** w ← w − Σ c_k q_k (float32 rows, float64 w of this arena); false if some vector lives elsewhere. */
  subtract(rows: readonly Float32Array[], c: ArrayLike<number>, w: Float64Array): boolean {
    const l = this.rowList(rows, w);
    if (!l) return false;
    const cv = new Float64Array(this.memory.buffer, l.coef, rows.length);
    for (let k = 0; k < rows.length; k++) cv[k] = c[k]!;
    this.kernels.sub(l.rows, rows.length, l.coef, l.w, w.length);
    return true;
  }
}
