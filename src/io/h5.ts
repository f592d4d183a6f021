/**
 * Thin helpers over h5wasm (HDF5 compiled to WebAssembly): read whole files into
 * plain objects and write whole files atomically (temp file + rename), so a
 * kill at any moment leaves either the old or the new file, never a torn one.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { LosscapeError } from '../core/errors.js';

export type H5Data = Float64Array | Float32Array | Int32Array | Uint8Array | BigInt64Array | string | number | string[];

export interface H5Dataset {
  data: H5Data;
  shape?: number[];
  /** h5wasm (struct-style) dtype, e.g. '<d', '<f', '<i', '<B'; guessed from typed arrays when absent. */
  dtype?: string;
  attrs?: Record<string, string | number>;
}

/** path inside the file ("a/b/c") → dataset; groups are created as needed. */
export type H5Tree = Record<string, H5Dataset>;

let ready: Promise<unknown> | null = null;
/**
 * Loads h5wasm once. HDF5's errors become exceptions (text: its error stack) instead of a
 * diagnostic stack printed on stderr, so that a bad file is one line (h5Reason).
 */
export async function h5ready(): Promise<void> {
  ready ??= h5wasm.ready.then((m) => m.activate_throwing_error_handler());
  await ready;
}

/** The innermost frame of an HDF5 error stack (e.g. "truncated file: eof = 1500, …"), or the message's first line. */
export function h5Reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const frames = message.split('\n').filter((l) => /^\s*#\d+:/.test(l));
  const innermost = frames.at(-1)?.replace(/^.*?\(\): /, '');
  return (innermost ?? message.split('\n')[0] ?? '').trim();
}

function dtypeOf(d: H5Data): string | null {
  if (d instanceof Float64Array) return '<d';
  if (d instanceof Float32Array) return '<f';
  if (d instanceof Int32Array) return '<i';
  if (d instanceof Uint8Array) return '<B';
  if (d instanceof BigInt64Array) return '<q';
  return null;
}

/** Write a whole HDF5 file atomically. */
export async function writeH5(path: string, tree: H5Tree, rootAttrs: Record<string, string | number> = {}): Promise<void> {
  await h5ready();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  if (existsSync(tmp)) rmSync(tmp);
  const f = new h5wasm.File(tmp, 'w');
  try {
    for (const [k, v] of Object.entries(rootAttrs)) f.create_attribute(k, v);
    const groups = new Set<string>();
    for (const [name, ds] of Object.entries(tree)) {
      const parts = name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const g = parts.slice(0, i).join('/');
        if (!groups.has(g)) {
          f.create_group(g);
          groups.add(g);
        }
      }
      const d = f.create_dataset({
        name,
        data: ds.data as never,
        shape: ds.shape ?? null,
        dtype: (ds.dtype ?? dtypeOf(ds.data)) as never,
      });
      for (const [k, v] of Object.entries(ds.attrs ?? {})) d.create_attribute(k, v);
    }
    f.flush();
  } finally {
    f.close();
  }
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}

export interface H5Read {
  keys: string[];
  attrs: Record<string, unknown>;
  has(name: string): boolean;
  get(name: string): { value: H5Data; shape: number[]; attrs: Record<string, unknown> } | null;
  /** Child names of a group. */
  children(group: string): string[];
}

/**
 * Read a whole HDF5 file (all datasets, recursively) into memory. Throws one
 * clear line if the file is not HDF5.
 */
export async function readH5(path: string): Promise<H5Read> {
  await h5ready();
  if (!existsSync(path)) throw new LosscapeError('input', `${path}: no such file`);
  let f: InstanceType<typeof h5wasm.File>;
  try {
    f = new h5wasm.File(path, 'r');
  } catch (e) {
    throw new LosscapeError('input', `${path}: not a readable HDF5 file (${h5Reason(e)})`);
  }
  try {
    if (!f.file_id || f.file_id < 0n) throw new LosscapeError('input', 'not a readable HDF5 file');
    const data = new Map<string, { value: H5Data; shape: number[]; attrs: Record<string, unknown> }>();
    const groups = new Map<string, string[]>();
    const attrsOf = (o: { attrs: Record<string, { value: unknown }> }) => Object.fromEntries(Object.entries(o.attrs).map(([k, a]) => [k, plain(a.value)]));
    const walk = (g: InstanceType<typeof h5wasm.Group>, prefix: string) => {
      const names = g.keys();
      groups.set(prefix, names);
      for (const n of names) {
        const p = prefix ? `${prefix}/${n}` : n;
        const e = g.get(n);
        if (e instanceof h5wasm.Group) walk(e, p);
        else if (e instanceof h5wasm.Dataset) {
          data.set(p, { value: e.value as H5Data, shape: e.shape ?? [], attrs: attrsOf(e as never) });
        }
      }
    };
    walk(f, '');
    const rootAttrs = attrsOf(f as never);
    return {
      keys: [...data.keys()],
      attrs: rootAttrs,
      has: (n) => data.has(n),
      get: (n) => data.get(n) ?? null,
      children: (g) => groups.get(g) ?? [],
    };
  } catch (e) {
    throw new LosscapeError('input', `${path}: ${h5Reason(e)}`);
  } finally {
    f.close();
  }
}

function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 1) return (v as unknown as ArrayLike<number>)[0];
  if (typeof v === 'bigint') return Number(v);
  return v;
}

export function asFloat64(v: H5Data | undefined | null, what: string): Float64Array {
  if (v instanceof Float64Array) return v;
  if (v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array) return Float64Array.from(v);
  if (v instanceof BigInt64Array) return Float64Array.from(v, Number);
  if (typeof v === 'number') return new Float64Array([v]);
  throw new LosscapeError('input', `${what} is not numeric`);
}

export function asFloat32(v: H5Data | undefined | null, what: string): Float32Array {
  if (v instanceof Float32Array) return v;
  return Float32Array.from(asFloat64(v, what));
}
