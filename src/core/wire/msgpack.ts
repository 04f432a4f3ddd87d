/**
 * msgpack for packet lists (PROTOCOL.md §1.3), on top of msgpackr.
 *
 * Encoding keeps str and bin apart and writes every integer as an integer: msgpackr would write a
 * number outside int32/uint32 as float64, so integer numbers there are turned into bigint first
 * (msgpackr then writes int64 `d3`, or uint64 `cf` at 2^63 and above; both decode as integers
 * everywhere), and a bigint that fits 32 bits is written in the smallest int form. Decoding goes through `scanMsgpack` first, a structural walk
 * that accepts exactly one well-formed value and refuses extension types, the unused 0xc1 byte,
 * truncation, trailing bytes, nesting deeper than a bound and more values or maps than a bound
 * (so a small compressed frame cannot decode into gigabytes of objects); only then does msgpackr decode, so
 * its extension handlers (dates, sets, records…) are never reached and the result is a WireValue.
 * Maps decode to `Map` (keys may be bin), 64-bit ints to number up to ±2^53 and bigint beyond.
 */
import { Packr, RESERVE_START_SPACE, REUSE_BUFFER_MODE, Unpackr } from 'msgpackr';
import type { DecodeError } from './errors.js';
import type { WireValue } from './value.js';

/** Deepest nesting of arrays and maps accepted from a peer. */
export const MSGPACK_DEPTH_MAX = 64;

/**
 * Most values (the top one and every element, a map entry counting its key and its value) that
 * one msgpack value from a peer may hold. Each takes a byte on the wire but becomes an object or
 * an array slot in memory: without a bound, 16 MiB of one-byte empty containers (which zlib
 * squeezes into 16 KiB) would decode into gigabytes.
 */
export const MSGPACK_VALUES_MAX = 65_536;

/** Most maps one msgpack value from a peer may hold: an empty map costs its decoder about eight times the time and four times the memory of an empty array. */
export const MSGPACK_MAPS_MAX = 4_096;

/** What `scanMsgpack` accepts: nesting depth, values and maps in one value. */
export interface MsgpackLimits {
  readonly depthMax: number;
  readonly valuesMax: number;
  readonly mapsMax: number;
}

/** The bounds a peer's msgpack is held to. */
export const MSGPACK_LIMITS: MsgpackLimits = { depthMax: MSGPACK_DEPTH_MAX, valuesMax: MSGPACK_VALUES_MAX, mapsMax: MSGPACK_MAPS_MAX };

const packr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false });
// Bins are always copied out (`copyBuffers`): a decoded value shares no memory with the bytes it
// came from, which a relay may still be sending when a handler changes what it was given, and
// which may be the scratch buffer below. 'auto' (number when safe, else bigint) exists in msgpackr
// but is missing from its option types.
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  moreTypes: false,
  int64AsType: 'auto' as unknown as 'bigint',
  copyBuffers: true,
});
// msgpackr gives every source it reads a DataView, stored on the source as a property: for a
// fresh view per message that is an allocation and a change of the view's shape each time, about
// a fifth of decoding a small message. Small values are therefore copied into one long-lived
// buffer and read from there.
const UNPACK_SCRATCH_BYTES = 4096;
const unpackScratch = new Uint8Array(UNPACK_SCRATCH_BYTES);

const INT32_MIN = -0x80000000;
const UINT32_END = 0x100000000;

const INT64_MIN = -(2 ** 63);
const UINT64_END = 2 ** 64;

/** An integer-valued number msgpackr would write as float64 although an int64/uint64 holds it. */
const isWideInt = (n: number): boolean =>
  (n < INT32_MIN || n >= UINT32_END) && n >= INT64_MIN && n < UINT64_END && Number.isInteger(n);

// A bigint that fits 32 bits is written in the smallest int form, as a number would be.
const isNarrowBigInt = (n: bigint): boolean => n >= INT32_MIN_N && n < UINT32_END_N;
const INT32_MIN_N = -0x80000000n;
const UINT32_END_N = 0x100000000n;

/** Whether a value holds a number msgpackr would write as a float although it is an integer. */
const needsWidening = (v: WireValue): boolean => {
  if (typeof v === 'number') return isWideInt(v);
  if (typeof v === 'bigint') return isNarrowBigInt(v);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false;
  if (Array.isArray(v)) {
    const a = v as ReadonlyArray<WireValue>;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      // Strings and bytes are the common elements: settle them without a call.
      if (typeof x === 'string' || x instanceof Uint8Array) continue;
      if (needsWidening(x)) return true;
    }
    return false;
  }
  for (const [k, x] of v as ReadonlyMap<WireValue, WireValue>) if (needsWidening(k) || needsWidening(x)) return true;
  return false;
};

const widen = (v: WireValue): unknown => {
  if (typeof v === 'number') return isWideInt(v) ? BigInt(v) : v;
  if (typeof v === 'bigint') return isNarrowBigInt(v) ? Number(v) : v;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return (v as ReadonlyArray<WireValue>).map(widen);
  const m = new Map<unknown, unknown>();
  for (const [k, x] of v as ReadonlyMap<WireValue, WireValue>) m.set(widen(k), widen(x));
  return m;
};

const INT64_MIN_N = -(2n ** 63n);
const UINT64_END_N = 2n ** 64n;

/**
 * The first part of `v` that is not a wire value, said with where it lies (`where` names `v`;
 * `depth` is how many arrays and maps hold it; a nesting too deep is said of `top`), or undefined
 * when every part is one: null, booleans, numbers, bigints within int64/uint64, strings,
 * Uint8Arrays, and arrays and Maps of them, nested no deeper than `MSGPACK_DEPTH_MAX`. It walks
 * all of `v`: for saying why a value was refused, not for every send.
 */
export const nonWireValue = (v: unknown, where: string, depth = 0, top = where): string | undefined => {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return undefined;
    case 'bigint':
      return v >= INT64_MIN_N && v < UINT64_END_N ? undefined : `${where} is a bigint beyond 64 bits (msgpack integers are int64 or uint64)`;
    case 'undefined':
      return `${where} is undefined (nil is null)`;
    case 'function':
    case 'symbol':
      return `${where} is a ${typeof v}`;
  }
  if (v === null || v instanceof Uint8Array) return undefined;
  const isArray = Array.isArray(v);
  if (isArray || v instanceof Map) {
    if (depth >= MSGPACK_DEPTH_MAX) return `${top} holds arrays and maps nested deeper than ${MSGPACK_DEPTH_MAX} (or holds itself)`;
    if (isArray) {
      const a = v as ReadonlyArray<unknown>;
      for (let i = 0; i < a.length; i++) {
        const bad = nonWireValue(a[i], `${where}[${i}]`, depth + 1, top);
        if (bad !== undefined) return bad;
      }
      return undefined;
    }
    let i = 0;
    for (const [key, value] of v as ReadonlyMap<unknown, unknown>) {
      const shown = shownKey(key);
      const bad =
        nonWireValue(key, `key #${i} of ${where}`, depth + 1, top) ??
        nonWireValue(value, shown === undefined ? `the value of key #${i} of ${where}` : `${where}.get(${shown})`, depth + 1, top);
      if (bad !== undefined) return bad;
      i++;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(v) as { readonly constructor?: { readonly name?: string } } | null;
  if (proto === null || proto === Object.prototype) return `${where} is a plain object (a msgpack map is a Map)`;
  const name = proto.constructor?.name;
  const bytesHint = ArrayBuffer.isView(v) || v instanceof ArrayBuffer ? ' (bin is a Uint8Array)' : '';
  return `${where} is an instance of ${name === undefined || name === '' ? 'an unnamed class' : name}${bytesHint}`;
};

/** A map key as a path shows it (`.get(key)`): short scalars only. */
const shownKey = (k: unknown): string | undefined => {
  if (typeof k === 'number' || typeof k === 'boolean' || k === null) return String(k);
  if (typeof k === 'bigint') return `${k}n`;
  return typeof k === 'string' && k.length <= 24 ? JSON.stringify(k) : undefined;
};

/** `nonWireValue` of each element of a payload (held in the packet list), the one at `i` named `nameOf(i)`. */
export const nonWireElement = (payload: ReadonlyArray<unknown>, nameOf: (i: number) => string): string | undefined => {
  for (let i = 0; i < payload.length; i++) {
    const bad = nonWireValue(payload[i], nameOf(i), 1);
    if (bad !== undefined) return bad;
  }
  return undefined;
};

/** The packer run on `v`, its integers widened, with msgpackr's `flags`; `packValue`'s errors. */
const pack = (v: WireValue, flags?: number): Uint8Array => {
  try {
    return packr.pack(needsWidening(v) ? widen(v) : v, flags);
  } catch (e) {
    throw new RangeError(nonWireValue(v, 'the value') ?? `cannot encode as msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/**
 * msgpack bytes of a value. Throws RangeError for a bigint outside int64/uint64 (msgpack cannot
 * hold it): that is a local misuse, never a peer's doing.
 */
export const packValue = (v: WireValue): Uint8Array => pack(v);

/** Largest packer buffer a packed value may be a view of; beyond it the value is copied out. */
const PACKER_VIEW_BYTES_MAX = 64 * 1024;

// The packer's current buffer and its memory: msgpackr writes many values into one buffer, and
// reading a typed array's `buffer` is a call into the engine each time.
let packerBuffer: Uint8Array | undefined;
let packerMemory: ArrayBufferLike | undefined;

/**
 * msgpack bytes of a value preceded by `room` (< 256) free bytes, so a frame header and checksum
 * can go in front without a copy: a plain Uint8Array (a Buffer's slice() is a view, not the copy
 * a caller would expect). It is a view of the packer's buffer, which holds many small values and
 * which later values do not overwrite; but when that buffer is large (the packer grew it for a big
 * value), a copy, so a value kept for long never pins a large buffer. Same errors as `packValue`.
 */
export const packValueWithRoom = (v: WireValue, room: number): Uint8Array => {
  // The packer hands back its whole buffer with where this value lies (`start`, `end`), not a
  // Buffer view of it: the one view made here is the plain one.
  const packed = pack(v, RESERVE_START_SPACE | REUSE_BUFFER_MODE | room) as Uint8Array & { readonly start: number; readonly end: number };
  if (packed !== packerBuffer) {
    packerBuffer = packed;
    packerMemory = packed.buffer;
  }
  const value = new Uint8Array(packerMemory!, packed.byteOffset + packed.start, packed.end - packed.start);
  return packed.length <= PACKER_VIEW_BYTES_MAX ? value : value.slice();
};

const fail = (detail: string): DecodeError => ({ _tag: 'NotMsgpack', detail });

// How the scanner treats each type byte (a table, so the common forms cost one load):
const PLAIN = 0; // a value of SKIP[t] more bytes (ints, floats, nil, bools, fixstr)
const FIXMAP = 1;
const FIXARRAY = 2;
const SIZED = 3; // bin8/16/32 (c4–c6), str8/16/32 (d9–db), array16/32 (dc, dd), map16/32 (de, df)
const RESERVED = 4; // 0xc1
const EXTENSION = 5; // ext and fixext (c7–c9, d4–d8)
const KIND = new Uint8Array(256);
const SKIP = new Uint8Array(256);
for (let t = 0x80; t <= 0x8f; t++) KIND[t] = FIXMAP;
for (let t = 0x90; t <= 0x9f; t++) KIND[t] = FIXARRAY;
for (let t = 0xa0; t <= 0xbf; t++) SKIP[t] = t & 0x1f;
for (const [t, extra] of [[0xca, 4], [0xcb, 8], [0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]] as const) SKIP[t] = extra;
/** For a SIZED type byte, how many bytes its big-endian length (or element count) takes. */
const LENGTH_BYTES = new Uint8Array(256);
for (const [t, size] of [[0xc4, 1], [0xc5, 2], [0xc6, 4], [0xd9, 1], [0xda, 2], [0xdb, 4], [0xdc, 2], [0xdd, 4], [0xde, 2], [0xdf, 4]] as const) {
  KIND[t] = SIZED;
  LENGTH_BYTES[t] = size;
}
KIND[0xc1] = RESERVED;
for (const t of [0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]) KIND[t] = EXTENSION;

const be = (b: Uint8Array, at: number, size: number): number =>
  size === 1 ? b[at]! : size === 2 ? (b[at]! << 8) | b[at + 1]! : ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);

// The scanner's stack of elements left per open container, reused by every scan (it never
// re-enters itself); a deeper bound than the default gets a stack of its own.
const scanStack = new Int32Array(MSGPACK_DEPTH_MAX + 2);

/**
 * What `scanMsgpack` counts of a value, in its terms: `values` (the value and every element, a map
 * entry counting its key and its value), `maps`, and `depth` (the most non-empty arrays and maps
 * nested along one path: 0 for a scalar or an empty container). A value is within limits exactly
 * when each count is within its bound.
 */
export interface MsgpackCounts {
  readonly values: number;
  readonly maps: number;
  readonly depth: number;
}

// What the last scan that passed counted (one object, reused: read it at once).
const lastCounts = { values: 0, maps: 0, depth: 0 };

const NO_LIMITS: MsgpackLimits = { depthMax: MSGPACK_DEPTH_MAX, valuesMax: Infinity, mapsMax: Infinity };

/**
 * `scanMsgpack`'s counts of the msgpack value in `b` from `start` to its end, or why it is not one
 * (nesting deeper than `MSGPACK_DEPTH_MAX` included; the value and map counts are not bounded).
 */
export const countMsgpack = (b: Uint8Array, start = 0): MsgpackCounts | DecodeError => {
  const error = scanMsgpack(b, start, NO_LIMITS);
  return error ?? { values: lastCounts.values, maps: lastCounts.maps, depth: lastCounts.depth };
};

/**
 * Check that `b` from index `start` to its end is exactly one msgpack value of the kinds the
 * protocol uses, within `limits` (nesting depth, values, maps); offsets in errors count from
 * `start`. Runs in one pass with no allocation.
 */
export const scanMsgpack = (b: Uint8Array, start = 0, limits: MsgpackLimits = MSGPACK_LIMITS): DecodeError | undefined => {
  const { depthMax, valuesMax, mapsMax } = limits;
  let depth = 0;
  const n = b.length;
  const stack = depthMax + 2 <= scanStack.length ? scanStack : new Int32Array(depthMax + 2);
  let sp = 0;
  stack[0] = 1;
  let pos = start;
  let values = 1;
  let maps = 0;
  while (sp >= 0) {
    if (stack[sp] === 0) {
      sp--;
      continue;
    }
    stack[sp]!--;
    if (pos >= n) return fail(`truncated at byte ${pos - start}`);
    const t = b[pos++]!;
    const kind = KIND[t]!;
    let items = 0;
    if (kind === PLAIN) {
      const skip = SKIP[t]!;
      if (pos + skip > n) return fail(`truncated at byte ${pos - start}`);
      pos += skip;
      continue;
    } else if (kind === FIXMAP) {
      if (++maps > mapsMax) return { _tag: 'TooManyValues', what: 'maps', max: mapsMax };
      items = (t & 0x0f) * 2;
    } else if (kind === FIXARRAY) items = t & 0x0f;
    else if (kind === SIZED) {
      const size = LENGTH_BYTES[t]!;
      if (pos + size > n) return fail(`truncated at byte ${pos - start}`);
      const len = be(b, pos, size);
      pos += size;
      if (t < 0xdc) {
        if (pos + len > n) return fail(`truncated at byte ${pos - start}`);
        pos += len;
        continue;
      }
      if (t >= 0xde && ++maps > mapsMax) return { _tag: 'TooManyValues', what: 'maps', max: mapsMax };
      items = t >= 0xde ? len * 2 : len;
    } else if (kind === RESERVED) return fail(`reserved byte 0xc1 at ${pos - 1 - start}`);
    else return { _tag: 'ExtensionType', offset: pos - 1 - start };
    if (items > 0) {
      // Every element needs at least one byte: refuse impossible counts before anything allocates.
      if (items > n - pos) return fail(`container of ${items} elements in ${n - pos} bytes`);
      values += items;
      if (values > valuesMax) return { _tag: 'TooManyValues', what: 'values', max: valuesMax };
      if (sp + 1 > depthMax) return { _tag: 'TooDeep', depthMax };
      stack[++sp] = items;
      if (sp > depth) depth = sp;
    }
  }
  if (pos !== n) return fail(`${n - pos} trailing bytes`);
  lastCounts.values = values;
  lastCounts.maps = maps;
  lastCounts.depth = depth;
  return undefined;
};

/**
 * The element at `index` of a top-level array starting at `b[start]` and running to the end of
 * `b`, when it is an unsigned integer below 2^32 and the elements before it are scalars, strings
 * or bins; otherwise undefined (the caller decodes the whole value instead). Reads no further than
 * the element, so it never decodes anything else; on any bytes it returns undefined rather than
 * throwing.
 */
export const peekUint = (b: Uint8Array, start: number, index: number): number | undefined => {
  const n = b.length;
  const t0 = b[start];
  let pos: number;
  let count: number;
  if (t0 === undefined) return undefined;
  if (KIND[t0] === FIXARRAY) {
    count = t0 & 0x0f;
    pos = start + 1;
  } else if ((t0 === 0xdc && n - start >= 3) || (t0 === 0xdd && n - start >= 5)) {
    const size = LENGTH_BYTES[t0]!;
    count = be(b, start + 1, size);
    pos = start + 1 + size;
  } else return undefined;
  if (index >= count) return undefined;
  for (let i = 0; i < index; i++) {
    if (pos >= n) return undefined;
    const t = b[pos++]!;
    const kind = KIND[t]!;
    if (kind === PLAIN) pos += SKIP[t]!;
    else if (kind === SIZED && t < 0xdc) {
      const size = LENGTH_BYTES[t]!;
      if (pos + size > n) return undefined;
      pos += size + be(b, pos, size);
    } else return undefined;
  }
  if (pos >= n) return undefined;
  const t = b[pos]!;
  if (t < 0x80) return t;
  const size = t === 0xcc ? 1 : t === 0xcd ? 2 : t === 0xce ? 4 : 0;
  return size === 0 || pos + 1 + size > n ? undefined : be(b, pos + 1, size);
};

// Where the value lies in what is decoded (one object, reused: msgpackr reads it at once).
const unpackRange = { start: 0, end: 0 };

/**
 * Decode the bytes of `b` from `start` to its end, already accepted by `scanMsgpack`. Bin values
 * are copies: nothing returned refers to `b`.
 */
export const unpackScanned = (b: Uint8Array, start = 0): WireValue => {
  unpackRange.start = start;
  unpackRange.end = b.length;
  if (b.length > UNPACK_SCRATCH_BYTES) return unpackr.unpack(b, unpackRange) as WireValue;
  unpackScratch.set(b);
  return unpackr.unpack(unpackScratch, unpackRange) as WireValue;
};

/** Decode one msgpack value from a peer: scanned first, never throws. */
export const unpackValue = (b: Uint8Array): { readonly value: WireValue } | { readonly error: DecodeError } => {
  const error = scanMsgpack(b);
  if (error !== undefined) return { error };
  try {
    return { value: unpackScanned(b) };
  } catch (e) {
    return { error: fail(e instanceof Error ? e.message : String(e)) };
  }
};
