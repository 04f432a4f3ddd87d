// The chord get's majority vote and msgpack-level equality of values.
import { describe, expect, it } from 'vitest';
import { answered, awaiting, canonicalKey, vote, wireEquals } from '../../src/core/chord/vote.js';
import { packValue } from '../../src/core/wire/msgpack.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('wireEquals', () => {
  it('keeps str and bin apart even with the same bytes', () => {
    expect(wireEquals('abc', bytes('abc'))).toBe(false);
    expect(wireEquals(bytes('abc'), bytes('abc'))).toBe(true);
  });

  it('treats an integer the same as number or bigint, but not as a float or a string', () => {
    expect(wireEquals(3, 3n)).toBe(true);
    expect(wireEquals(3, 3.5)).toBe(false);
    // -0 is written as the integer 0
    expect(packValue(-0)).toEqual(packValue(0));
    expect(wireEquals(0, -0)).toBe(true);
    expect(wireEquals(3, '3')).toBe(false);
    expect(wireEquals(true, 1)).toBe(false);
    expect(wireEquals(null, false)).toBe(false);
  });

  it('compares arrays element by element and maps whatever their order', () => {
    expect(wireEquals([1, [2, 'x']], [1, [2, 'x']])).toBe(true);
    expect(wireEquals([1, 2], [2, 1])).toBe(false);
    expect(wireEquals([[1], 2], [1, [2]])).toBe(false);
    expect(wireEquals(new Map<string, number>([['a', 1], ['b', 2]]), new Map<string, number>([['b', 2], ['a', 1]]))).toBe(true);
    expect(wireEquals(new Map([['a', 1]]), new Map([['a', 2]]))).toBe(false);
    expect(wireEquals(new Map([[bytes('k'), 1]]), new Map([['k', 1]]))).toBe(false);
    expect(wireEquals(new Map(), [])).toBe(false);
  });

  it('cannot be fooled by strings that look like encodings', () => {
    expect(wireEquals(['s1:a', 'b'], ['s1:', 'ab'])).toBe(false);
    expect(wireEquals('i1;', 1)).toBe(false);
  });

  it('handles very deep nesting without exhausting the stack', () => {
    let deep: ReadonlyArray<unknown> = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(canonicalKey(deep as never).length).toBeGreaterThan(200_000);
  });
});

describe('vote', () => {
  it('believes a value that 3 of 5 tables agree on', () => {
    expect(vote([answered('v'), answered('v'), answered('v'), answered('w'), answered(null)])).toEqual({
      _tag: 'Value',
      value: 'v',
      votes: 3,
    });
  });

  it('decides as soon as 3 agree, without waiting for the rest', () => {
    expect(vote([answered(1), answered(1n), answered(1), awaiting, awaiting])).toEqual({ _tag: 'Value', value: 1, votes: 3 });
  });

  it('waits while a quorum is still possible, gives up when it is not', () => {
    expect(vote([answered('v'), answered('v'), awaiting, answered('w'), answered('x')])).toEqual({
      _tag: 'Pending',
      awaiting: 1,
      bestVotes: 2,
    });
    expect(vote([answered('v'), answered('v'), answered('y'), answered('w'), answered('x')])).toEqual({
      _tag: 'NoQuorum',
      bestVotes: 2,
    });
    expect(vote([answered('v'), answered('w'), answered('x'), awaiting, awaiting])).toEqual({
      _tag: 'Pending',
      awaiting: 2,
      bestVotes: 1,
    });
    expect(vote([answered('v'), answered('w'), answered('x'), answered(null), awaiting])).toEqual({ _tag: 'NoQuorum', bestVotes: 1 });
    expect(vote([awaiting, awaiting, awaiting, awaiting, awaiting])).toEqual({ _tag: 'Pending', awaiting: 5, bestVotes: 0 });
  });

  it('never lets null win, however many tables hold nothing', () => {
    expect(vote([answered(null), answered(null), answered(null), answered(null), answered('v')])).toEqual({
      _tag: 'NoQuorum',
      bestVotes: 1,
    });
  });

  it('counts str and bin answers separately', () => {
    expect(vote([answered('v'), answered('v'), answered(bytes('v')), answered(bytes('v')), answered(bytes('v'))])).toMatchObject({
      _tag: 'Value',
      votes: 3,
      value: bytes('v'),
    });
  });

  it('with a minority quorum, a tie is not a win', () => {
    expect(vote([answered('a'), answered('a'), answered('b'), answered('b'), answered(null)], 2)).toEqual({
      _tag: 'NoQuorum',
      bestVotes: 2,
    });
    expect(vote([answered('a'), answered('a'), answered('b'), answered(null), answered(null)], 2)).toMatchObject({
      _tag: 'Value',
      value: 'a',
    });
  });

  it('refuses a quorum that is not a positive integer', () => {
    expect(() => vote([], 0)).toThrow(RangeError);
    expect(() => vote([], 2.5)).toThrow(RangeError);
  });
});
