// Self-healing under any order of events: peers lists naming anyone (ourselves, a node of
// another subnet, nodes that come and go), dials that connect, fail or reach the wrong node,
// connections that drop, and the clock jumping. After every step: the outgoing count stays
// within outgoingMax (no user Connect here, so every dial is the core's own), the book within
// knownAddressesMax, our own address is never dialled, an address banned for another subnet or
// for being ourselves is never dialled again, and no address is redialled sooner than
// redialBaseMs / 2 after it failed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initNode, nodeStatus, step, type Env, type NodeState } from '../../src/core/node.js';
import { ConnId, type Address, type Effect, type Input } from '../../src/core/types.js';
import { peersPayload } from '../../src/core/wire/messages.js';
import { frameFrom, handshakeFrom, mkEnv, T0 } from '../unit/mesh-env.js';
import { propRuns } from './runs.js';

const me = mkEnv(1, { outgoingMax: 2, connectionsMax: 5, knownAddressesMax: 6 });
const pool = [2, 3, 4, 5, 6, 7, 8].map((i) => mkEnv(i));
const foreign = mkEnv(9, { protocol: { subnet: 'other', encryption: 'Plaintext', id: 'zzz' } });
/** Who answers at an address: a pool node, the foreign node, or (at 10.0.0.10) a node with our id. */
const impostorAddr: Address = { host: '10.0.0.10', port: 4444 };
const listable = [...pool, foreign].map((e) => ({ address: e.config.outAddr, id: e.config.id as string }));
listable.push({ address: me.config.outAddr, id: pool[0]!.config.id }, { address: impostorAddr, id: pool[1]!.config.id });
const key = (a: Address): string => `${a.port}@${a.host}`;
const byAddress = new Map<string, Env>([...pool, foreign].map((e) => [key(e.config.outAddr), e]));

type Action =
  | { readonly _tag: 'List'; readonly picks: ReadonlyArray<number> }
  | { readonly _tag: 'Connected'; readonly pick: number }
  | { readonly _tag: 'Failed'; readonly pick: number }
  | { readonly _tag: 'Dropped'; readonly pick: number }
  | { readonly _tag: 'Tick' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.array(fc.nat({ max: listable.length - 1 }), { maxLength: 6 }).map((picks): Action => ({ _tag: 'List', picks })),
  fc.nat().map((pick): Action => ({ _tag: 'Connected', pick })),
  fc.nat().map((pick): Action => ({ _tag: 'Failed', pick })),
  fc.nat().map((pick): Action => ({ _tag: 'Dropped', pick })),
  fc.constant<Action>({ _tag: 'Tick' }),
);
const dtMs = fc.oneof({ arbitrary: fc.nat({ max: 2000 }), weight: 6 }, { arbitrary: fc.nat({ max: 120_000 }), weight: 1 });
const script = fc.array(fc.tuple(dtMs, action), { maxLength: 60 });

const nth = <A>(xs: ReadonlyArray<A>, i: number): A | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

/** The inputs an action stands for, given the node's current connections. */
const inputsOf = (st: NodeState, a: Action, at: number): Input[] => {
  const mine = [...st.conns.values()].filter((c) => c.outgoing);
  switch (a._tag) {
    case 'List': {
      const entries = a.picks.map((i) => listable[i]!);
      return [{ _tag: 'BytesReceived', at, conn: ConnId('a1'), bytes: frameFrom(pool[6]!.config.id, 2, peersPayload(entries as never), at) }];
    }
    case 'Connected': {
      const c = nth(mine.filter((x) => x.phase === 'dialing'), a.pick);
      if (c === undefined || c.remote === undefined) return [];
      const who = key(c.remote) === key(impostorAddr) ? me : byAddress.get(key(c.remote));
      if (who === undefined) return [{ _tag: 'DialFailed', at, conn: c.conn, error: { _tag: 'ConnectionRefused', detail: 'nobody' } }];
      return [
        { _tag: 'DialSucceeded', at, conn: c.conn },
        { _tag: 'BytesReceived', at, conn: c.conn, bytes: handshakeFrom(who, [], who.config.protocol.id, at) },
      ];
    }
    case 'Failed': {
      const c = nth(mine.filter((x) => x.phase === 'dialing'), a.pick);
      return c === undefined ? [] : [{ _tag: 'DialFailed', at, conn: c.conn, error: { _tag: 'Timeout', afterMs: 1 } }];
    }
    case 'Dropped': {
      const c = nth(mine, a.pick);
      return c === undefined ? [] : [{ _tag: 'ConnectionClosed', at, conn: c.conn, reason: { _tag: 'PeerClosed' } }];
    }
    case 'Tick':
      return [{ _tag: 'Tick', at }];
  }
};

/** What an outcome says about an address: failed at `at`, banned, or nothing. */
const judge = (st: NodeState, input: Input, effects: ReadonlyArray<Effect>, failedAt: Map<string, number>, banned: Set<string>): void => {
  const c = 'conn' in input ? st.conns.get(input.conn) : undefined;
  for (const e of effects) {
    if (e._tag !== 'Close' || c === undefined || c.conn !== e.conn || c.remote === undefined) continue;
    if (e.reason._tag === 'WrongSubnet' || e.reason._tag === 'SelfConnection') banned.add(key(c.remote));
  }
  if (c === undefined || !c.outgoing || c.remote === undefined) return;
  if (input._tag === 'DialFailed' || input._tag === 'ConnectionClosed') failedAt.set(key(c.remote), input.at);
};

describe('self-healing', () => {
  it('keeps its bounds, never dials itself or a banned address, and honours the back-off', () => {
    fc.assert(
      fc.property(script, (steps) => {
        const st = initNode(me, T0);
        const hub = pool[6]!;
        step(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a1'), remote: hub.config.outAddr });
        step(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: handshakeFrom(hub) });
        const failedAt = new Map<string, number>();
        const banned = new Set<string>();
        let at = T0;
        for (const [dt, a] of steps) {
          at += dt;
          for (const input of inputsOf(st, a, at)) {
            const before = 'conn' in input ? st.conns.get(input.conn) : undefined;
            const [, effects] = step(me, st, input);
            // Judge with the connection as it was (a close removes it from the state).
            if (before !== undefined) judge({ ...st, conns: new Map([[before.conn, before]]) }, input, effects, failedAt, banned);
            for (const e of effects) {
              if (e._tag !== 'Dial') continue;
              const k = key(e.address);
              expect(k).not.toBe(key(me.config.outAddr));
              expect(banned.has(k), `dialled banned ${k}`).toBe(false);
              const f = failedAt.get(k);
              if (f !== undefined) expect(input.at - f, `redialled ${k} too soon`).toBeGreaterThanOrEqual(me.config.redialBaseMs / 2);
            }
            const s = nodeStatus(st);
            expect(s.outgoing).toBeLessThanOrEqual(me.config.outgoingMax);
            expect(s.connections).toBeLessThanOrEqual(me.config.connectionsMax);
            expect(s.known).toBeLessThanOrEqual(me.config.knownAddressesMax);
          }
        }
      }),
      { numRuns: propRuns(400) },
    );
  });
});
