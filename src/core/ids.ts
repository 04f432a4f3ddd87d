/**
 * Identifiers (PROTOCOL.md §3): base58 integers, protocol ids, node ids, request ids, time in whole
 * seconds, and the chord ring (key positions and clockwise distance, §5, §9.5).
 *
 * Pure functions of their arguments; hashing comes in through `Capabilities`. base58 here is the
 * integer form both seeds use (no leading-zero padding) with strict decoding: a bad character is a
 * typed `BadBase58`, never a silent −1. This module does not touch the wire encoding of ids (str
 * or bin); `idText` gives the canonical text used for comparison.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Capabilities } from './caps.js';
import type { Address, NodeId } from './types.js';
import type { DecodeError } from './wire/errors.js';

/** The Bitcoin base58 alphabet. */
export const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** The protocol version that enters every protocol id. */
export const PROTOCOL_VERSION = '0.7';
/** The node policy version (informational). */
export const NODE_POLICY_VERSION = '870';
/** The full version string of the protocol family. */
export const VERSION = `${PROTOCOL_VERSION}.${NODE_POLICY_VERSION}`;
/** Size of the chord ring: positions lie in [0, 2^384). */
export const RING_SIZE = 1n << 384n;

const digitOf = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE58_ALPHABET.length; i++) digitOf[BASE58_ALPHABET.charCodeAt(i)] = i;

// 58^9 < 2^53, so nine digits at a time fit a double exactly.
const CHUNK_DIGITS = 9;
const CHUNK = 58n ** 9n;

const smallToBase58 = (n: number, pad: boolean): string => {
  let s = '';
  do {
    s = BASE58_ALPHABET[n % 58]! + s;
    n = Math.floor(n / 58);
  } while (n > 0);
  return pad ? BASE58_ALPHABET[0]!.repeat(CHUNK_DIGITS - s.length) + s : s;
};

/** What a value is, for argument errors: `null`, `an array`, or its `typeof`. */
const describeType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/** base58 of a non-negative integer (0 gives "1"); TypeError for anything but a bigint, RangeError below 0. */
export const toBase58 = (n: bigint): string => {
  if (typeof n !== 'bigint') throw new TypeError(`toBase58 takes a bigint, not ${describeType(n)}`);
  if (n < 0n) throw new RangeError('base58 of a negative number');
  if (n < CHUNK) return smallToBase58(Number(n), false);
  const parts: string[] = [];
  while (n >= CHUNK) {
    parts.push(smallToBase58(Number(n % CHUNK), true));
    n /= CHUNK;
  }
  parts.push(smallToBase58(Number(n), false));
  return parts.reverse().join('');
};

/**
 * The integer a base58 string stands for; a character outside the alphabet (or no character) is
 * a `BadBase58`. Anything but a string is a TypeError.
 */
export const fromBase58 = (s: string): E.Either<DecodeError, bigint> => {
  if (typeof s !== 'string') throw new TypeError(`fromBase58 takes a string, not ${describeType(s)}`);
  if (s.length === 0) return E.left({ _tag: 'BadBase58', index: 0, char: '' });
  let acc = 0n;
  let chunk = 0;
  let chunkLen = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const d = code < 128 ? digitOf[code]! : -1;
    if (d < 0) return E.left({ _tag: 'BadBase58', index: i, char: s.charAt(i) });
    chunk = chunk * 58 + d;
    if (++chunkLen === CHUNK_DIGITS) {
      acc = acc * CHUNK + BigInt(chunk);
      chunk = 0;
      chunkLen = 0;
    }
  }
  return E.right(chunkLen === 0 ? acc : acc * 58n ** BigInt(chunkLen) + BigInt(chunk));
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The big-endian unsigned integer of some bytes (a digest read as a number). */
export const bytesToBigInt = (b: Uint8Array): bigint => {
  if (b.length === 0) return 0n;
  let hex = '0x';
  for (let i = 0; i < b.length; i++) hex += HEX[b[i]!]!;
  return BigInt(hex);
};

const utf8 = new TextEncoder();

/** UTF-8 bytes of a string. */
export const utf8Bytes = (s: string): Uint8Array => utf8.encode(s);

/** The protocol (subnet) id: base58(int(SHA-256(subnet + encryption + "0.7"))) (§3.2). */
export const protocolId = (caps: Capabilities, subnet: string, encryption: string): string =>
  toBase58(bytesToBigInt(caps.sha256(utf8Bytes(subnet + encryption + PROTOCOL_VERSION))));

/**
 * A node id: base58(int(SHA-384(preimage))) with js2p's preimage `(host, port)` + protocol id +
 * salt (§3.3). The salt makes ids unique; the caller draws it from its seeded randomness.
 */
export const nodeId = (caps: Capabilities, outAddr: Address, protoId: string, salt: string): NodeId =>
  toBase58(bytesToBigInt(caps.sha384(utf8Bytes(`(${outAddr.host}, ${outAddr.port})${protoId}${salt}`)))) as NodeId;

/** Latin1 text of bytes: one character per byte, so it is injective. */
export const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
};

/** Bytes of a latin1 string (inverse of `latin1` for code points below 256). */
export const latin1Bytes = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
};

/**
 * Canonical text of an id received as str or bin (bin read as latin1), for comparison and keys.
 * Ids (node ids, base58 positions, table names, '*') are ASCII, which both forms spell alike.
 */
export const idText = (v: string | Uint8Array): string => (typeof v === 'string' ? v : latin1(v));

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Canonical text of a user key (chord and sync keys, PROTOCOL.md §5): its bytes as latin1, a str
 * taken as its UTF-8 bytes. So str 'é' and bin c3 a9 are one key, and bin e9 is another.
 */
export const keyText = (key: string | Uint8Array): string =>
  typeof key !== 'string' ? latin1(key) : NON_ASCII.test(key) ? latin1(utf8Bytes(key)) : key;

/** Whole seconds of a millisecond clock reading. */
export const timeSeconds = (atMs: number): number => Math.floor(atMs / 1000);

/** A route request id: base58(int(SHA-384(sender + base58(time)))) (§4.7). */
export const requestId = (caps: Capabilities, sender: string, time: number): string =>
  toBase58(bytesToBigInt(caps.sha384(utf8Bytes(sender + toBase58(BigInt(Math.floor(time)))))));

/** The five chord hash tables, in the seeds' order. */
export const hashTables = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
/** One chord hash table name. */
export type HashTable = (typeof hashTables)[number];

const tableShift: Readonly<Record<HashTable, bigint>> = { sha1: 224n, sha224: 160n, sha256: 128n, sha384: 0n, sha512: 0n };

/** The ring position of a key in one table: the digest shifted to 384 bits (sha512 unshifted) (§5). */
export const keyPosition = (caps: Capabilities, table: HashTable, key: Uint8Array): bigint =>
  bytesToBigInt(caps[table](key)) << tableShift[table];

/** The five ring positions of a key, one per table. */
export const keyPositions = (caps: Capabilities, key: Uint8Array): Readonly<Record<HashTable, bigint>> => ({
  sha1: keyPosition(caps, 'sha1', key),
  sha224: keyPosition(caps, 'sha224', key),
  sha256: keyPosition(caps, 'sha256', key),
  sha384: keyPosition(caps, 'sha384', key),
  sha512: keyPosition(caps, 'sha512', key),
});

/**
 * Clockwise distance on the ring from a to b: (b − a) mod 2^384. `asUintN` is that modulus for
 * any integer, negative ones included, and costs about half a bigint division.
 */
export const distance = (a: bigint, b: bigint): bigint => BigInt.asUintN(384, b - a);
