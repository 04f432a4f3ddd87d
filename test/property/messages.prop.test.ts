import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect } from 'vitest';
import { classify, classifyPayload, encodeMessage } from '../../src/core/wire/messages.js';
import { decodeBody, encodeFrame, makeMessage } from '../../src/core/wire/packets.js';
import { nodeCapabilities as caps } from '../../src/shell/caps.js';
import { decodedForm, wireMessage, wireValue } from './wire-values.js';

const msgTypeFor = (tag: string): number => (tag.startsWith('Renegotiate') ? 1 : 2);

describe('message properties', () => {
  test.prop([wireMessage])('classify(encode(m)) gives m back, through the wire', (m) => {
    const payload = encodeMessage(m);
    expect(classifyPayload(msgTypeFor(m._tag), payload)).toEqual(E.right(m));
    // Through real bytes: compare both sides in the form values take once decoded (bins as plain
    // bytes; integers beyond 2^53 as bigint, whatever their JS type when encoded).
    const sent = makeMessage(caps, msgTypeFor(m._tag), 'ME', payload, 1);
    const r = decodeBody(caps, encodeFrame(caps, sent, undefined).subarray(4), [], 1 << 20);
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
    const c = classify(r.right);
    expect(E.isRight(c) && normalise(c.right)).toEqual(normalise(m));
  });

  test.prop([fc.integer({ min: 0, max: 3 }), fc.oneof(fc.integer({ min: 0, max: 0x14 }), wireValue), fc.array(wireValue, { maxLength: 6 })])(
    'arbitrary payloads never make classify throw',
    (msgType, sub, rest) => {
      const r = classifyPayload(msgType, [sub, ...rest]);
      expect(E.isLeft(r) ? r.left._tag : r.right._tag).toMatch(/^[A-Z]/);
    },
  );
});

/** Every field in its decoded form (see `decodedForm`), maps and bytes included. */
const normalise = (m: object): unknown =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, decodedForm(v as never)]));
