/**
 * A memo of SHA-256 message ids for simulated nodes.
 *
 * In a simulated mesh one broadcast's bytes reach every node, and relays pass on views of the
 * very buffer they received, so the same bytes are hashed hundreds of times. The core computes
 * each id through `Capabilities.sha256Latin1`; this wrapper remembers the digest per buffer and
 * returns it when the bytes asked about are the same as those hashed before: same place in the
 * same buffer, and the same content, compared byte by byte against a copy (so a buffer changed in
 * place is hashed again, never answered from the memo). Every receiver still checks the frame's
 * checksum against the digest; only the repeated hashing is saved.
 *
 * Bounds: only inputs up to `DIGEST_MEMO_BYTES_MAX` are memoised, and an entry lives only as long
 * as the buffer it describes (a WeakMap), so the memo never holds more than the bytes in flight.
 */
import type { Capabilities } from '../../core/caps.js';

/** Largest input (bytes) whose digest is memoised; larger ones are hashed every time. */
export const DIGEST_MEMO_BYTES_MAX = 4096;

interface Entry {
  readonly offset: number;
  readonly copy: Uint8Array;
  readonly digest: string;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** A memoising `sha256Latin1` over the given one (or over `sha256`, read as latin1). */
const memoLatin1 = (caps: Capabilities): ((data: Uint8Array) => string) => {
  const hash =
    caps.sha256Latin1 ??
    ((data: Uint8Array): string => {
      const d = caps.sha256(data);
      let s = '';
      for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]!);
      return s;
    });
  const memo = new WeakMap<ArrayBufferLike, Entry>();
  return (data) => {
    if (data.length > DIGEST_MEMO_BYTES_MAX) return hash(data);
    const e = memo.get(data.buffer);
    if (e !== undefined && e.offset === data.byteOffset && sameBytes(e.copy, data)) return e.digest;
    const digest = hash(data);
    memo.set(data.buffer, { offset: data.byteOffset, copy: data.slice(), digest });
    return digest;
  };
};

/** The capabilities `caps` with message ids memoised per buffer (see the header). */
export const memoisedDigests = (caps: Capabilities): Capabilities => ({ ...caps, sha256Latin1: memoLatin1(caps) });
