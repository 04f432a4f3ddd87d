import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect } from 'vitest';
import { decodeBody, decodeOpened, encodeFrame, makeMessage, messageId, messageMsgpack, messageOf, openFrame } from '../../src/core/wire/packets.js';
import { classify } from '../../src/core/wire/messages.js';
import { packValue, peekUint, unpackValue } from '../../src/core/wire/msgpack.js';
import { nodeCapabilities as caps } from '../../src/shell/caps.js';
import { decodedForm, plainBytes, wireValue } from './wire-values.js';

const MAX = 1 << 20;
const ALL = [0x20, 0x13, 0x11];
const sender = fc.oneof(fc.string({ maxLength: 66 }), fc.uint8Array({ maxLength: 66 }));
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 33 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
const compression = fc.constantFrom(undefined, 0x13, 0x11, 0x20);

describe('packet properties', () => {
  test.prop([fc.integer({ min: 0, max: 0x7f }), sender, time, fc.array(wireValue, { maxLength: 6 }), compression])(
    'decode(encode(m)) gives m back: values, str/bin typing, exact bytes and id, under every compression',
    (msgType, from, at, payload, method) => {
      const m = makeMessage(caps, msgType, from, payload, at);
      const body = encodeFrame(caps, m, method).subarray(4);
      const r = decodeBody(caps, body, method === undefined ? [] : ALL, MAX);
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
      expect(plainBytes(r.right.packets as never)).toEqual(decodedForm([msgType, from, at, ...payload]));
      expect(typeof r.right.sender).toBe(typeof from);
      expect(r.right.senderId).toBe(m.senderId);
      expect(new Uint8Array(messageMsgpack(r.right))).toEqual(new Uint8Array(messageMsgpack(m)));
      expect(r.right.idKey).toBe(m.idKey);
    },
  );

  test.prop([
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.array(wireValue, { maxLength: 4 }), compression).map(([payload, method]) =>
        encodeFrame(caps, makeMessage(caps, 0, 'S', payload, 1), method).subarray(4),
      ),
    ),
    // Up to a checksum's length and more, so a short body can lie after enough bytes to pass for one.
    fc.uint8Array({ maxLength: 40, size: 'max' }),
    fc.subarray(ALL),
  ])('a body opens and decodes alike on its own and where it lies after other bytes', (body, before, peer) => {
    // A node opens a whole frame in place, after its header; any bytes before the body must not matter.
    const frame = new Uint8Array(before.length + body.length);
    frame.set(before, 0);
    frame.set(body, before.length);
    const alone = openFrame(caps, body, 0, peer, MAX);
    const inPlace = openFrame(caps, frame, before.length, peer, MAX);
    if (alone._tag !== 'Opened' || inPlace._tag !== 'Opened') {
      expect(inPlace).toEqual(alone);
      return;
    }
    expect(inPlace.idKey).toBe(alone.idKey);
    expect(new Uint8Array(messageMsgpack(inPlace))).toEqual(new Uint8Array(messageMsgpack(alone)));
    const [a, b] = [decodeOpened(alone), decodeOpened(inPlace)];
    if (a._tag !== 'Decoded' || b._tag !== 'Decoded') {
      expect(b).toEqual(a);
      return;
    }
    const [ma, mb] = [messageOf(a), messageOf(b)];
    expect(new Uint8Array(messageId(mb))).toEqual(new Uint8Array(messageId(ma)));
    expect(mb.packets).toEqual(ma.packets);
  });

  // Random bytes cannot carry a valid SHA-256 checksum of themselves (raw or decompressed), so
  // every body is refused as too short to hold one or as failing it, whatever the peer offered.
  // Lengths are drawn over the whole range: the default size keeps arrays to about ten bytes,
  // all too short for a checksum.
  test.prop([fc.uint8Array({ maxLength: 400, size: 'max' }), fc.subarray(ALL)])('arbitrary bodies never throw, and fail the checksum', (body, peer) => {
    const r = decodeBody(caps, body, peer, MAX);
    expect(E.isLeft(r) ? r.left._tag : 'decoded').toMatch(/^(ChecksumMismatch|TooShort)$/);
  });

  test.prop([fc.uint8Array({ maxLength: 400, size: 'max' })])('arbitrary checksummed msgpack bytes never throw', (bytes) => {
    const body = new Uint8Array([...caps.sha256(bytes), ...bytes]);
    const r = decodeBody(caps, body, [], MAX);
    if (E.isRight(r)) expect(() => classify(r.right)).not.toThrow();
  });

  // Random bytes almost never make a packet list (the property above), so classify is fed here
  // lists with valid fixed fields and any payload: each decodes, and classify takes it without throwing.
  test.prop([
    fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0x7f })),
    sender,
    time,
    fc.oneof(fc.integer({ min: 0, max: 0x14 }), wireValue),
    fc.array(wireValue, { maxLength: 5 }),
  ])('any checksummed packet list decodes, and classify never throws on it', (msgType, from, at, sub, rest) => {
    const bytes = packValue([msgType, from, at, sub, ...rest]);
    const r = decodeBody(caps, new Uint8Array([...caps.sha256(bytes), ...bytes]), [], MAX);
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
    const c = classify(r.right);
    expect(E.isLeft(c) ? c.left._tag : c.right._tag).toMatch(/^[A-Z]/);
  });

  test.prop([fc.array(wireValue, { maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), compression])(
    'a corrupted frame is refused or decodes, never throws',
    (payload, at, xor, method) => {
      const frame = encodeFrame(caps, makeMessage(caps, 0, 'S', payload, 1), method);
      const body = frame.slice(4);
      body[at % body.length]! ^= xor;
      const r = decodeBody(caps, body, ALL, MAX);
      expect(E.isLeft(r) ? r.left._tag : 'decoded').toMatch(/ChecksumMismatch|TooShort|decoded/);
    },
  );

  test.prop([fc.integer({ min: 0, max: 0x7f }), sender, fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.array(wireValue, { maxLength: 4 }), fc.uint8Array({ maxLength: 40 })])(
    'peekUint reads the message type and an integer time as a full decoding does, wherever the value starts',
    (msgType, from, at, payload, before) => {
      const packed = packValue([msgType, from, at, ...payload]);
      const bytes = new Uint8Array(before.length + packed.length);
      bytes.set(before, 0);
      bytes.set(packed, before.length);
      expect(peekUint(bytes, before.length, 0)).toBe(msgType);
      expect(peekUint(bytes, before.length, 2)).toBe(at);
    },
  );

  test.prop([fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.array(wireValue, { maxLength: 5 }).map((v) => packValue(v))), fc.nat({ max: 6 })])(
    'peekUint never throws, and what it reads is what a full decoding finds there',
    (bytes, index) => {
      const peeked = peekUint(bytes, 0, index);
      if (peeked === undefined) return;
      const full = unpackValue(bytes);
      // Trailing or broken bytes after the element are not its concern; only a whole value compares.
      if ('value' in full && Array.isArray(full.value)) expect(full.value[index]).toBe(peeked);
    },
  );
});
