// The public wire vocabulary refuses arguments of the wrong kind with a typed error at the call,
// for callers in plain JavaScript that no type checker stops.
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fromBase58, InternalMessage, Protocol, toBase58 } from '../../src/index.js';

const bad = <T>(v: unknown): T => v as T;
const badArgument = expect.objectContaining({ code: 'BadArgument' });

describe('public wire API arguments', () => {
  it('base58 takes a bigint one way and a string the other', () => {
    expect(() => toBase58(bad(1.5))).toThrow(TypeError);
    expect(() => toBase58(bad('12'))).toThrow(/takes a bigint, not a string/);
    expect(() => toBase58(-1n)).toThrow(RangeError);
    expect(() => fromBase58(bad(123))).toThrow(/takes a string, not a number/);
    expect(() => fromBase58(bad(null))).toThrow(TypeError);
    expect(fromBase58('')).toEqual(E.left({ _tag: 'BadBase58', index: 0, char: '' }));
  });

  it('Protocol takes two strings', () => {
    expect(() => new Protocol(bad(1), 'Plaintext')).toThrow(badArgument);
    expect(new Protocol('mesh', 'Plaintext').id).toBe('EpAmyZWv9rZUKmjQgU3FTUD4GrJHvVEXizmghVBc8eGD');
  });

  it('InternalMessage refuses what it cannot build', () => {
    expect(() => new InternalMessage(bad('0'), 'S', [0], 1)).toThrow(badArgument);
    expect(() => new InternalMessage(0, bad(5), [0], 1)).toThrow(badArgument);
    expect(() => new InternalMessage(0, 'S', bad('x'), 1)).toThrow(badArgument);
    expect(() => new InternalMessage(0, 'S', [0], NaN)).toThrow(badArgument);
    // A payload part that is not a wire value is named by its place in the payload.
    expect(() => new InternalMessage(0, 'S', ['x', { a: 1 } as never], 1)).toThrow(/^payload\[1\] is a plain object/);
    expect(() => new InternalMessage(0, 'S', ['x', [undefined as never]], 1)).toThrow(/^payload\[1\]\[0\] is undefined/);
    expect(() => new InternalMessage(0, 'S', [0], 1, bad([0x13, 'x']))).toThrow(badArgument);
    expect(() => new InternalMessage(0, 'S', [0, 2n ** 70n], 1)).toThrow(badArgument);
    expect(() => new InternalMessage(0, 'S', [0, bad({ x: 1 })], 1)).toThrow(badArgument);
    expect(new InternalMessage(0, 'S', [0, 'ok'], 1).packets).toEqual([0, 'S', 1, 0, 'ok']);
  });

  it('the decoders take bytes: any bytes give a result, anything else BadArgument', () => {
    expect(() => InternalMessage.decode(bad(null))).toThrow(badArgument);
    expect(() => InternalMessage.decode(bad('0000'))).toThrow(badArgument);
    expect(() => InternalMessage.decodeBody(new Uint8Array(40), bad(0x13))).toThrow(badArgument);
    expect(() => InternalMessage.decode(new Uint8Array(8), [], -1)).toThrow(badArgument);
    expect(InternalMessage.decode(new Uint8Array(8))).toEqual(E.left({ _tag: 'LengthMismatch', declared: 0, actual: 4 }));
    const m = new InternalMessage(0, 'S', [0, 'ok'], 1);
    const back = InternalMessage.decode(m.bytes);
    expect(E.isRight(back) && back.right.packets).toEqual([0, 'S', 1, 0, 'ok']);
  });
});
