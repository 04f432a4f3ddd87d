/**
 * A memo of SHA-256 message ids for simulated nodes.
 *
 * In a simulated mesh one broadcast's bytes reach every node, so the same bytes are hashed
 * hundreds of times. The core computes each id through `Capabilities.sha256Latin1`; this wrapper
 * remembers recent digests by content: a cheap hash of the length and last bytes picks a slot,
 * and the slot's digest is returned only when its copy of the bytes is equal, byte for byte, to
 * the bytes asked about (so different bytes, or a buffer changed in place, are always hashed for
 * real).
 * Every receiver still checks its frames' checksums against the digest; only the repeated hashing
 * is saved. Equal bytes also get the very same digest string, which makes the core's seen-set
 * lookups cheaper.
 *
 * Bounds: `DIGEST_MEMO_SLOTS` slots, each holding a copy of at most `DIGEST_MEMO_BYTES_MAX`
 * bytes; larger inputs are hashed every time and not kept.
 */
import { Buffer } from 'node:buffer';
import type { Capabilities } from '../../core/caps.js';
import { digestKey } from '../../core/wire/packets.js';

/** Largest input (bytes) whose digest is memoised; larger ones are hashed every time. */
export const DIGEST_MEMO_BYTES_MAX = 4096;
/** Slots in the memo (a power of two); a new entry replaces the one in its slot. */
export const DIGEST_MEMO_SLOTS = 1024;

interface Entry {
  readonly copy: Buffer;
  readonly digest: string;
}

/** Bytes at the end of an input that pick its slot (the payload end: where messages differ). */
const SLOT_TAIL_BYTES = 32;

/** FNV-1a over the length and the last bytes: only picks a slot, so collisions merely cost a miss. */
const slotHash = (data: Uint8Array, start: number): number => {
  const n = data.length;
  let h = 0x811c9dc5 ^ (n - start);
  for (let i = n - start > SLOT_TAIL_BYTES ? n - SLOT_TAIL_BYTES : start; i < n; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h;
};

type Latin1Digest = (data: Uint8Array, start?: number) => string;

/** A memoising `sha256Latin1` over the given capabilities' SHA-256. */
const memoLatin1 = (caps: Capabilities): Latin1Digest => {
  // The core's own digest: the capabilities' string fast path, else their `sha256` as latin1 text.
  const hash: Latin1Digest = (data, start = 0) => digestKey(caps, data, start);
  const slots: Array<Entry | undefined> = new Array<Entry | undefined>(DIGEST_MEMO_SLOTS).fill(undefined);
  const mask = DIGEST_MEMO_SLOTS - 1;
  return (data, start = 0) => {
    const length = data.length - start;
    if (length > DIGEST_MEMO_BYTES_MAX) return hash(data, start);
    const slot = slotHash(data, start) & mask;
    const e = slots[slot];
    // Compared where the bytes lie: no view of them is made on a hit.
    if (e !== undefined && e.copy.length === length && e.copy.compare(data, start) === 0) return e.digest;
    const digest = hash(data, start);
    slots[slot] = { copy: Buffer.from(data.subarray(start)), digest };
    return digest;
  };
};

/** The capabilities `caps` with message ids memoised by content (see the header). */
export const memoisedDigests = (caps: Capabilities): Capabilities => ({ ...caps, sha256Latin1: memoLatin1(caps) });
