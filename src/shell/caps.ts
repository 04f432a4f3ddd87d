/**
 * The Node capabilities handed to the core: native hashing (node:crypto, the one-shot
 * `crypto.hash` where present) and compression (node:zlib for zlib and gzip, snappyjs for the raw
 * snappy block format). Decompression is bounded: zlib and gzip stop at `maxOutputLength`, snappy
 * checks the declared length before allocating, so a bomb is refused at the limit.
 */
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import snappy from 'snappyjs';
import type { Capabilities, Compressor, HashFn } from '../core/caps.js';
import { bytesFrom } from '../core/wire/bytes.js';
import { compressionFlags } from '../core/flags.js';

type OneShotHash = {
  (algorithm: string, data: Uint8Array, outputEncoding: 'buffer'): Uint8Array;
  (algorithm: string, data: Uint8Array, outputEncoding: 'latin1'): string;
};
const oneShot = (crypto as unknown as { readonly hash?: OneShotHash }).hash;

const hashFn = (algorithm: string): HashFn =>
  oneShot !== undefined
    ? (data) => oneShot(algorithm, data, 'buffer')
    : (data) => crypto.createHash(algorithm).update(data).digest();

// A string digest avoids allocating a Buffer per call: about 4x faster for message-sized inputs.
const sha256Latin1 = (data: Uint8Array, start = 0): string => {
  const part = bytesFrom(data, start);
  return oneShot !== undefined ? oneShot('sha256', part, 'latin1') : crypto.createHash('sha256').update(part).digest().toString('latin1');
};

// RFC 1950: deflate (method 8) with a window of at most 32 KiB, and a header that is a multiple of 31.
// Also no preset dictionary (FDICT; we have none to give, so inflate would fail) and a first block
// type other than the reserved 3 (RFC 1951; inflate would fail): an uncompressed frame passes the
// header test by chance once in about 2,600 frames instead of once in 950, each costing a failed
// inflate (about 0.1 ms). What the receive rule accepts is unchanged.
const zlibSignature = (data: Uint8Array): boolean => {
  const cmf = data[0] ?? 0;
  const flg = data[1] ?? 0;
  const block = data[2] ?? 0;
  return (
    data.length >= 3 && (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0 && (flg & 0x20) === 0 && ((block >> 1) & 3) !== 3
  );
};

// RFC 1952: the two magic bytes and the deflate method.
const gzipSignature = (data: Uint8Array): boolean =>
  data.length >= 3 && data[0] === 0x1f && data[1] === 0x8b && data[2] === 8;

const zlibCompressor: Compressor = {
  compress: (data) => zlib.deflateSync(data),
  decompress: (data, maxBytes) => zlib.inflateSync(data, { maxOutputLength: Math.max(1, maxBytes) }),
  signature: zlibSignature,
};

const gzipCompressor: Compressor = {
  compress: (data) => zlib.gzipSync(data),
  decompress: (data, maxBytes) => zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) }),
  signature: gzipSignature,
};

// A snappy element expands at most 64/3-fold (a 3-byte copy of 64 bytes), so a declared length
// beyond that is garbage; refusing it early avoids allocating up to the frame maximum whenever
// raw bytes are tried as snappy.
const SNAPPY_EXPANSION_MAX = 22;

/** The uncompressed length a snappy block declares (a little-endian base-128 varint), or -1. */
const snappyDeclaredLength = (data: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < 5 && i < data.length; i++) {
    const b = data[i]!;
    n += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return n;
  }
  return -1;
};

/**
 * Walks a snappy block's elements and throws unless each one lies within the data. snappyjs reads
 * a 4-byte literal length as a signed int, so a length with its top bit set moves its read
 * position backwards and it never returns: 22 bytes froze a node. Every step here advances.
 */
const checkSnappyElements = (data: Uint8Array): void => {
  let pos = 0;
  while (pos < 5 && (data[pos] ?? 0) >= 0x80) pos++;
  pos++;
  const bad = (): never => {
    throw new RangeError('malformed snappy block');
  };
  while (pos < data.length) {
    const c = data[pos]!;
    pos++;
    const tag = c & 3;
    if (tag !== 0) {
      pos += tag === 1 ? 1 : tag === 2 ? 2 : 4;
      if (pos > data.length) bad();
      continue;
    }
    let len = (c >>> 2) + 1;
    if (len > 60) {
      const extra = len - 60;
      if (pos + extra > data.length) bad();
      len = 1;
      for (let i = 0; i < extra; i++) len += data[pos + i]! * 2 ** (8 * i);
      pos += extra;
    }
    if (pos + len > data.length) bad();
    pos += len;
  }
};

const snappyCompressor: Compressor = {
  compress: (data) => snappy.compress(data),
  decompress: (data, maxBytes) => {
    const declared = snappyDeclaredLength(data);
    if (declared > data.length * SNAPPY_EXPANSION_MAX) {
      throw new RangeError(`snappy block declares ${declared} bytes from ${data.length}: impossible expansion`);
    }
    checkSnappyElements(data);
    return snappy.uncompress(data, maxBytes);
  },
};

/** Compression methods available on Node, in our preference order: zlib, gzip, snappy. */
export const nodeCompression: ReadonlyArray<number> = [compressionFlags.zlib, compressionFlags.gzip, compressionFlags.snappy];

/** Hashing and compression backed by Node's native modules. */
export const nodeCapabilities: Capabilities = {
  sha1: hashFn('sha1'),
  sha224: hashFn('sha224'),
  sha256: hashFn('sha256'),
  sha384: hashFn('sha384'),
  sha512: hashFn('sha512'),
  sha256Latin1,
  compressors: new Map<number, Compressor>([
    [compressionFlags.zlib, zlibCompressor],
    [compressionFlags.gzip, gzipCompressor],
    [compressionFlags.snappy, snappyCompressor],
  ]),
};
