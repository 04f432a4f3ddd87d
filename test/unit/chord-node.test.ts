// The chord reducer: meta flow, claimed chord messages, bad input, local and forwarded requests,
// and the bounds on the bytes a node holds for its peers.
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { defaultChordLimits, type ChordConfig } from '../../src/core/chord/config.js';
import { chordItems, chordKeys, chordStatus, chordStep, initChord, nextChordWakeup, type ChordEnv, type ChordState } from '../../src/core/chord/node.js';
import { HANDOFF_BATCH_BYTES } from '../../src/core/chord/handoff.js';
import { key58Of, keyPositions58, nodePosition, RING_SIZE, TABLES } from '../../src/core/chord/ring.js';
import { next, prev, route } from '../../src/core/chord/routing.js';
import { latin1Bytes, utf8Bytes } from '../../src/core/ids.js';
import { subFlags } from '../../src/core/flags.js';
import { ConnId, type Effect, type Input } from '../../src/core/types.js';
import { footprint, VALUE_OVERHEAD_BYTES } from '../../src/core/wire/footprint.js';
import { chordDeltaPayload, chordNotifyPayload, chordRetrievePayload, chordStorePayload, peersPayload, peersRequestPayload } from '../../src/core/wire/messages.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { events, frameFrom, handshakeFrom, mkEnv, only, T0, writes } from './mesh-env.js';

const chordEnv = (i: number): ChordEnv => ({ ...mkEnv(i), chord: defaultChordLimits });
const go = (env: ChordEnv, st: ChordState, input: Input): ReadonlyArray<Effect> => chordStep(env, st, input)[1];
const whisper = 2;

/** A chord node with `peers` accepted on a1, a2, … and handshaken. */
const withPeers = (env: ChordEnv, peers: ReadonlyArray<ChordEnv>): [ChordState, ConnId[], ReadonlyArray<Effect>[]] => {
  const st = initChord(env, T0);
  const all: ReadonlyArray<Effect>[] = [];
  const conns = peers.map((peer, i) => {
    const conn = ConnId(`a${i + 1}`);
    all.push(go(env, st, { _tag: 'ConnectionAccepted', at: T0, conn, remote: peer.config.outAddr }));
    all.push(go(env, st, { _tag: 'BytesReceived', at: T0, conn, bytes: handshakeFrom(peer) }));
    return conn;
  });
  return [st, conns, all];
};

const from = (peer: ChordEnv, payload: Parameters<typeof frameFrom>[2]): Uint8Array => frameFrom(peer.config.id, whisper, payload);

/** `me` joined, with one peer (leeching) handshaken in on a1. */
const joinedWithPeer = (me: ChordEnv): { me: ChordEnv; peer: ChordEnv; st: ChordState; conn: ConnId } => {
  const peer = chordEnv(2);
  const [st, [a1]] = withPeers(me, [peer]);
  const conn = a1 as ConnId;
  go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
  return { me, peer, st, conn };
};
const bytesIn = (conn: ConnId, bytes: Uint8Array, at = T0): Input => ({ _tag: 'BytesReceived', at, conn, bytes });

describe('chord node: meta flow', () => {
  it('an accepting node sends its handshake, then its meta (leeching)', () => {
    const me = chordEnv(1);
    const [, , effects] = withPeers(me, [chordEnv(2)]);
    const payloads = writes(effects[0] ?? []).map((w) => w.payload);
    expect(payloads).toHaveLength(2);
    expect(payloads[0]?.[0]).toBe(5);
    expect(payloads[1]).toEqual([5, '1']);
  });

  it('a joined node answers a storing meta with its own, then its peers, and claims the meta', () => {
    const me = chordEnv(1);
    const peer = chordEnv(2);
    const [st, [a1]] = withPeers(me, [peer]);
    const join = go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 7 });
    expect(events(join)).toEqual([{ _tag: 'ChordResult', cmd: 7 }]);
    expect(writes(join).map((w) => w.payload)).toEqual([[7, []], [5, '0']]);
    const out = go(me, st, bytesIn(a1 as ConnId, from(peer, [5, '0'])));
    expect(only(out, 'Deliver')).toEqual([]);
    expect(writes(out).map((w) => w.payload)).toEqual([[5, '0'], [7, []]]);
    // The same meta again changes nothing and gets no answer.
    expect(go(me, st, bytesIn(a1 as ConnId, from(peer, [5, '0'])))).toEqual([]);
  });
});

describe('chord node: handing items over', () => {
  // The node holds 40 items of 100 kB, spread over the ring; the peer then starts storing and owns
  // part of them. They go in batches of about HANDOFF_BATCH_BYTES, each after the last has left.
  const setup = () => {
    const { me, peer, st, conn } = joinedWithPeer(chordEnv(1));
    const value = 'v'.repeat(100_000);
    const step = RING_SIZE / 40n;
    for (let i = 0n; i < 40n; i++) go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha384', key58Of(i * step + 1n), value))));
    expect(chordItems(st)).toHaveLength(40);
    return { me, peer, st, conn };
  };
  const stores = (effects: ReadonlyArray<Effect>) => writes(effects).filter((w) => w.payload[0] === subFlags.store);

  it('writes a batch, waits for it to leave, then removes those copies and writes the next', () => {
    const { me, peer, st, conn } = setup();
    let out = go(me, st, bytesIn(conn, from(peer, [5, '0'])));
    let sent = stores(out).length;
    // about a megabyte per batch, and nothing removed until it has left
    expect(sent).toBeGreaterThan(0);
    expect(sent * 100_000).toBeLessThanOrEqual(HANDOFF_BATCH_BYTES + 100_100);
    expect(only(out, 'AwaitDrain')).toEqual([{ _tag: 'AwaitDrain', conn, token: st.drainTokens }]);
    expect(chordItems(st)).toHaveLength(40);
    let batches = 1;
    while (only(out, 'AwaitDrain').length > 0) {
      const held = chordItems(st).length;
      out = go(me, st, { _tag: 'Drained', at: T0, conn, token: st.drainTokens });
      expect(chordItems(st).length).toBeLessThan(held);
      sent += stores(out).length;
      batches++;
      expect(batches).toBeLessThan(40);
    }
    // everything the peer owns went over, each item once, in more than one batch
    expect(batches).toBeGreaterThan(2);
    expect(chordStatus(st).chord.migrated).toBe(sent);
    expect(chordItems(st)).toHaveLength(40 - sent);
    // a late Drained does nothing
    expect(go(me, st, { _tag: 'Drained', at: T0, conn, token: st.drainTokens })).toEqual([]);
  });

  it('keeps the copies of a batch whose connection closes before it has left', () => {
    const { me, peer, st, conn } = setup();
    const out = go(me, st, bytesIn(conn, from(peer, [5, '0'])));
    expect(stores(out).length).toBeGreaterThan(0);
    go(me, st, { _tag: 'ConnectionClosed', at: T0, conn, reason: { _tag: 'PeerClosed' } });
    expect(chordItems(st)).toHaveLength(40);
    expect(go(me, st, { _tag: 'Drained', at: T0, conn, token: st.drainTokens })).toEqual([]);
    expect(chordItems(st)).toHaveLength(40);
    expect(chordStatus(st).chord.migrated).toBe(0);
  });

  it('sends nothing more to a peer that stops storing, keeping what was not sent', () => {
    const { me, peer, st, conn } = setup();
    const first = stores(go(me, st, bytesIn(conn, from(peer, [5, '0'])))).length;
    expect(first).toBeGreaterThan(0);
    go(me, st, bytesIn(conn, from(peer, [5, '1'])));
    const after = go(me, st, { _tag: 'Drained', at: T0, conn, token: st.drainTokens });
    expect(stores(after)).toEqual([]);
    expect(chordStatus(st).handingOver).toBe(0);
    // what the first batch carried is no longer the peer's: those copies stay too
    expect(chordItems(st)).toHaveLength(40);
  });

  it('on unjoin hands each storing peer what it owns, in batches, until nothing is held', () => {
    const me = chordEnv(1);
    const [p2, p3] = [chordEnv(2), chordEnv(3)];
    const [st, [a1, a2]] = withPeers(me, [p2, p3]);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    // both peers leech while the node takes 40 items of 100 kB, then both store (and migration runs its course)
    const value = 'v'.repeat(100_000);
    const step = RING_SIZE / 40n;
    for (let i = 0n; i < 40n; i++) go(me, st, bytesIn(a1 as ConnId, from(p2, chordStorePayload('sha512', key58Of(i * step + 1n), value))));
    const drainAll = (first: ReadonlyArray<Effect>): ReadonlyArray<Effect> => {
      const all = [...first];
      for (let rounds = 0; only(all, 'AwaitDrain').length > 0 && rounds < 100; rounds++) {
        const asks = only(all.splice(0), 'AwaitDrain');
        for (const a of asks) all.push(...go(me, st, { _tag: 'Drained', at: T0, conn: a.conn, token: a.token }));
        writesOf.push(...writes(all));
      }
      return all;
    };
    const writesOf: ReturnType<typeof writes> = [];
    drainAll(go(me, st, bytesIn(a1 as ConnId, from(p2, [5, '0']))));
    drainAll(go(me, st, bytesIn(a2 as ConnId, from(p3, [5, '0']))));
    const held = chordItems(st).length;
    expect(held).toBeGreaterThan(0);
    writesOf.length = 0;
    const unjoined = go(me, st, { _tag: 'ChordUnjoin', at: T0, cmd: 9 });
    writesOf.push(...writes(unjoined));
    drainAll(unjoined);
    expect(chordItems(st)).toEqual([]);
    expect(chordStatus(st).handingOver).toBe(0);
    // every item went once, to the peer that owns it now that this node does not store
    const at = (text: string): bigint => {
      const p = nodePosition(text);
      if (E.isLeft(p)) throw new Error(p.left._tag);
      return p.right;
    };
    const peers = [p2, p3].map((p) => ({ id: p.config.id, position: at(p.config.id) }));
    const sent = writesOf.filter((w) => w.payload[0] === subFlags.store);
    expect(sent).toHaveLength(held);
    for (const w of sent) {
      const r = route(0n, false, peers, at(w.payload[2] as string));
      expect(r._tag === 'Forward' ? r.peer.id : undefined).toBe(w.conn === a1 ? p2.config.id : p3.config.id);
    }
  });

  it('keeps a copy written again after it was sent', () => {
    const { me, peer, st, conn } = setup();
    const out = go(me, st, bytesIn(conn, from(peer, [5, '0'])));
    const first = stores(out)[0]!.payload;
    // the peer leeches again: the item is ours once more, and is written to
    go(me, st, bytesIn(conn, from(peer, [5, '1'])));
    go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha384', first[2] as string, 'newer'))));
    go(me, st, { _tag: 'Drained', at: T0, conn, token: st.drainTokens });
    expect(chordItems(st).find((it) => it.key58 === first[2])?.value).toBe('newer');
  });
});

describe('chord node: requests', () => {
  it('a write is done once its stores have left, and fails if a connection closes before', () => {
    const { me, peer, st, conn } = joinedWithPeer(chordEnv(1));
    go(me, st, bytesIn(conn, from(peer, [5, '0'])));
    // a key some of whose tables the peer owns
    let key = '';
    let asks: ReturnType<typeof only<'AwaitDrain'>> = [];
    for (let i = 0; asks.length === 0 && i < 50; i++) {
      key = `key-${i}`;
      const out = go(me, st, { _tag: 'ChordSet', at: T0, cmd: 10 + i, key, value: i });
      asks = only(out, 'AwaitDrain');
      // a set whose tables are all ours is done at once
      if (asks.length === 0) expect(events(out)).toEqual([{ _tag: 'ChordResult', cmd: 10 + i }]);
      else expect(events(out)).toEqual([]);
    }
    const [ask] = asks;
    expect(ask?.conn).toBe(conn);
    const cmd = 10 + Number(key.slice(4));
    // a second write to the same connection waits for a later drain than the first
    const second = only(go(me, st, { _tag: 'ChordSet', at: T0, cmd: 99, key, value: 'again' }), 'AwaitDrain')[0]!;
    expect(second.token).toBeGreaterThan(ask!.token);
    expect(events(go(me, st, { _tag: 'Drained', at: T0, conn, token: ask!.token }))).toEqual([{ _tag: 'ChordResult', cmd }]);
    // the second fails when the connection closes before its drain
    const closed = go(me, st, { _tag: 'ConnectionClosed', at: T0, conn, reason: { _tag: 'PeerClosed' } });
    expect(events(closed).filter((e) => e._tag === 'ChordFailed')).toEqual([{ _tag: 'ChordFailed', cmd: 99, error: { _tag: 'Disconnected', peer: peer.config.id } }]);
    // and nothing more comes of it
    expect(events(go(me, st, { _tag: 'Drained', at: T0, conn, token: second.token }))).toEqual([]);
  });

  it('a write whose stores never leave (the peer stopped reading) fails Timeout at getTimeoutMs', () => {
    const { me, peer, st, conn } = joinedWithPeer(chordEnv(1));
    go(me, st, bytesIn(conn, from(peer, [5, '0'])));
    let cmd = 0;
    for (let i = 0; cmd === 0 && i < 50; i++) {
      if (only(go(me, st, { _tag: 'ChordSet', at: T0, cmd: 10 + i, key: `key-${i}`, value: i }), 'AwaitDrain').length > 0) cmd = 10 + i;
    }
    expect(cmd).toBeGreaterThan(0);
    const limit = defaultChordLimits.getTimeoutMs;
    expect(nextChordWakeup(st)).toBeLessThanOrEqual(T0 + limit);
    expect(events(go(me, st, { _tag: 'Tick', at: T0 + limit - 1 })).filter((e) => e._tag === 'ChordFailed')).toEqual([]);
    expect(events(go(me, st, { _tag: 'Tick', at: T0 + limit })).filter((e) => e._tag === 'ChordFailed')).toEqual([
      { _tag: 'ChordFailed', cmd, error: { _tag: 'Timeout', afterMs: limit, bestVotes: 0, write: true } },
    ]);
  });

  it('keeps its own copies: what the user gave or was given can change without reaching the tables', () => {
    const me = chordEnv(1);
    const st = initChord(me, T0);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    const given = new Map<WireValue, WireValue>([['list', [1, 2]], ['bin', new Uint8Array([7])]]);
    go(me, st, { _tag: 'ChordSet', at: T0, cmd: 2, key: 'k', value: given });
    const delta = new Map<WireValue, WireValue>([['more', ['x']]]);
    go(me, st, { _tag: 'ChordApplyDelta', at: T0, cmd: 3, key: 'k', delta });
    const bytes = chordStatus(st).storeBytes;
    const want = new Map<WireValue, WireValue>([['list', [1, 2]], ['bin', new Uint8Array([7])], ['more', ['x']]]);
    // the user changes what they gave
    given.set('list', [9]);
    (given.get('bin') as Uint8Array)[0] = 0;
    (delta.get('more') as WireValue[]).push('y');
    const read = (cmd: number): WireValue => {
      const [ev] = events(go(me, st, { _tag: 'ChordGet', at: T0, cmd, key: 'k' }));
      if (ev?._tag !== 'ChordResult') throw new Error(JSON.stringify(ev));
      return ev.value ?? null;
    };
    const got = read(4);
    expect(got).toEqual(want);
    // and changes what it was given, and what dumpData gave
    (got as Map<WireValue, WireValue>).set('list', 'changed');
    for (const it of chordItems(st)) (it.value as Map<WireValue, WireValue>).clear();
    expect(read(5)).toEqual(want);
    expect(chordStatus(st).storeBytes).toBe(bytes);
  });

  it('asks again where the key routes now when the connection a retrieve went out on closes', () => {
    // two storing peers; a get that needs all five tables asks each table's owner; one owner's
    // connection closes before it answers
    const me: ChordEnv = { ...mkEnv(1), chord: { ...defaultChordLimits, voteQuorum: 5 } };
    const [p2, p3] = [chordEnv(2), chordEnv(3)];
    const [st, [a1, a2]] = withPeers(me, [p2, p3]);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    go(me, st, bytesIn(a1 as ConnId, from(p2, [5, '0'])));
    go(me, st, bytesIn(a2 as ConnId, from(p3, [5, '0'])));
    const get = go(me, st, { _tag: 'ChordGet', at: T0, cmd: 2, key: 'k' });
    expect(events(get)).toEqual([]);
    const asked = writes(get).filter((w) => w.payload[0] === subFlags.retrieve);
    const onA1 = asked.filter((w) => w.conn === a1);
    expect(onA1.length).toBeGreaterThan(0);
    // a1 closes: what was asked there is asked of p3 (on a2) or answered here, at once
    const closed = go(me, st, { _tag: 'ConnectionClosed', at: T0 + 1, conn: a1 as ConnId, reason: { _tag: 'PeerClosed' } });
    const again = writes(closed).filter((w) => w.payload[0] === subFlags.retrieve);
    expect(again.every((w) => w.conn === a2)).toBe(true);
    // p3 answers nil for all it was asked: the get is decided then, long before its deadline
    const answers = [...asked.filter((w) => w.conn === a2), ...again].map((w) => from(p3, [subFlags.retrieved, w.payload[1]!, w.payload[2]!, null]));
    const decided = [...events(closed), ...answers.flatMap((frame) => events(go(me, st, bytesIn(a2 as ConnId, frame, T0 + 2))))];
    expect(decided.filter((e) => e._tag !== 'PeerLeft')).toEqual([{ _tag: 'ChordFailed', cmd: 2, error: { _tag: 'NotFound' } }]);
  });


  it('a joined node alone stores locally, reads back, deletes, and reports NotFound', () => {
    const me = chordEnv(1);
    const st = initChord(me, T0);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    expect(go(me, st, { _tag: 'ChordSet', at: T0, cmd: 2, key: 'k', value: 'v' })).toEqual([{ _tag: 'Emit', event: { _tag: 'ChordResult', cmd: 2 } }]);
    expect(go(me, st, { _tag: 'ChordGet', at: T0, cmd: 3, key: 'k' })).toEqual([{ _tag: 'Emit', event: { _tag: 'ChordResult', cmd: 3, value: 'v' } }]);
    go(me, st, { _tag: 'ChordSet', at: T0, cmd: 4, key: 'k', value: null });
    expect(go(me, st, { _tag: 'ChordGet', at: T0, cmd: 5, key: 'k' })).toEqual([{ _tag: 'Emit', event: { _tag: 'ChordFailed', cmd: 5, error: { _tag: 'NotFound' } } }]);
  });

  it('a chord command takes its clock reading too, as every mesh input does', () => {
    const me = chordEnv(1);
    const st = initChord(me, T0);
    go(me, st, { _tag: 'ChordJoin', at: T0 + 5_000, cmd: 1 });
    expect(st.mesh.clockMax).toBe(T0 + 5_000);
    go(me, st, { _tag: 'ChordSet', at: T0 + 9_000, cmd: 2, key: 'k', value: 'v' });
    expect(st.mesh.clockMax).toBe(T0 + 9_000);
  });

  it('a leeching node with no storing peer fails with NotJoined', () => {
    const me = chordEnv(1);
    const st = initChord(me, T0);
    expect(events(go(me, st, { _tag: 'ChordGet', at: T0, cmd: 1, key: 'k' }))).toEqual([{ _tag: 'ChordFailed', cmd: 1, error: { _tag: 'NotJoined' } }]);
    expect(events(go(me, st, { _tag: 'ChordSet', at: T0, cmd: 2, key: 'k', value: 1 }))).toEqual([{ _tag: 'ChordFailed', cmd: 2, error: { _tag: 'NotJoined' } }]);
  });

  it('answers a retrieve for a key it owns, echoing a bin table and key58 as received', () => {
    const me = chordEnv(1);
    const peer = chordEnv(2);
    const [st, [a1]] = withPeers(me, [peer]);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    go(me, st, { _tag: 'ChordSet', at: T0, cmd: 2, key: 'x', value: 42 });
    const k58 = keyPositions58(me.caps, 'x');
    const out = go(me, st, bytesIn(a1 as ConnId, from(peer, [0x0c, latin1Bytes('sha256'), latin1Bytes(k58.sha256)])));
    expect(writes(out).map((w) => w.payload)).toEqual([[0x0d, latin1Bytes('sha256'), latin1Bytes(k58.sha256), 42]]);
    expect(only(out, 'Deliver')).toEqual([]);
  });

  it('forwards a get to the storing peer, votes on its answers, and times out without them', () => {
    const me = chordEnv(1);
    const peer = chordEnv(2);
    const [st, [a1]] = withPeers(me, [peer]);
    go(me, st, bytesIn(a1 as ConnId, from(peer, [5, '0'])));
    const k58 = keyPositions58(me.caps, 'far');
    const ask = go(me, st, { _tag: 'ChordGet', at: T0, cmd: 9, key: 'far' });
    expect(writes(ask).map((w) => [w.conn, w.payload])).toEqual(TABLES.map((t) => [a1, [0x0c, t, k58[t]]]));
    let last: ReadonlyArray<Effect> = [];
    for (const t of TABLES.slice(0, 3)) last = go(me, st, bytesIn(a1 as ConnId, from(peer, [0x0d, t, k58[t], 'yes'])));
    expect(events(last)).toEqual([{ _tag: 'ChordResult', cmd: 9, value: 'yes' }]);
    // Another get, never answered: Timeout at the deadline.
    go(me, st, { _tag: 'ChordGet', at: T0, cmd: 10, key: 'far', timeoutMs: 500 });
    expect(nextChordWakeup(st)).toBeLessThanOrEqual(T0 + 500);
    expect(events(go(me, st, { _tag: 'Tick', at: T0 + 500 }))).toContainEqual({
      _tag: 'ChordFailed',
      cmd: 10,
      error: { _tag: 'Timeout', afterMs: 500, bestVotes: 0 },
    });
  });

  it('takes a retrieved only on a connection the retrieve went out on: another peer cannot decide the vote', () => {
    const me = chordEnv(1);
    const owner = chordEnv(2);
    const forger = chordEnv(3);
    const [st, [a1, a2]] = withPeers(me, [owner, forger]);
    // Only the owner stores, so every retrieve of the get goes to it.
    go(me, st, bytesIn(a1 as ConnId, from(owner, [5, '0'])));
    const k58 = keyPositions58(me.caps, 'k');
    expect(writes(go(me, st, { _tag: 'ChordGet', at: T0, cmd: 9, key: 'k' })).map((w) => w.conn)).toEqual(TABLES.map(() => a1));
    // The other peer answers all five tables first: each answer is dropped, and the get waits.
    for (const t of TABLES) {
      const out = go(me, st, bytesIn(a2 as ConnId, from(forger, [0x0d, t, k58[t], 'forged'])));
      expect(events(out)).toEqual([{ _tag: 'Dropped', conn: a2, why: 'chord retrieved on a connection that was not asked' }]);
    }
    expect(st.gets.has(9)).toBe(true);
    let last: ReadonlyArray<Effect> = [];
    for (const t of TABLES.slice(0, 3)) last = go(me, st, bytesIn(a1 as ConnId, from(owner, [0x0d, t, k58[t], 'real'])));
    expect(events(last)).toEqual([{ _tag: 'ChordResult', cmd: 9, value: 'real' }]);
  });

  it('answers many retrieves of one value in one read with one encoding of it, and a changed value anew', () => {
    const { me, peer, st, conn } = joinedWithPeer(chordEnv(1));
    const big = 'b'.repeat(100_000);
    go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha1', 'z', big))));
    const retrieve = from(peer, chordRetrievePayload('sha1', 'z'));
    const read = (frames: ReadonlyArray<Uint8Array>): ReadonlyArray<Uint8Array> =>
      only(go(me, st, bytesIn(conn, new Uint8Array(Buffer.concat(frames)))), 'Write').map((w) => w.bytes);
    const answers = read(Array.from({ length: 50 }, () => retrieve));
    expect(answers).toHaveLength(50);
    // One buffer written 50 times, not 50 encodings of 100 kB.
    expect(new Set(answers).size).toBe(1);
    // A store between two retrieves of the same read changes what the second answers.
    const [first, second] = read([retrieve, from(peer, chordStorePayload('sha1', 'z', 'small')), retrieve]);
    expect(first).not.toBe(second);
    expect(writes(go(me, st, bytesIn(conn, retrieve))).map((w) => w.payload)).toEqual([[0x0d, 'sha1', 'z', 'small']]);
    expect(second!.length).toBeLessThan(1000);
  });

  it('a store with an unknown table or a bad key58 closes that connection only, with a reason', () => {
    const me = chordEnv(1);
    const [st, [a1, a2, a3]] = withPeers(me, [chordEnv(2), chordEnv(3), chordEnv(4)]);
    const badTable = go(me, st, bytesIn(a1 as ConnId, from(chordEnv(2), [0x0b, 'md5', 'abc', 1])));
    expect(only(badTable, 'Close')).toEqual([{ _tag: 'Close', conn: a1, reason: { _tag: 'BadMessage', detail: 'ChordStore: unknown table "md5"' } }]);
    const badKey = go(me, st, bytesIn(a2 as ConnId, from(chordEnv(3), [0x0c, 'sha1', '0OIl'])));
    expect(only(badKey, 'Close')).toEqual([{ _tag: 'Close', conn: a2, reason: { _tag: 'BadMessage', detail: 'ChordRetrieve: bad key58 (BadBase58)' } }]);
    expect(st.mesh.routing.size).toBe(1);
    expect(st.peers.size).toBe(1);
    expect(only(go(me, st, bytesIn(a3 as ConnId, from(chordEnv(4), [0x0b, utf8Bytes('sha1'), 'z', 1]))), 'Close')).toEqual([]);
  });

  it('refuses a delta that would grow a stored map past one frame, and still answers with the map', () => {
    // Each delta fits in a frame; merged, two would not, and no retrieve of the map could be answered.
    const me: ChordEnv = { ...mkEnv(1, { frameBytesMax: 64 * 1024 }), chord: defaultChordLimits };
    const peer = chordEnv(2);
    const [st, [a1]] = withPeers(me, [peer]);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    const entries = (tag: string): Map<WireValue, WireValue> => new Map(Array.from({ length: 1500 }, (_, i) => [`${tag}-${i}`, 'x'.repeat(24)]));
    const first = entries('a');
    expect(events(go(me, st, bytesIn(a1 as ConnId, from(peer, chordDeltaPayload('sha1', 'z', first)))))).toEqual([]);
    const grown = go(me, st, bytesIn(a1 as ConnId, from(peer, chordDeltaPayload('sha1', 'z', entries('b')))));
    expect(events(grown)).toEqual([{ _tag: 'Dropped', conn: a1, why: 'chord delta refused: TooLarge' }]);
    const answer = go(me, st, bytesIn(a1 as ConnId, from(peer, chordRetrievePayload('sha1', 'z'))));
    expect(writes(answer).map((w) => w.payload)).toEqual([[0x0d, 'sha1', 'z', first]]);
    // The user's own delta is refused alike, with a reason.
    go(me, st, { _tag: 'ChordApplyDelta', at: T0, cmd: 2, key: 'm', delta: entries('c') });
    expect(events(go(me, st, { _tag: 'ChordApplyDelta', at: T0, cmd: 3, key: 'm', delta: entries('d') }))).toEqual([
      { _tag: 'ChordFailed', cmd: 3, error: { _tag: 'BadValue', detail: 'the merged map would not fit in one frame' } },
    ]);
  });

  it('after Shutdown every chord command fails with Shutdown', () => {
    const me = chordEnv(1);
    const st = initChord(me, T0);
    go(me, st, { _tag: 'Shutdown', at: T0 });
    expect(events(go(me, st, { _tag: 'ChordGet', at: T0, cmd: 1, key: 'k' }))).toEqual([{ _tag: 'ChordFailed', cmd: 1, error: { _tag: 'Shutdown' } }]);
    expect(nextChordWakeup(st)).toBeUndefined();
  });
});

describe('chord node: whom to keep connected', () => {
  it('takes a peer it is connected to into a full directory, in place of a node it is not linked to', () => {
    const me: ChordEnv = { ...mkEnv(1), chord: { ...defaultChordLimits, directoryMax: 3 } };
    const first = chordEnv(2);
    const [st, [a1]] = withPeers(me, [first]);
    // A peers list of made-up nodes fills the directory (the first peer took one entry).
    const made = [10, 11, 12].map((i) => ({ address: { host: `10.9.9.${i}`, port: 1 }, id: chordEnv(i).config.id }));
    go(me, st, bytesIn(a1 as ConnId, from(first, peersPayload(made))));
    expect(st.directory.size).toBe(3);
    // An honest peer connects: it is in the directory, so the ring can pick it.
    const honest = chordEnv(3);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a9'), remote: honest.config.outAddr });
    go(me, st, bytesIn(ConnId('a9'), handshakeFrom(honest)));
    expect(st.mesh.routing.has(honest.config.id)).toBe(true);
    expect(st.directory.has(honest.config.id)).toBe(true);
    expect(st.directory.has(first.config.id)).toBe(true);
    expect(st.directory.size).toBe(3);
  });

  it('dials the nodes a peers list names once the re-pick is due, and not twice', () => {
    // The mesh's own bootstrap dialling is off (outgoingMax 0): every dial here is chord's.
    const me: ChordEnv = { ...mkEnv(1, { outgoingMax: 0 }), chord: defaultChordLimits };
    const peer = chordEnv(2);
    const [st, [a1]] = withPeers(me, [peer]);
    const listed = [chordEnv(3), chordEnv(4), chordEnv(5)];
    const list = listed.map((e) => [[e.config.outAddr.host, e.config.outAddr.port], e.config.id]);
    go(me, st, bytesIn(a1 as ConnId, from(peer, [7, list])));
    const due = T0 + defaultChordLimits.repickDelayMs;
    expect(nextChordWakeup(st)).toBeLessThanOrEqual(due);
    expect(only(go(me, st, { _tag: 'Tick', at: due - 1 }), 'Dial')).toEqual([]);
    const dials = only(go(me, st, { _tag: 'Tick', at: due }), 'Dial').map((d) => d.address);
    expect(new Set(dials)).toEqual(new Set(listed.map((e) => e.config.outAddr)));
    expect(dials).toHaveLength(3);
    expect(only(go(me, st, { _tag: 'Tick', at: due + 1000 }), 'Dial')).toEqual([]);
  });
});

describe('chord node: refreshing the directory', () => {
  /** A joined node with eight storing peers, and what its refresh tick writes with `refreshPeersMax`. */
  const refresh = (refreshPeersMax: number) => {
    // The mesh's own peers requests (while short of outgoing links) are off: every ask here is chord's.
    const me: ChordEnv = { ...mkEnv(1, { outgoingMax: 0 }), chord: { ...defaultChordLimits, refreshPeersMax } };
    const peers = [2, 3, 4, 5, 6, 7, 8, 9].map(chordEnv);
    const [st, conns] = withPeers(me, peers);
    go(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
    peers.forEach((p, i) => go(me, st, bytesIn(conns[i] as ConnId, from(p, [5, '0']))));
    const at = T0 + defaultChordLimits.refreshMs;
    const request = peersRequestPayload();
    const asked = writes(go(me, st, { _tag: 'Tick', at })).filter((w) => w.payload[0] === request[0] && w.payload.length === request.length);
    const position = (e: ChordEnv) => E.getOrElse(() => -1n)(nodePosition(e.config.id));
    const storing = peers.map((p, i) => ({ id: conns[i] as ConnId, position: position(p) }));
    const sides = [prev(position(me), storing), next(position(me), storing)].flatMap((o) => (o._tag === 'Some' ? [o.value.id] : []));
    return { asked: asked.map((w) => w.conn), sides, conns };
  };

  it('asks both ring neighbours and others at random, at most refreshPeersMax peers in all', () => {
    const { asked, sides } = refresh(4);
    expect(asked).toHaveLength(4);
    expect(new Set(asked).size).toBe(4);
    expect(sides).toHaveLength(2);
    for (const s of sides) expect(asked).toContain(s);
  });

  it('asks every peer when the bound allows, and none when it is 0', () => {
    const all = refresh(100);
    expect(new Set(all.asked)).toEqual(new Set(all.conns));
    expect(refresh(0).asked).toEqual([]);
  });
});

describe('chord node: bytes held for peers', () => {
  const bounded = (chord: Partial<ChordConfig>): ChordEnv => ({ ...mkEnv(1), chord: { ...defaultChordLimits, ...chord } });

  /** What a stored value counts as, and what a remembered key does. */
  const cost = (v: WireValue): number => footprint(v, packValue(v).length);
  const keyCost = (bytes: number): number => bytes + VALUE_OVERHEAD_BYTES;

  it('refuses stores past storeBytesMax (a peer\'s dropped, the user\'s BadValue), and frees bytes on delete and hand-over', () => {
    const big = 'p'.repeat(150);
    const small = 'u'.repeat(20);
    const map = new Map<WireValue, WireValue>([['d', 'x'.repeat(10)]]);
    // Room for the big value and two tables of the small one, not a third, nor the big one twice.
    const max = cost(big) + 2 * cost(small);
    expect(max).toBeLessThan(2 * cost(big));
    const me = bounded({ storeBytesMax: max });
    const { peer, st, conn } = joinedWithPeer(me);
    // The peer leeches, so every key is ours.
    expect(events(go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha1', 'z', big)))))).toEqual([]);
    expect(chordStatus(st).storeBytes).toBe(cost(big));
    expect(events(go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha256', 'z', big)))))).toEqual([
      { _tag: 'Dropped', why: 'chord store refused: StoreFull' },
    ]);
    expect(chordItems(st).map((i) => i.table)).toEqual(['sha1']);
    // The user's set: two tables take the small value, the other three are refused.
    const set = events(go(me, st, { _tag: 'ChordSet', at: T0, cmd: 2, key: 'k', value: small }));
    expect(set.filter((e) => e._tag === 'Dropped')).toHaveLength(3);
    expect(set).toContainEqual({ _tag: 'ChordFailed', cmd: 2, error: { _tag: 'BadValue', detail: 'a local table refused the value (full)' } });
    expect(chordStatus(st).storeBytes).toBe(cost(big) + 2 * cost(small));
    const delta = events(go(me, st, { _tag: 'ChordApplyDelta', at: T0, cmd: 3, key: 'm', delta: map }));
    expect(delta).toEqual([{ _tag: 'ChordFailed', cmd: 3, error: { _tag: 'BadValue', detail: 'a local table refused the value (full)' } }]);
    const peerDelta = go(me, st, bytesIn(conn, from(peer, chordDeltaPayload('sha1', 'y', map))));
    expect(events(peerDelta)).toEqual([{ _tag: 'Dropped', conn, why: 'chord delta refused: StoreFull' }]);
    // A delete frees its bytes, and the refused store now fits.
    go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha1', 'z', null))));
    expect(chordStatus(st).storeBytes).toBe(2 * cost(small));
    expect(events(go(me, st, bytesIn(conn, from(peer, chordStorePayload('sha256', 'z', big)))))).toEqual([]);
    expect(chordStatus(st).storeBytes).toBe(cost(big) + 2 * cost(small));
    // Once the peer stores, leaving hands it everything: once the stores have left, nothing is
    // held, and no byte is counted.
    go(me, st, bytesIn(conn, from(peer, [5, '0'])));
    const unjoined = go(me, st, { _tag: 'ChordUnjoin', at: T0, cmd: 4 });
    expect(only(unjoined, 'AwaitDrain')).toEqual([{ _tag: 'AwaitDrain', conn, token: st.drainTokens }]);
    expect(chordItems(st)).toHaveLength(3);
    go(me, st, { _tag: 'Drained', at: T0, conn, token: st.drainTokens });
    expect(chordItems(st)).toEqual([]);
    expect(chordStatus(st).storeBytes).toBe(0);
  });

  it('remembers notify keys only within notifyKeyBytesMax bytes; a deleted key frees them', () => {
    // Each key counts its bytes and the per-value overhead.
    const max = keyCost(4) + keyCost(4) + keyCost(2);
    const me = bounded({ notifyKeyBytesMax: max });
    const peer = chordEnv(2);
    const [st, [a1]] = withPeers(me, [peer]);
    let at = T0;
    const notify = (key: string | Uint8Array, deleted = false): void => {
      at += 1000; // a fresh broadcast each time, never a duplicate
      go(me, st, bytesIn(a1 as ConnId, frameFrom(peer.config.id, 0, chordNotifyPayload(key, deleted), at), at));
    };
    notify('abcd');
    notify(latin1Bytes('efgh'));
    notify('ijk'); // one byte past the bound: not remembered
    expect(chordKeys(st)).toEqual(['abcd', latin1Bytes('efgh')]);
    expect(chordStatus(st).keyBytes).toBe(2 * keyCost(4));
    notify('ij'); // the bound exactly
    expect(chordStatus(st).keyBytes).toBe(max);
    notify('abcd', true);
    expect(chordStatus(st).keyBytes).toBe(keyCost(4) + keyCost(2));
    notify('ijk');
    expect(chordKeys(st)).toEqual([latin1Bytes('efgh'), 'ij', 'ijk']);
    expect(chordStatus(st).keyBytes).toBe(keyCost(4) + keyCost(2) + keyCost(3));
    // The node's own sets are held to the same bound, a str key counted as its UTF-8 bytes.
    go(me, st, { _tag: 'ChordJoin', at, cmd: 1 });
    go(me, st, { _tag: 'ChordSet', at, cmd: 2, key: 'ijk', value: null });
    expect(chordStatus(st).keyBytes).toBe(keyCost(4) + keyCost(2));
    go(me, st, { _tag: 'ChordSet', at, cmd: 3, key: 'ééé', value: 1 }); // 6 bytes: past the bound by 2
    go(me, st, { _tag: 'ChordSet', at, cmd: 4, key: 'wxyz', value: 1 }); // 4 bytes: the bound exactly
    expect(chordKeys(st)).toEqual([latin1Bytes('efgh'), 'ij', 'wxyz']);
    expect(chordStatus(st).keyBytes).toBe(max);
  });
});
