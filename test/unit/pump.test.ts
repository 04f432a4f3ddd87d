// Two to five cores on the in-memory pump: handshake, discovery, broadcast, whisper, routed reply.
import { describe, expect, it } from 'vitest';
import { advance, createPump, feed, inject, run } from '../../src/core/pump.js';
import { routingTable } from '../../src/core/node.js';
import type { NodeId } from '../../src/core/types.js';
import { addr, mkEnv, T0 } from './mesh-env.js';

const peersOf = (p: ReturnType<typeof createPump>, i: number): string[] =>
  routingTable(p.nodes[i]!.state).map((r) => r.id).sort();
const idOf = (p: ReturnType<typeof createPump>, i: number): NodeId => p.nodes[i]!.env.config.id;

describe('pump', () => {
  it('two nodes handshake and see each other', () => {
    const p = createPump([mkEnv(1), mkEnv(2)], T0);
    inject(p, 0, { _tag: 'Connect', at: T0, cmd: 7, address: addr(2) });
    run(p, 1000);
    expect(peersOf(p, 0)).toEqual([idOf(p, 1)]);
    expect(peersOf(p, 1)).toEqual([idOf(p, 0)]);
    expect(p.nodes[0]!.events).toEqual([
      { _tag: 'Connected', peer: idOf(p, 1) },
      { _tag: 'PeerJoined', peer: idOf(p, 1), conn: 'd1', address: addr(2), outgoing: true },
      { _tag: 'ConnectSucceeded', cmd: 7, peer: idOf(p, 1) },
    ]);
    expect(p.nodes[1]!.events).toEqual([
      { _tag: 'Connected', peer: idOf(p, 0) },
      { _tag: 'PeerJoined', peer: idOf(p, 0), conn: 'a1', address: addr(1), outgoing: false },
    ]);
  });

  it('five nodes meet through one bootstrap node, then a broadcast reaches everyone exactly once', () => {
    const envs = [1, 2, 3, 4, 5].map((i) => mkEnv(i));
    const p = createPump(envs, T0);
    for (let i = 1; i < 5; i++) {
      inject(p, i, { _tag: 'Connect', at: T0, cmd: i, address: addr(1) });
      run(p, 10_000);
    }
    // Each newcomer learned the earlier ones from the bootstrap's peers list and dialled them.
    for (let i = 0; i < 5; i++) expect(peersOf(p, i)).toEqual(envs.filter((_, j) => j !== i).map((e) => e.config.id).sort());
    feed(p, 3, { _tag: 'Send', at: T0, packets: ['hello'], flag: 0, type: 0 });
    run(p, 10_000);
    for (let i = 0; i < 5; i++) {
      const got = p.nodes[i]!.delivered.map((m) => [m.sender, m.packets]);
      expect(got).toEqual(i === 3 ? [] : [[idOf(p, 3), [0, 'hello']]]);
    }
  });

  it('a whisper goes to direct peers only and is not relayed', () => {
    // A line 0 - 1 - 2: the ends are told not to dial from peers lists.
    const q = createPump([mkEnv(1, { outgoingMax: 0 }), mkEnv(2), mkEnv(3, { outgoingMax: 0 })], T0);
    inject(q, 0, { _tag: 'Connect', at: T0, cmd: 1, address: addr(2) });
    inject(q, 2, { _tag: 'Connect', at: T0, cmd: 1, address: addr(2) });
    run(q, 1000);
    expect(peersOf(q, 0)).toEqual([idOf(q, 1)]);
    expect(peersOf(q, 2)).toEqual([idOf(q, 1)]);
    feed(q, 0, { _tag: 'Send', at: T0, packets: ['psst'], flag: 2, type: 2 });
    run(q, 1000);
    expect(q.nodes[1]!.delivered.map((m) => [m.msgType, m.sender, m.packets])).toEqual([[2, idOf(q, 0), [2, 'psst']]]);
    expect(q.nodes[2]!.delivered).toEqual([]);
  });

  it('a reply reaches a node two hops away through request/response', () => {
    // Line 0 - 1 - 2 with no meshing: 2 broadcasts, 0 replies to 2 (not a peer of 0).
    const p = createPump([mkEnv(1, { outgoingMax: 0 }), mkEnv(2), mkEnv(3, { outgoingMax: 0 })], T0);
    inject(p, 0, { _tag: 'Connect', at: T0, cmd: 1, address: addr(2) });
    inject(p, 2, { _tag: 'Connect', at: T0, cmd: 1, address: addr(2) });
    run(p, 1000);
    feed(p, 2, { _tag: 'Send', at: T0, packets: ['ping'], flag: 0, type: 0 });
    run(p, 1000);
    const got = p.nodes[0]!.delivered[0]!;
    expect([got.sender, got.packets]).toEqual([idOf(p, 2), [0, 'ping']]);
    feed(p, 0, { _tag: 'Reply', at: T0, cmd: 42, to: got.sender, packets: ['pong'] });
    run(p, 1000);
    expect(p.nodes[0]!.events.filter((e) => e._tag === 'ReplySent')).toEqual([{ _tag: 'ReplySent', cmd: 42, to: idOf(p, 2), routed: true }]);
    expect(p.nodes[2]!.delivered.map((m) => [m.msgType, m.sender, m.packets])).toEqual([[2, idOf(p, 0), [2, 'pong']]]);
    // Node 0 now holds a direct connection to node 2, made for the reply.
    expect(peersOf(p, 0)).toEqual([idOf(p, 1), idOf(p, 2)].sort());
    expect(advance(p, 0)).toBe(0);
  });
});
