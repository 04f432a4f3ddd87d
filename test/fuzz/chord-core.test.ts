// Fuzzing the chord core: a joined chord node with small chord bounds, an attacker on one
// connection and two honest storing peers. The attacker sends well-formed chord messages with
// hostile contents (corpus `chordFrame`: unknown tables, bad and aliased key58s, huge values,
// growing deltas, answers nobody asked for, flipping metas, odd notifies and peers lists) mixed
// with the mesh corpus's hostile frames; ticks and local gets come in between. After every input
// `chordStep` has not thrown, every mesh and chord bound holds, every close has a typed reason
// and hits the attacker or a dial only, and the honest peers' entries are as they stored them.
// At the end of each case, past every deadline: every local get has ended exactly once, nothing
// waits any more, every stored value can still be answered in one frame, the honest peers read,
// overwrite and add their data through the wire, and an honest broadcast is delivered exactly
// once. `TS2P_FUZZ_RUNS` sets the number of cases (each makes up to `TS2P_FUZZ_ACTS` moves, 24 unless told).
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultChordLimits, type ChordConfig } from '../../src/core/chord/config.js';
import { chordItems, chordStatus, chordStep, initChord, type ChordEnv, type ChordState } from '../../src/core/chord/node.js';
import { keyPositions58, keyPositionsOf, nodePosition, TABLES, type TableName } from '../../src/core/chord/ring.js';
import { route } from '../../src/core/chord/routing.js';
import { retrieve } from '../../src/core/chord/store.js';
import { wireEquals } from '../../src/core/chord/vote.js';
import { latin1Bytes, timeSeconds } from '../../src/core/ids.js';
import type { Env } from '../../src/core/node.js';
import { ConnId, type CloseReason, type CommandId, type Effect, type Input } from '../../src/core/types.js';
import { heldBytes } from '../../src/core/wire/framing.js';
import { chordMetaPayload, chordRetrievedPayload, chordRetrievePayload, chordStorePayload } from '../../src/core/wire/messages.js';
import { checkedMessage } from '../../src/core/wire/packets.js';
import { footprint, VALUE_OVERHEAD_BYTES } from '../../src/core/wire/footprint.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { caps, concatBytes, events, frameFrom, gzip, handshakeFrom, mkEnv, snappy, T0, writes, zlib } from '../unit/mesh-env.js';
import { attacker, chordFrame, fuzzRuns, honest, hostileFrame, mutate, watchedCaps, type Build, type Mutation } from './corpus.js';

const FRAME_MAX = 64 * 1024;
const limits = { frameBytesMax: FRAME_MAX, connectionsMax: 8, awaitingMax: 3, seenMax: 64, pendingRequestsMax: 4, outgoingMax: 2 };
const chordLimits: ChordConfig = {
  ...defaultChordLimits,
  storeEntriesMax: 4,
  // Room for a few values of 1,000 bytes; values of a quarter frame and more are refused outright.
  storeBytesMax: 8 * 1024,
  forwardsMax: 2,
  getsMax: 3,
  directoryMax: 5,
  notifyKeysMax: 3,
  // 'k0' and 'k1' fill it exactly; longer corpus keys pass it alone.
  notifyKeyBytesMax: 3 * VALUE_OVERHEAD_BYTES + 8,
  dialsMax: 2,
  peersMax: 3,
  getTimeoutMs: 2_000,
  forwardTimeoutMs: 3_000,
  refreshMs: 5_000,
};
const watched = watchedCaps();
const env: ChordEnv = { ...mkEnv(1, { compression: [snappy, zlib, gzip], ...limits }), caps: watched.caps, chord: chordLimits };
const LINK = [zlib, snappy];

const closeTags: ReadonlySet<CloseReason['_tag']> = new Set([
  'WrongSubnet', 'SelfConnection', 'DuplicateConnection', 'UnexpectedPeer', 'BadFrame', 'BadMessage', 'IllegalMessage',
  'HandshakeTimeout', 'StalledFrame', 'TooManyConnections', 'SlowPeer', 'PeerClosed', 'UserDisconnect', 'Shutdown',
]);

const ATTACKER = ConnId('a1');
const HONEST = [ConnId('a2'), ConnId('a3')] as const;
const WHISPER = 2;

// The ring: us, the attacker, the honest peers. Honest keys are ones whose five positions we own
// while all three peers store, so no meta of the attacker's can move them away from us, and the
// attacker's keys (near these points, random, or of other user keys) never meet them.
const position = (e: Env): bigint => E.getOrElse(() => -1n)(nodePosition(e.config.id));
const self = position(env);
const others = [attacker, ...honest].map((e) => ({ position: position(e) }));
const ourKey = (prefix: string): string => {
  for (let n = 0; n < 100_000; n++) {
    const key = `${prefix}-${n}`;
    const positions = keyPositionsOf(caps, key);
    if (TABLES.every((t) => route(self, true, others, positions[t])._tag === 'Local')) return key;
  }
  throw new Error(`no key of ours under ${prefix}`);
};
/** The keys honest peer 0 and 1 store before the attack, and the one peer 1 adds at the end. */
const HONEST_KEYS = [ourKey('honest-a'), ourKey('honest-b'), ourKey('honest-c')] as const;
const near = [self, ...others.map((o) => o.position)];

type Act =
  | { readonly _tag: 'Chord'; readonly build: Build; readonly split: number }
  | { readonly _tag: 'Hostile'; readonly build: Build; readonly mutation: Mutation; readonly split: number }
  | { readonly _tag: 'Tick'; readonly dtMs: number }
  /** The shell says a connection's queue has drained (asked for or not): one of the node's connections, by index. */
  | { readonly _tag: 'Drained'; readonly conn: number }
  | { readonly _tag: 'Gets'; readonly keys: ReadonlyArray<string>; readonly timeoutMs: number | undefined };

const act: fc.Arbitrary<Act> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ build: chordFrame(attacker, near, FRAME_MAX, LINK), split: fc.nat({ max: 96 }) }).map((r): Act => ({ _tag: 'Chord', ...r })) },
  { weight: 1, arbitrary: fc.record({ f: hostileFrame(attacker, FRAME_MAX), split: fc.nat({ max: 64 }) }).map(({ f, split }): Act => ({ _tag: 'Hostile', ...f, split })) },
  { weight: 2, arbitrary: fc.nat({ max: 4_000 }).map((dtMs): Act => ({ _tag: 'Tick', dtMs })) },
  { weight: 1, arbitrary: fc.nat({ max: 7 }).map((conn): Act => ({ _tag: 'Drained', conn })) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        keys: fc.array(fc.oneof(fc.constantFrom(...[0, 1, 2, 3].map((n) => `atk-${n}`)), fc.constant(HONEST_KEYS[0])), { minLength: 1, maxLength: 4 }),
        timeoutMs: fc.option(fc.nat({ max: 3_000 }), { nil: undefined }),
      })
      .map((r): Act => ({ _tag: 'Gets', ...r })),
  },
);

const feed = fc.record({
  attackerStores: fc.boolean(),
  acts: fc.array(act, { minLength: 1, maxLength: Number(process.env.TS2P_FUZZ_ACTS ?? 24) }),
  stepMs: fc.nat({ max: 400 }),
});

// Totals for the summary line, and how often each bound was reached (a bound never reached is
// not tested).
let inputs = 0;
let closes = 0;
let reconnects = 0;
const reached = { entries: 0, storeBytes: 0, forwards: 0, gets: 0, directory: 0, keys: 0, keyBytes: 0 };

/** Per case: what the honest peers stored (table/key58 → value), and the events of each command. */
interface Case {
  readonly st: ChordState;
  at: number;
  /** The attacker's connection: a1, then a fresh one each time it was closed and came back. */
  attackerConn: ConnId;
  reconnects: number;
  nextCmd: CommandId;
  readonly ends: Map<CommandId, number>;
  readonly honestData: Map<string, { readonly table: TableName; readonly key58: string; readonly value: WireValue }>;
}

const checkBounds = (c: Case, effects: ReadonlyArray<Effect>): void => {
  const { st } = c;
  const s = chordStatus(st);
  expect(s.connections).toBeLessThanOrEqual(limits.connectionsMax);
  expect(s.awaiting).toBeLessThanOrEqual(limits.awaitingMax);
  expect(s.seen).toBeLessThanOrEqual(limits.seenMax);
  expect(s.pendingReplies).toBeLessThanOrEqual(limits.pendingRequestsMax);
  // The mesh dials while short of `outgoingMax` outgoing links, chord while fewer than `dialsMax`
  // dials are in flight; no dial is ever answered here, so neither can add to the other's.
  expect(s.dialing).toBeLessThanOrEqual(Math.max(limits.outgoingMax, chordLimits.dialsMax));
  for (const conn of st.mesh.conns.values()) expect(heldBytes(conn.decoder)).toBeLessThanOrEqual(FRAME_MAX + 4);
  expect(watched.worst.limit).toBeLessThanOrEqual(FRAME_MAX);
  expect(watched.worst.output).toBeLessThanOrEqual(FRAME_MAX);
  // Chord's own bounds (state.ts), and the relay count against the relays actually waiting.
  for (const t of TABLES) expect(s.entries[t]).toBeLessThanOrEqual(chordLimits.storeEntriesMax);
  expect(s.storeBytes).toBeLessThanOrEqual(chordLimits.storeBytesMax);
  expect(s.keys).toBeLessThanOrEqual(chordLimits.notifyKeysMax);
  expect(s.keyBytes).toBeLessThanOrEqual(chordLimits.notifyKeyBytesMax);
  // The running totals are exact: the msgpack lengths of the values held, the lengths of the keys.
  expect(s.storeBytes).toBe(chordItems(st).reduce((n, item) => n + footprint(item.value, packValue(item.value).length), 0));
  expect(s.keyBytes).toBe([...st.keys.keys()].reduce((n, k) => n + k.length + VALUE_OVERHEAD_BYTES, 0));
  expect(s.pendingGets).toBeLessThanOrEqual(chordLimits.getsMax);
  expect(s.forwardedRetrieves).toBeLessThanOrEqual(chordLimits.forwardsMax);
  expect(s.directory).toBeLessThanOrEqual(chordLimits.directoryMax);
  let relays = 0;
  for (const slot of st.waiting.values()) {
    expect(slot.waiters.length).toBeGreaterThan(0);
    expect(slot.deadlineAt).toBeLessThanOrEqual(c.at + chordLimits.forwardTimeoutMs);
    expect(st.checkAt).toBeLessThanOrEqual(slot.deadlineAt);
    relays += slot.waiters.filter((w) => w._tag === 'Relay').length;
  }
  expect(s.forwardedRetrieves).toBe(relays);
  for (const g of st.gets.values()) expect(st.checkAt).toBeLessThanOrEqual(g.deadlineAt);
  for (const id of st.peers.keys()) expect(st.mesh.routing.has(id)).toBe(true);
  if (TABLES.some((t) => s.entries[t] === chordLimits.storeEntriesMax)) reached.entries++;
  // A byte total rarely lands on its bound exactly: a write refused for it shows it was reached.
  if (effects.some((e) => e._tag === 'Emit' && e.event._tag === 'Dropped' && e.event.why.endsWith('refused: StoreFull'))) reached.storeBytes++;
  if (s.forwardedRetrieves === chordLimits.forwardsMax) reached.forwards++;
  if (s.pendingGets === chordLimits.getsMax) reached.gets++;
  if (s.directory === chordLimits.directoryMax) reached.directory++;
  if (s.keys === chordLimits.notifyKeysMax) reached.keys++;
  if (s.keyBytes === chordLimits.notifyKeyBytesMax) reached.keyBytes++;
  // The honest peers' entries are as they stored them, whatever the attacker sent.
  for (const { table, key58, value } of c.honestData.values()) {
    const held = retrieve(st.store, table, key58);
    expect(held._tag === 'Some' && wireEquals(held.value, value), `honest ${table}/${key58}`).toBe(true);
  }
  for (const e of effects) {
    if (e._tag === 'Close') {
      closes++;
      expect(closeTags.has(e.reason._tag)).toBe(true);
      expect(HONEST).not.toContain(e.conn);
    }
    if (e._tag === 'Emit' && (e.event._tag === 'ChordResult' || e.event._tag === 'ChordFailed')) {
      c.ends.set(e.event.cmd, (c.ends.get(e.event.cmd) ?? 0) + 1);
    }
  }
};

/** One input, then every check. */
const go = (c: Case, input: Input): ReadonlyArray<Effect> => {
  inputs++;
  const [, effects] = chordStep(env, c.st, input);
  checkBounds(c, effects);
  return effects;
};

const bytesIn = (c: Case, conn: ConnId, bytes: Uint8Array): ReadonlyArray<Effect> => go(c, { _tag: 'BytesReceived', at: c.at, conn, bytes });

/** A local get; returns its cmd and the effects. */
const get = (c: Case, key: string, timeoutMs?: number): [CommandId, ReadonlyArray<Effect>] => {
  const cmd = c.nextCmd++;
  c.ends.set(cmd, 0);
  const input: Input = timeoutMs === undefined ? { _tag: 'ChordGet', at: c.at, cmd, key } : { _tag: 'ChordGet', at: c.at, cmd, key, timeoutMs };
  return [cmd, go(c, input)];
};

/** What a get ended with in these effects. */
const outcome = (effects: ReadonlyArray<Effect>, cmd: CommandId) =>
  events(effects).find((e) => (e._tag === 'ChordResult' || e._tag === 'ChordFailed') && e.cmd === cmd);

/** Honest peer `i` stores `value` under `key` in all five tables (tables and key58s as bin from peer 1, as py2p sends them). */
const honestStore = (c: Case, i: 0 | 1, key: string, value: WireValue): ReadonlyArray<Effect> => {
  const k58 = keyPositions58(caps, key);
  const bin = i === 1;
  const frames = TABLES.map((t) =>
    frameFrom(honest[i]!.config.id, WHISPER, chordStorePayload(bin ? latin1Bytes(t) : t, bin ? latin1Bytes(k58[t]) : k58[t], value), c.at),
  );
  return bytesIn(c, HONEST[i], concatBytes(frames));
};

const remember = (c: Case, key: string, value: WireValue): void => {
  const k58 = keyPositions58(caps, key);
  for (const t of TABLES) c.honestData.set(`${t}/${k58[t]}`, { table: t, key58: k58[t], value });
};

/** A joined node with the attacker on a1 (storing or not) and the two honest peers storing on a2, a3, each of which stored a key. */
const setup = (attackerStores: boolean, seq: number): Case => {
  const at = T0 + 1000;
  const c: Case = { st: initChord(env, at), at, attackerConn: ATTACKER, reconnects: 0, nextCmd: 1, ends: new Map(), honestData: new Map() };
  [attacker, ...honest].forEach((peer, i) => {
    const conn = [ATTACKER, ...HONEST][i]!;
    go(c, { _tag: 'ConnectionAccepted', at, conn, remote: peer.config.outAddr });
    bytesIn(c, conn, handshakeFrom(peer, LINK, peer.config.protocol.id, at));
  });
  go(c, { _tag: 'ChordJoin', at, cmd: c.nextCmd++ });
  HONEST.forEach((conn, i) => bytesIn(c, conn, frameFrom(honest[i]!.config.id, WHISPER, chordMetaPayload(false), at)));
  if (attackerStores) bytesIn(c, ATTACKER, frameFrom(attacker.config.id, WHISPER, chordMetaPayload(false), at));
  expect(chordStatus(c.st).storingPeers).toBe(attackerStores ? 3 : 2);
  const values: WireValue[] = [new Map<WireValue, WireValue>([['by', 'h0'], [latin1Bytes('case'), seq]]), ['h1', 2n ** 63n, latin1Bytes('x')]];
  ([0, 1] as const).forEach((i) => {
    honestStore(c, i, HONEST_KEYS[i], values[i]!);
    remember(c, HONEST_KEYS[i], values[i]!);
  });
  return c;
};

/** The attacker, closed for what it sent, connects again (and is leeching again until its next meta). */
const reconnect = (c: Case): void => {
  c.reconnects++;
  reconnects++;
  c.attackerConn = ConnId(`a1.${c.reconnects}`);
  go(c, { _tag: 'ConnectionAccepted', at: c.at, conn: c.attackerConn, remote: attacker.config.outAddr });
  bytesIn(c, c.attackerConn, handshakeFrom(attacker, LINK, attacker.config.protocol.id, c.at));
  expect(c.st.mesh.routing.get(attacker.config.id)).toBe(c.attackerConn);
};

/** Every stored value can still be answered: a retrieved of it fits in one frame a peer accepts. */
const answerable = (st: ChordState, at: number): void => {
  for (const item of chordItems(st)) {
    const m = checkedMessage(caps, WHISPER, env.config.id, chordRetrievedPayload(item.table, item.key58, item.value), timeSeconds(at), String, FRAME_MAX);
    expect(typeof m === 'string' ? `${item.table}/${item.key58}: ${m}` : 'ok').toBe('ok');
  }
};

/** The end of a case: past every deadline, the honest peers still read, overwrite and add their data. */
const honestStillServed = (c: Case, seq: number): void => {
  c.at += chordLimits.forwardTimeoutMs + chordLimits.getTimeoutMs + 3_000;
  go(c, { _tag: 'Tick', at: c.at });
  // Every get ended exactly once, and nothing waits any more.
  for (const [cmd, n] of c.ends) expect([cmd, n]).toEqual([cmd, 1]);
  expect(c.st.gets.size).toBe(0);
  expect(c.st.waiting.size).toBe(0);
  expect(c.st.relays).toBe(0);
  answerable(c.st, c.at);
  // Honest peer 0 retrieves peer 1's key, table by table (as str and as bin): answered from the store.
  const k58 = keyPositions58(caps, HONEST_KEYS[1]);
  const stored = c.honestData.get(`sha1/${k58.sha1}`)!.value;
  TABLES.forEach((t, i) => {
    const table = i % 2 === 0 ? t : latin1Bytes(t);
    const key58 = i % 2 === 0 ? k58[t] : latin1Bytes(k58[t]);
    const out = bytesIn(c, HONEST[0], frameFrom(honest[0]!.config.id, WHISPER, chordRetrievePayload(table, key58), c.at));
    const answers = writes(out, LINK).filter((w) => w.conn === HONEST[0]).map((w) => w.payload);
    expect(answers).toHaveLength(1);
    expect(wireEquals(answers[0]!, chordRetrievedPayload(table, key58, stored))).toBe(true);
  });
  // Local gets of both honest keys read what the honest peers stored.
  for (const key of HONEST_KEYS.slice(0, 2)) {
    const [cmd, out] = get(c, key);
    const expected = c.honestData.get(`sha1/${keyPositions58(caps, key).sha1}`)!.value;
    const ev = outcome(out, cmd);
    expect(ev?._tag === 'ChordResult' && ev.value !== undefined && wireEquals(ev.value, expected)).toBe(true);
  }
  // Honest peer 0 overwrites its key: a full table still takes a key it holds, and a full store a
  // value no larger than the one it replaces.
  const next: WireValue = ['h0', 'again', seq];
  remember(c, HONEST_KEYS[0], next);
  honestStore(c, 0, HONEST_KEYS[0], next);
  const [cmd0, out0] = get(c, HONEST_KEYS[0]);
  const ev0 = outcome(out0, cmd0);
  expect(ev0?._tag === 'ChordResult' && ev0.value !== undefined && wireEquals(ev0.value, next)).toBe(true);
  // Honest peer 1 adds a key: each table with room takes it (an entry free, and the bytes, the
  // tables written in order), and the vote follows.
  const before = chordStatus(c.st);
  const added: WireValue = ['h1', 'new', seq];
  const addedBytes = footprint(added, packValue(added).length);
  let bytes = before.storeBytes;
  let room = 0;
  for (const t of TABLES) {
    if (before.entries[t] >= chordLimits.storeEntriesMax || bytes + addedBytes > chordLimits.storeBytesMax) continue;
    room++;
    bytes += addedBytes;
  }
  honestStore(c, 1, HONEST_KEYS[2], added);
  const [cmd2, out2] = get(c, HONEST_KEYS[2]);
  const ev2 = outcome(out2, cmd2);
  if (room >= chordLimits.voteQuorum) expect(ev2?._tag === 'ChordResult' && ev2.value !== undefined && wireEquals(ev2.value, added)).toBe(true);
  else expect(ev2).toEqual({ _tag: 'ChordFailed', cmd: cmd2, error: { _tag: 'NotFound' } });
  // An honest broadcast is delivered exactly once and passed on to the other honest peer.
  const out = bytesIn(c, HONEST[0], frameFrom(honest[0]!.config.id, 0, [0, 'honest', seq], c.at));
  expect(out.filter((e) => e._tag === 'Deliver' && e.message.packets[1] === 'honest')).toHaveLength(1);
  expect(out.some((e) => e._tag === 'Write' && e.conn === HONEST[1])).toBe(true);
  expect(chordStatus(c.st).routed).toBeGreaterThanOrEqual(2);
};

describe('fuzz: the chord core under hostile chord messages', () => {
  afterAll(() => {
    const r = reached;
    console.info(
      `fuzz chord core: ${inputs} inputs fed, ${closes} typed closes, ${reconnects} attacker reconnections; inputs at a bound: entries ${r.entries}, store bytes ${r.storeBytes}, forwards ${r.forwards}, gets ${r.gets}, directory ${r.directory}, notify keys ${r.keys}, notify key bytes ${r.keyBytes}`,
    );
  });

  it('never throws, stays bounded, and keeps the honest peers and their data', () => {
    const runs = fuzzRuns(400);
    let seq = 0;
    fc.assert(
      fc.property(feed, ({ attackerStores, acts, stepMs }) => {
        seq++;
        const c = setup(attackerStores, seq);
        for (const a of acts) {
          c.at += stepMs;
          switch (a._tag) {
            case 'Chord':
            case 'Hostile': {
              if (!c.st.mesh.conns.has(c.attackerConn)) reconnect(c);
              const bytes = a._tag === 'Chord' ? a.build(c.at) : mutate(a.build(c.at), a.mutation);
              // Split in two chunks at a drawn point, so that frames also arrive in pieces.
              const cut = Math.min(a.split, bytes.length);
              bytesIn(c, c.attackerConn, bytes.subarray(0, cut));
              if (cut < bytes.length) bytesIn(c, c.attackerConn, bytes.subarray(cut));
              break;
            }
            case 'Tick':
              c.at += a.dtMs;
              go(c, { _tag: 'Tick', at: c.at });
              break;
            case 'Drained': {
              const conns = [...c.st.mesh.conns.keys()];
              const conn = conns[a.conn % Math.max(1, conns.length)];
              if (conn !== undefined) go(c, { _tag: 'Drained', at: c.at, conn, token: c.st.drainTokens });
              break;
            }
            case 'Gets':
              // The user reads a few keys at once: past `getsMax` pending, a get fails with Busy.
              for (const key of a.keys) {
                const busy = c.st.gets.size >= chordLimits.getsMax;
                const [cmd, out] = get(c, key, a.timeoutMs);
                const ev = outcome(out, cmd);
                if (busy) expect(ev).toEqual({ _tag: 'ChordFailed', cmd, error: { _tag: 'Busy', limit: chordLimits.getsMax } });
                else if (key === HONEST_KEYS[0]) {
                  // Our keys are ours alone: a get of one is answered at once with what the honest peer stored.
                  const expected = c.honestData.get(`sha1/${keyPositions58(caps, key).sha1}`)!.value;
                  expect(ev?._tag === 'ChordResult' && ev.value !== undefined && wireEquals(ev.value, expected)).toBe(true);
                }
              }
              break;
          }
        }
        honestStillServed(c, seq);
      }),
      { numRuns: runs },
    );
  }, 3_600_000);
});
