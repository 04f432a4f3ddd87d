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
const sha256Latin1 = (data: Uint8Array): string =>
  oneShot !== undefined ? oneShot('sha256', data, 'latin1') : crypto.createHash('sha256').update(data).digest().toString('latin1');

const zlibCompressor: Compressor = {
  compress: (data) => zlib.deflateSync(data),
  decompress: (data, maxBytes) => zlib.inflateSync(data, { maxOutputLength: Math.max(1, maxBytes) }),
};

const gzipCompressor: Compressor = {
  compress: (data) => zlib.gzipSync(data),
  decompress: (data, maxBytes) => zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) }),
};

const snappyCompressor: Compressor = {
  compress: (data) => snappy.compress(data),
  decompress: (data, maxBytes) => snappy.uncompress(data, maxBytes),
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
