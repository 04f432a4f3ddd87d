/**
 * Views of byte arrays.
 */

/**
 * The `length` bytes of `b` from index `start`, as a plain Uint8Array sharing `b`'s memory: what
 * `b.subarray(start, start + length)` gives, but always a plain Uint8Array (a Buffer's subarray is
 * a Buffer) and with no species lookup. The caller keeps the range within `b`.
 */
export const view = (b: Uint8Array, start: number, length: number): Uint8Array => new Uint8Array(b.buffer, b.byteOffset + start, length);

/** The bytes of `b` from index `start` to its end, as `view` gives them. */
export const viewFrom = (b: Uint8Array, start: number): Uint8Array => view(b, start, b.length - start);

/**
 * The bytes of `b` from index `start` to its end, to pass on at once (to a hash, a compressor, a
 * copy): `b` itself from 0, else its subarray, of whatever kind `b` is (the cheapest view to make).
 */
export const bytesFrom = (b: Uint8Array, start: number): Uint8Array => (start === 0 ? b : b.subarray(start));
