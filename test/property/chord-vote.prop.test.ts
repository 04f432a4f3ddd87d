// The majority vote: a minority of wrong answers never wins, and too little agreement never wins.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { answered, awaiting, decideGet, vote, VOTE_QUORUM, wireEquals, type TableAnswer } from '../../src/core/chord/vote.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { recopy, wireValue } from './chord-values.js';

const TABLE_COUNT = 5;

/** `items` in the order given by sorting on `keys`. */
const permute = <A>(items: ReadonlyArray<A>, keys: ReadonlyArray<number>): A[] =>
  items.map((a, i) => [a, keys[i] ?? 0] as const).sort((x, y) => x[1] - y[1]).map(([a]) => a);

describe('chord vote', () => {
  test.prop([
    wireValue.filter((v) => v !== null),
    fc.integer({ min: VOTE_QUORUM, max: TABLE_COUNT }),
    fc.array(fc.option(wireValue, { nil: undefined }), { minLength: TABLE_COUNT, maxLength: TABLE_COUNT }),
    fc.array(fc.nat(), { minLength: TABLE_COUNT, maxLength: TABLE_COUNT }),
  ])('with at least a quorum of correct answers, the correct value wins whatever the rest say', (correct, k, wrongs, order) => {
    // The other tables answer anything that is not the correct value (null too), or not at all.
    const others: TableAnswer[] = wrongs
      .slice(0, TABLE_COUNT - k)
      .map((w) => (w === undefined ? awaiting : answered(wireEquals(w, correct) ? ['wrong', w] : w)));
    const answers = permute([...Array.from({ length: k }, () => answered(recopy(correct))), ...others], order);
    const result = vote(answers);
    expect(result._tag).toBe('Value');
    if (result._tag === 'Value') {
      expect(wireEquals(result.value, correct)).toBe(true);
      expect(result.votes).toBe(k);
    }
  });

  test.prop([
    fc.array(wireValue, { minLength: 3, maxLength: 3 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: TABLE_COUNT, maxLength: TABLE_COUNT }),
  ])('once all have answered, a value wins exactly when a quorum agree on it, and null never wins', (raw, picks) => {
    // Three values distinct by construction (their first elements differ), plus null (pick 3).
    const pool: ReadonlyArray<WireValue> = raw.map((v, i) => [i, v]);
    const answers = picks.map((p) => answered(p === 3 ? null : recopy(pool[p] ?? null)));
    const counts = [0, 1, 2].map((i) => picks.filter((p) => p === i).length);
    const winner = counts.findIndex((c) => c >= VOTE_QUORUM);
    const result = vote(answers);
    if (winner < 0) {
      expect(result).toEqual({ _tag: 'NoQuorum', bestVotes: Math.max(...counts) });
    } else {
      expect(result._tag).toBe('Value');
      if (result._tag === 'Value') expect(wireEquals(result.value, pool[winner] ?? null)).toBe(true);
    }
  });

  test.prop([
    fc.array(wireValue, { minLength: 3, maxLength: 3 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: TABLE_COUNT, maxLength: TABLE_COUNT }),
    fc.array(fc.nat(), { minLength: TABLE_COUNT, maxLength: TABLE_COUNT }),
  ])('a get decides the same whatever order the answers arrive in, and decides early only what it would decide at the end', (raw, picks, order) => {
    const pool: ReadonlyArray<WireValue> = raw.map((v, i) => [i, v]);
    const all = picks.map((p) => answered(p === 3 ? null : recopy(pool[p] ?? null)));
    // Once all have answered: a value a quorum agree on, else NotFound when a quorum hold
    // nothing, else NoQuorum.
    const counts = [0, 1, 2].map((i) => picks.filter((p) => p === i).length);
    const winner = counts.findIndex((c) => c >= VOTE_QUORUM);
    const nils = picks.filter((p) => p === 3).length;
    const end = decideGet(all);
    if (winner >= 0) expect(end._tag === 'Value' && wireEquals(end.value, pool[winner] ?? null)).toBe(true);
    else expect(end).toEqual({ _tag: nils >= VOTE_QUORUM ? 'NotFound' : 'NoQuorum', bestVotes: Math.max(...counts) });
    // Arriving one by one in a drawn order, the first decision is that one.
    const arrival = permute([0, 1, 2, 3, 4], order);
    const partial: TableAnswer[] = all.map(() => awaiting);
    let first = decideGet(partial);
    for (const i of arrival) {
      if (first._tag !== 'Pending') break;
      partial[i] = all[i] ?? awaiting;
      first = decideGet(partial);
    }
    expect(first._tag).toBe(end._tag);
    if (first._tag === 'Value' && end._tag === 'Value') expect(wireEquals(first.value, end.value)).toBe(true);
  });

  test.prop([wireValue])('a value equals every structural copy of itself', (v) => {
    expect(wireEquals(v, recopy(v))).toBe(true);
  });
});
