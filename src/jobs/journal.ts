/**
 * Append-only journal of finished chunks, so that work survives any kill signal
 * between two full rewrites of a result file. A record is
 *   u32 magic | u32 chunk | u32 length | f64[length] values | u32 checksum
 * A torn last record (the process died mid-append) fails its length or
 * checksum and is ignored. The first record carries the job fingerprint.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';

const MAGIC = 0x4c534a31; // "LSJ1"

export interface JournalRecord {
  chunk: number;
  values: Float64Array;
}

function checksum(bytes: Uint8Array): number {
  // FNV-1a over the record body
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

function encode(chunk: number, values: Float64Array): Buffer {
  const body = Buffer.alloc(12 + values.length * 8);
  body.writeUInt32LE(MAGIC, 0);
  body.writeUInt32LE(chunk >>> 0, 4);
  body.writeUInt32LE(values.length, 8);
  Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(body, 12);
  const sum = Buffer.alloc(4);
  sum.writeUInt32LE(checksum(body), 0);
  return Buffer.concat([body, sum]);
}

export class Journal {
  constructor(
    readonly path: string,
    readonly fingerprint: string,
  ) {}

  /**
   * Complete records written under the same fingerprint, and cut the file back to
   * them: a torn tail is removed, a journal of another fingerprint deleted, so
   * appends continue a valid file.
   */
  open(): JournalRecord[] {
    const { records, validBytes, stale } = this.scan();
    if (stale) this.clear();
    else if (existsSync(this.path)) truncateSync(this.path, validBytes);
    return records;
  }

  /** Complete records written under the same fingerprint (others are stale: ignored). */
  read(): JournalRecord[] {
    return this.scan().records;
  }

  private scan(): { records: JournalRecord[]; validBytes: number; stale: boolean } {
    if (!existsSync(this.path)) return { records: [], validBytes: 0, stale: false };
    const buf = readFileSync(this.path);
    const out: JournalRecord[] = [];
    let o = 0;
    let first = true;
    while (o + 16 <= buf.length) {
      if (buf.readUInt32LE(o) !== MAGIC) break;
      const len = buf.readUInt32LE(o + 8);
      const end = o + 12 + len * 8;
      if (end + 4 > buf.length) break;
      if (checksum(buf.subarray(o, end)) !== buf.readUInt32LE(end)) break;
      const values = new Float64Array(buf.buffer.slice(buf.byteOffset + o + 12, buf.byteOffset + end));
      const chunk = buf.readUInt32LE(o + 4);
      if (first) {
        // header record: chunk 0xffffffff, values = fingerprint bytes
        if (chunk !== 0xffffffff || Buffer.from(values.buffer).toString('utf8').replace(/\0+$/, '') !== this.fingerprint) {
          return { records: [], validBytes: 0, stale: true };
        }
        first = false;
      } else {
        out.push({ chunk, values });
      }
      o = end + 4;
    }
    // nothing valid at all (not even the header): start over
    return { records: out, validBytes: o, stale: first };
  }

  append(chunk: number, values: Float64Array): void {
    if (!existsSync(this.path)) {
      const fp = Buffer.from(this.fingerprint, 'utf8');
      const padded = new Uint8Array(Math.ceil(fp.length / 8) * 8);
      padded.set(fp);
      writeFileSync(this.path, encode(0xffffffff, new Float64Array(padded.buffer)));
    }
    appendFileSync(this.path, encode(chunk, values));
  }

  clear(): void {
    if (existsSync(this.path)) rmSync(this.path);
  }
}
