/**
 * Capabilities the pure core needs but cannot own: hashing and compression.
 *
 * The core never imports `node:*`; the Node shell hands it native implementations
 * (`src/shell/caps.ts`), and any other host can hand it its own. Each function must be
 * deterministic: the same input gives the same output.
 */

/** A hash function: bytes in, raw digest out. */
export type HashFn = (data: Uint8Array) => Uint8Array;

/** One compression method (zlib, gzip, snappy, …). */
export interface Compressor {
  /** Compress `data`. */
  readonly compress: (data: Uint8Array) => Uint8Array;
  /**
   * Decompress `data`. Throws on malformed input, and throws before producing more than
   * `maxBytes` of output (so a compression bomb is stopped at the limit, not inflated).
   */
  readonly decompress: (data: Uint8Array, maxBytes: number) => Uint8Array;
  /**
   * Optional cheap test of the format's header: false means `data` is certainly not in this
   * format. A receiver tries methods that have one (and pass it) before the raw checksum, and
   * methods without one only after it, so uncompressed frames cost no failed decompression.
   */
  readonly signature?: (data: Uint8Array) => boolean;
}

/** Everything impure-by-nature the core is given. */
export interface Capabilities {
  readonly sha1: HashFn;
  readonly sha224: HashFn;
  readonly sha256: HashFn;
  readonly sha384: HashFn;
  readonly sha512: HashFn;
  /**
   * Optional fast path: SHA-256 of `data` from index `start` (0 when not given) to its end, as a
   * 32-character latin1 string (one character per digest byte). Message ids are computed for
   * every message sent and received; a host whose native hash can return a string skips
   * allocating a digest buffer, and the start index spares the receiver a view of the frame's
   * msgpack part. Must agree with `sha256`.
   */
  readonly sha256Latin1?: (data: Uint8Array, start?: number) => string;
  /** Compression methods available here, keyed by compression flag (§2.3). */
  readonly compressors: ReadonlyMap<number, Compressor>;
}
