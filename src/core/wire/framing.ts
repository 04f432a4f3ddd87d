/**
 * Stream framing (PROTOCOL.md §1.1, §1.5): `LEN (4 bytes, big-endian) || BODY (LEN bytes)`.
 *
 * Input: byte chunks as they arrive, split anywhere. Output: the complete frame bodies, in order,
 * without their headers. Invariants: the result does not depend on how the stream is chunked; a
 * header above `maxBodyBytes` is refused as soon as its 4 bytes are present (the body is never
 * buffered); a body split across chunks holds about the bytes received so far, at most twice that
 * plus `BODY_BLOCK_MIN` (a header that promises 16 MiB and sends nothing costs nothing); after an
 * error the decoder is dead and every later push returns that error.
 *
 * The decoder is used linearly: `pushBytes` may reuse the state object it was given, so always
 * continue with the returned `decoder`. Frames that lie inside one chunk are returned as views of
 * that chunk (no copy); callers must not mutate chunks after pushing them. This module does not
 * decompress or checksum; that is `packets.ts`.
 */
import { view } from './bytes.js';
import type { DecodeError } from './errors.js';

/** Incremental frame decoder state. */
export interface FrameDecoder {
  readonly maxBodyBytes: number;
  /** Header bytes collected so far (0–4) when no body is in progress. */
  headerFill: number;
  readonly header: Uint8Array;
  /** Length of the body being assembled across chunks, or undefined between frames. */
  bodyLength: number | undefined;
  /** The full blocks of that body received so far (copies, so no socket chunk is kept alive). */
  bodyParts: Uint8Array[];
  /** The block being filled, and how much of it is (see `BODY_BLOCK_MIN`). */
  block: Uint8Array | undefined;
  blockFill: number;
  bodyFill: number;
  error: DecodeError | undefined;
}

/** The result of feeding a chunk. */
export interface PushResult {
  readonly decoder: FrameDecoder;
  readonly frames: ReadonlyArray<Uint8Array>;
  readonly error?: DecodeError;
}

/** Size of the length header. */
export const HEADER_BYTES = 4;

/**
 * A body arriving in pieces is copied into blocks, each as large as what has arrived so far (at
 * least `BODY_BLOCK_MIN`, at most `BODY_BLOCK_MAX` bytes, never past the body's end): one object
 * per piece would cost a peer trickling one byte per read some 200 bytes of heap per byte, while
 * blocks hold at most about twice the bytes received.
 */
export const BODY_BLOCK_MIN = 256;
export const BODY_BLOCK_MAX = 64 * 1024;

/** A fresh decoder refusing bodies above `maxBodyBytes`. */
export const frameDecoder = (maxBodyBytes: number): FrameDecoder => ({
  maxBodyBytes,
  headerFill: 0,
  header: new Uint8Array(HEADER_BYTES),
  bodyLength: undefined,
  bodyParts: [],
  block: undefined,
  blockFill: 0,
  bodyFill: 0,
  error: undefined,
});

/** Read a 4-byte big-endian length at `at`. */
export const readLength = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);

const tooLarge = (d: FrameDecoder, length: number, frames: Uint8Array[]): PushResult => {
  d.error = { _tag: 'FrameTooLarge', length, max: d.maxBodyBytes };
  return { decoder: d, frames, error: d.error };
};

/** Copy `take` bytes of `chunk` from `at` into the body's blocks; a block that fills joins `bodyParts`. */
const appendBody = (d: FrameDecoder, chunk: Uint8Array, at: number, take: number): void => {
  const length = d.bodyLength!;
  while (take > 0) {
    if (d.block === undefined) {
      const size = Math.min(length - d.bodyFill, Math.max(take, Math.min(BODY_BLOCK_MAX, Math.max(BODY_BLOCK_MIN, d.bodyFill))));
      d.block = new Uint8Array(size);
      d.blockFill = 0;
    }
    const n = Math.min(take, d.block.length - d.blockFill);
    d.block.set(chunk.subarray(at, at + n), d.blockFill);
    d.blockFill += n;
    d.bodyFill += n;
    at += n;
    take -= n;
    if (d.blockFill === d.block.length) {
      d.bodyParts.push(d.block);
      d.block = undefined;
    }
  }
};

/** Feed one chunk; returns the frames it completed and, on a bad header, the error. */
export const pushBytes = (d: FrameDecoder, chunk: Uint8Array): PushResult => {
  if (d.error !== undefined) return { decoder: d, frames: [], error: d.error };
  const frames: Uint8Array[] = [];
  let at = 0;
  const end = chunk.length;
  while (at < end) {
    if (d.bodyLength !== undefined) {
      // Continue a body started in an earlier chunk.
      const take = Math.min(d.bodyLength - d.bodyFill, end - at);
      appendBody(d, chunk, at, take);
      at += take;
      if (d.bodyFill === d.bodyLength) {
        frames.push(concat(d.bodyParts, d.bodyLength));
        d.bodyLength = undefined;
        d.bodyParts = [];
        d.bodyFill = 0;
      }
      continue;
    }
    let length: number;
    if (d.headerFill === 0 && end - at >= HEADER_BYTES) {
      length = readLength(chunk, at);
      at += HEADER_BYTES;
    } else {
      const take = Math.min(HEADER_BYTES - d.headerFill, end - at);
      d.header.set(chunk.subarray(at, at + take), d.headerFill);
      d.headerFill += take;
      at += take;
      if (d.headerFill < HEADER_BYTES) break;
      d.headerFill = 0;
      length = readLength(d.header, 0);
    }
    if (length > d.maxBodyBytes) return tooLarge(d, length, frames);
    if (end - at >= length) {
      // The whole body is in this chunk: hand out a view, no copy.
      frames.push(view(chunk, at, length));
      at += length;
    } else {
      d.bodyLength = length;
      d.bodyParts = [];
      d.block = undefined;
      d.bodyFill = 0;
    }
  }
  return { decoder: d, frames };
};

/**
 * Whether `chunk` is exactly one whole frame while the decoder holds nothing (the usual case: one
 * write, one frame); its body is then `chunk` from `HEADER_BYTES` on. Otherwise the caller uses
 * `pushBytes`. The decoder is left as it was, which is what `pushBytes` would leave it as.
 */
export const wholeFrame = (d: FrameDecoder, chunk: Uint8Array): boolean => {
  if (d.error !== undefined || d.headerFill !== 0 || d.bodyLength !== undefined || chunk.length < HEADER_BYTES) return false;
  const length = readLength(chunk, 0);
  return length === chunk.length - HEADER_BYTES && length <= d.maxBodyBytes;
};

/** True while part of a header or body is held (a peer stalled mid-frame). */
export const midFrame = (d: FrameDecoder): boolean => d.headerFill > 0 || d.bodyLength !== undefined;

/** Bytes held for an unfinished frame (header and body pieces). */
export const heldBytes = (d: FrameDecoder): number => d.headerFill + d.bodyFill;

const concat = (parts: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Prepend the 4-byte big-endian length to a body. */
export const frame = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(HEADER_BYTES + body.length);
  writeLength(out, body.length);
  out.set(body, HEADER_BYTES);
  return out;
};

/** Write a body length into the first 4 bytes of `out`. */
export const writeLength = (out: Uint8Array, length: number): void => {
  out[0] = length >>> 24;
  out[1] = (length >>> 16) & 0xff;
  out[2] = (length >>> 8) & 0xff;
  out[3] = length & 0xff;
};
