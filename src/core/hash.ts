/** Content hashes for fingerprints: sha256 over typed-array bytes and canonical JSON. */
import { createHash } from 'node:crypto';

export function hashBytes(...parts: (ArrayBufferView | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (typeof p === 'string') h.update(p);
    else h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    h.update('\u0000');
  }
  return h.digest('hex').slice(0, 32);
}

/** JSON with sorted keys, so equal objects hash equally. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val) && !ArrayBuffer.isView(val)
      ? Object.fromEntries(
          Object.keys(val)
            .sort()
            .map((k) => [k, (val as Record<string, unknown>)[k]]),
        )
      : val,
  );
}

export function hashJSON(v: unknown): string {
  return hashBytes(canonicalJSON(v));
}
