/**
 * The majority vote of a chord `get` (§5 "Get with majority vote"): five tables answer, and a
 * value is believed only when at least `quorum` of them agree on it.
 *
 * Values are compared as msgpack values: str and bin are different even with equal bytes; an
 * integer is the same whether held as `number` or `bigint`; arrays compare element by element;
 * maps compare as sets of (key, value) entries, whatever their order. `canonicalKey` gives each
 * value one string such that two values are equal exactly when their strings are, so equality
 * and grouping are the same thing.
 *
 * A null answer (the table has nothing) never wins and never counts towards a quorum. The seeds
 * differ: py2p wants 3 of 5 (its `count > 2`); js2p's `most_common` adds 1 to each count and so
 * settles for 2. ts2p follows py2p, and the quorum is a parameter.
 *
 * Inputs: the tables' answers so far. Effects: none; pure. Deliberately not here: polling,
 * timeouts and fallbacks (the chord reducer decides when to stop waiting).
 */
import type { WireValue } from '../wire/value.js';

/** Agreeing tables needed to believe a value (py2p's "more than 2 of 5"). */
export const VOTE_QUORUM = 3;

/**
 * One table's answer: not yet arrived, or arrived (null when the table holds nothing), with the
 * value's `canonicalKey` taken once (a get is counted again at each answer, and a value may be a
 * frame's worth).
 */
export type TableAnswer =
  | { readonly _tag: 'Awaiting' }
  | { readonly _tag: 'Answered'; readonly value: WireValue; readonly key: string };

/** The outcome of a vote so far. */
export type VoteResult =
  /** `votes` tables agree on `value`, at least the quorum, and no other value can tie it. */
  | { readonly _tag: 'Value'; readonly value: WireValue; readonly votes: number }
  /** No value has won yet, but the answers still awaited could make one win. */
  | { readonly _tag: 'Pending'; readonly awaiting: number; readonly bestVotes: number }
  /** No value can win any more: too few agree (or two values tie at the quorum). */
  | { readonly _tag: 'NoQuorum'; readonly bestVotes: number };

/** An answer that has not arrived yet. */
export const awaiting: TableAnswer = { _tag: 'Awaiting' };
/** An answer that has arrived. */
export const answered = (value: WireValue): TableAnswer => ({ _tag: 'Answered', value, key: value === null ? '' : canonicalKey(value) });

/**
 * Counts the answers. With a majority quorum (more than half the tables) a minority of wrong
 * answers can never win. A quorum below a majority can let two values reach it; then the one
 * strictly ahead of every rival (counting the answers still awaited for the rival) wins.
 * Throws a RangeError for a quorum that is not a positive integer: that is a local mistake.
 */
export const vote = (answers: ReadonlyArray<TableAnswer>, quorum: number = VOTE_QUORUM): VoteResult => {
  if (!Number.isInteger(quorum) || quorum < 1) throw new RangeError(`vote quorum must be a positive integer, got ${quorum}`);
  const groups = new Map<string, { readonly value: WireValue; votes: number }>();
  let pending = 0;
  for (const a of answers) {
    if (a._tag === 'Awaiting') pending += 1;
    else if (a.value !== null) {
      const k = a.key;
      const g = groups.get(k);
      if (g === undefined) groups.set(k, { value: a.value, votes: 1 });
      else g.votes += 1;
    }
  }
  const ranked = [...groups.values()].sort((a, b) => b.votes - a.votes);
  const best = ranked[0];
  const bestVotes = best?.votes ?? 0;
  const rivalVotes = ranked[1]?.votes ?? 0;
  if (best !== undefined && bestVotes >= quorum && bestVotes > rivalVotes + pending) {
    return { _tag: 'Value', value: best.value, votes: bestVotes };
  }
  // Someone can still win if an existing value can climb to the quorum, or a fresh one can.
  const canStillWin = pending > 0 && bestVotes + pending >= quorum;
  return canStillWin ? { _tag: 'Pending', awaiting: pending, bestVotes } : { _tag: 'NoQuorum', bestVotes };
};

/** True when two values are equal as msgpack values (see the module header). */
export const wireEquals = (a: WireValue, b: WireValue): boolean => canonicalKey(a) === canonicalKey(b);

/**
 * One string per msgpack value: equal strings exactly for equal values. Every part is
 * self-delimiting (a tag, then a length or a terminator), so concatenations cannot collide.
 * Built without recursion, so a deeply nested value cannot exhaust the stack.
 */
export const canonicalKey = (root: WireValue): string => {
  type Frame = { readonly tag: 'a' | 'm'; readonly children: ReadonlyArray<WireValue>; readonly parts: string[] };
  const frames: Frame[] = [];
  let result = '';
  // `emit` hands a finished child string to the innermost open container, or ends the walk.
  const emit = (s: string): void => {
    const top = frames[frames.length - 1];
    if (top === undefined) result = s;
    else top.parts.push(s);
  };
  const open = (v: WireValue): void => {
    if (v instanceof Map) frames.push({ tag: 'm', children: [...v].flatMap(([k, x]) => [k, x]), parts: [] });
    else if (Array.isArray(v)) frames.push({ tag: 'a', children: v as ReadonlyArray<WireValue>, parts: [] });
    else emit(scalarKey(v));
  };
  open(root);
  while (frames.length > 0) {
    const top = frames[frames.length - 1] as Frame;
    const nextChild = top.children[top.parts.length];
    if (top.parts.length < top.children.length) {
      open(nextChild ?? null);
      continue;
    }
    frames.pop();
    emit(closeContainer(top.tag, top.parts));
  }
  return result;
};

/** The string of a finished array (in order) or map (entries sorted, so order does not matter). */
const closeContainer = (tag: 'a' | 'm', parts: ReadonlyArray<string>): string => {
  if (tag === 'a') return `a${parts.length}:${parts.join('')}`;
  const entries: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) entries.push(`${parts[i] ?? ''}${parts[i + 1] ?? ''}`);
  entries.sort();
  return `m${entries.length}:${entries.join('')}`;
};

/** The string of a scalar value. */
const scalarKey = (v: WireValue): string => {
  if (v === null) return 'n';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'bigint':
      return `i${v.toString()};`;
    case 'number':
      // msgpack writes an integral number as an int, so 3 and 3n are one value; so is -0 (msgpackr
      // writes it as the integer 0, and a float -0.0 a peer sends cannot be told from it once decoded).
      return Number.isInteger(v) ? `i${BigInt(v).toString()};` : `d${String(v)};`;
    case 'string':
      return `s${v.length}:${v}`;
    default:
      return v instanceof Uint8Array ? `b${v.length}:${hexOf(v)}` : 'n';
  }
};

/** Lowercase hex of some bytes. */
const hexOf = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
};

/** What a get decides from the answers so far. */
export type GetDecision =
  | { readonly _tag: 'Value'; readonly value: WireValue }
  /** At least the quorum of tables hold nothing for the key. */
  | { readonly _tag: 'NotFound'; readonly bestVotes: number }
  /** Neither a value nor absence can reach the quorum any more. */
  | { readonly _tag: 'NoQuorum'; readonly bestVotes: number }
  /** The answers still awaited could decide it either way. */
  | { readonly _tag: 'Pending' };

/**
 * A get's decision: the winning value (`vote`); else NotFound once the quorum of tables answered
 * null; else NoQuorum once neither can happen. A value comes first: with a quorum below a
 * majority, it is waited for while it can still win. With a majority quorum the outcome, once
 * every table has answered, is the same whatever order the answers came in, and an early
 * decision is always that outcome.
 */
export const decideGet = (answers: ReadonlyArray<TableAnswer>, quorum: number = VOTE_QUORUM): GetDecision => {
  const v = vote(answers, quorum);
  if (v._tag === 'Value') return { _tag: 'Value', value: v.value };
  if (v._tag === 'Pending') return { _tag: 'Pending' };
  let nils = 0;
  let pending = 0;
  for (const a of answers) {
    if (a._tag === 'Awaiting') pending++;
    else if (a.value === null) nils++;
  }
  if (nils >= quorum) return { _tag: 'NotFound', bestVotes: v.bestVotes };
  return nils + pending >= quorum ? { _tag: 'Pending' } : { _tag: 'NoQuorum', bestVotes: v.bestVotes };
};
