/**
 * A small ZIP reader (stored and deflated entries, ZIP64 sizes/offsets) for NPZ
 * files, and a writer (stored or deflated) for tests and exports. Entries are
 * located through the central directory, so local headers with ZIP64 extras or
 * data descriptors (as numpy and Python's zipfile write them) are handled.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LosscapeError } from '../core/errors.js';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOC = 0x07064b50;
const SIG_CEN = 0x02014b50;
const SIG_LOC = 0x04034b50;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

export function zipEntries(bytes: Uint8Array, label: string): ZipEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new LosscapeError('input', `${label}: not a zip archive, or truncated (no end-of-central-directory record)`);
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== SIG_EOCD64_LOC) throw new LosscapeError('input', `${label}: ZIP64 archive without a ZIP64 locator`);
    const e64 = Number(dv.getBigUint64(loc + 8, true));
    if (e64 + 56 > bytes.length || dv.getUint32(e64, true) !== SIG_EOCD64) throw new LosscapeError('input', `${label}: bad ZIP64 end record`);
    count = Number(dv.getBigUint64(e64 + 32, true));
    cdSize = Number(dv.getBigUint64(e64 + 40, true));
    cdOffset = Number(dv.getBigUint64(e64 + 48, true));
  }
  if (cdOffset + cdSize > bytes.length) throw new LosscapeError('input', `${label}: truncated zip archive (central directory past the end)`);
  const out: ZipEntry[] = [];
  let p = cdOffset;
  const td = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== SIG_CEN) throw new LosscapeError('input', `${label}: corrupt zip central directory`);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true);
    const xlen = dv.getUint16(p + 30, true);
    const clen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const name = td.decode(bytes.subarray(p + 46, p + 46 + nlen));
    // ZIP64 extra field: the 0xFFFFFFFF fields, in order usize, csize, offset
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = dv.getUint16(x, true);
      const len = dv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (usize === 0xffffffff) {
          usize = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (csize === 0xffffffff) {
          csize = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(dv.getBigUint64(q, true));
      }
      x += 4 + len;
    }
    out.push({ name, method, compressedSize: csize, size: usize, crc, localOffset: local });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

export function readZipEntry(bytes: Uint8Array, e: ZipEntry, label: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = e.localOffset;
  if (p + 30 > bytes.length || dv.getUint32(p, true) !== SIG_LOC) throw new LosscapeError('input', `${label}: corrupt zip entry "${e.name}"`);
  const start = p + 30 + dv.getUint16(p + 26, true) + dv.getUint16(p + 28, true);
  if (start + e.compressedSize > bytes.length) throw new LosscapeError('input', `${label}: truncated zip entry "${e.name}"`);
  const raw = bytes.subarray(start, start + e.compressedSize);
  let data: Uint8Array;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = new Uint8Array(inflateRawSync(raw));
    } catch (err) {
      throw new LosscapeError('input', `${label}: cannot inflate zip entry "${e.name}" (${(err as Error).message})`);
    }
  } else throw new LosscapeError('input', `${label}: zip entry "${e.name}" uses compression method ${e.method} (only stored and deflate are supported)`);
  if (data.length !== e.size) throw new LosscapeError('input', `${label}: zip entry "${e.name}" has ${data.length} bytes, expected ${e.size}`);
  if (crc32(data) !== e.crc) throw new LosscapeError('input', `${label}: CRC mismatch in zip entry "${e.name}" (corrupt file)`);
  return data;
}

/** All entries of a zip archive by name. */
export function readZip(bytes: Uint8Array, label: string): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (const e of zipEntries(bytes, label)) m.set(e.name, readZipEntry(bytes, e, label));
  return m;
}

let CRC_TABLE: Uint32Array | null = null;
export function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Write a zip archive (no ZIP64; entries < 4 GiB). */
export function writeZip(files: { name: string; data: Uint8Array }[], deflate = false): Uint8Array {
  const te = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = te.encode(f.name);
    const comp = deflate ? new Uint8Array(deflateRawSync(f.data)) : f.data;
    const crc = crc32(f.data);
    const lh = new Uint8Array(30 + name.length);
    const l = new DataView(lh.buffer);
    l.setUint32(0, SIG_LOC, true);
    l.setUint16(4, 20, true);
    l.setUint16(8, deflate ? 8 : 0, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, comp.length, true);
    l.setUint32(22, f.data.length, true);
    l.setUint16(26, name.length, true);
    lh.set(name, 30);
    const ch = new Uint8Array(46 + name.length);
    const c = new DataView(ch.buffer);
    c.setUint32(0, SIG_CEN, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(10, deflate ? 8 : 0, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, comp.length, true);
    c.setUint32(24, f.data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    ch.set(name, 46);
    locals.push(lh, comp);
    centrals.push(ch);
    offset += lh.length + comp.length;
  }
  const cdSize = centrals.reduce((a, b) => a + b.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, SIG_EOCD, true);
  e.setUint16(8, files.length, true);
  e.setUint16(10, files.length, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  const parts = [...locals, ...centrals, end];
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
