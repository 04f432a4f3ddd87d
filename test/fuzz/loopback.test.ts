// Fuzzing a real node on 127.0.0.1: each case opens up to four raw connections, one after the
// other, each optionally handshaking, and writes a burst of hostile frames across them (random,
// valid, mutated, wrong-shaped, monstrous, bombs). After every core step the node's connections,
// and its inbound connections waiting for a handshake, are within its bounds, which are small
// enough for a case to meet them; after each case the node has not logged a failed core step, and
// an honest peer's broadcasts still cross in both directions. `TS2P_FUZZ_LOOPBACK_RUNS` sets the
// number of cases.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundAwaiting, type NodeState } from '../../src/core/node.js';
import type { CloseReason, NodeId } from '../../src/core/types.js';
import { describeDecodeError } from '../../src/core/wire/errors.js';
import { readLength } from '../../src/core/wire/framing.js';
import { MSGPACK_DEPTH_MAX } from '../../src/core/wire/msgpack.js';
import { MESH_COMPRESSION_DEFAULT, MeshSocket, meshDeps } from '../../src/shell/api/mesh.js';
import { GenericMeshSocket } from '../../src/shell/api/socket.js';
import { aroundStep, pollUntil, rawConnection, waitUntil, within } from '../shell/helpers.js';
import { handshakeFrom, mkEnv } from '../unit/mesh-env.js';
import { deepFrame, hostileFrame, mutate, type Build, type Mutation } from './corpus.js';

const FRAME_MAX = 64 * 1024;
const RUNS = Number(process.env.TS2P_FUZZ_LOOPBACK_RUNS ?? 200);
// With the honest peer holding one connection, three attackers that handshake fill
// `connectionsMax`, and two that do not fill `awaitingMax` before the connections are full.
const LIMITS = { connectionsMax: 4, awaitingMax: 2 };
const ATTACKERS_MAX = 4;
const logged: string[] = [];
let victim: GenericMeshSocket<NodeState>;
let honest: MeshSocket;
let written = 0;
/** The most connections, and inbound connections waiting for a handshake, after any step of a case. */
let worst = { connections: 0, awaiting: 0 };
/** The same over every case. */
const reached = { connections: 0, awaiting: 0 };

/** The mesh node, with every state its core steps to measured against the bounds. */
const measuredDeps = aroundStep(meshDeps, (step, state, input) => {
  const out = step(state, input);
  worst.connections = Math.max(worst.connections, out[0].conns.size);
  // `awaitingMax` refuses inbound connections; a dial of the node's own that waits for the
  // peer's handshake is bounded by `connectionsMax` alone.
  worst.awaiting = Math.max(worst.awaiting, inboundAwaiting(out[0]));
  return out;
});

beforeAll(async () => {
  victim = new GenericMeshSocket(measuredDeps, {
    compression: MESH_COMPRESSION_DEFAULT,
    host: '127.0.0.1',
    debugLevel: 'warn',
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => logged.push(m) },
    limits: { frameBytesMax: FRAME_MAX, handshakeTimeoutMs: 500, frameStallTimeoutMs: 500, ...LIMITS },
  });
  honest = new MeshSocket({ host: '127.0.0.1', debugLevel: 'silent' });
  await within(Promise.all([victim.ready, honest.ready]), 'listen');
  await within(honest.connect('127.0.0.1', victim.port), 'the honest peer joins');
});

afterAll(async () => {
  console.info(`fuzz loopback: ${RUNS} cases, ${written} hostile frames written, ${logged.length} warnings logged, at most ${reached.connections} connections and ${reached.awaiting} awaiting`);
  await Promise.all([victim.close(), honest.close()]);
});

const got = (s: GenericMeshSocket<NodeState>, tag: string): Promise<void> =>
  waitUntil(s, ['message'], () => s.recv(1024).some((m) => m.packets[1] === tag), `message ${tag}`, 10_000);

const frame: fc.Arbitrary<{ build: Build; mutation: Mutation }> = hostileFrame(mkEnv(2), FRAME_MAX);
const attack = fc.tuple(fc.array(fc.boolean(), { minLength: 1, maxLength: ATTACKERS_MAX }), fc.array(frame, { minLength: 1, maxLength: 8 }));

// Cases run first whatever the draws: four attackers that handshake meet `connectionsMax`, and
// three that do not meet `awaitingMax`.
const junk = { build: (): Uint8Array => new Uint8Array([0, 0, 0, 1, 0]), mutation: { _tag: 'Keep' } as const };
const examples: Array<[boolean[], Array<{ build: Build; mutation: Mutation }>]> = [
  [[true, true, true, true], [junk]],
  [[false, false, false], [junk]],
];

/** A raw connection that has handshaken as attacker number `i` and been routed (or refused). */
const handshaken = async (i: number): Promise<{ s: net.Socket; closed: () => boolean; id: NodeId }> => {
  const c = await rawConnection(victim.port);
  const attacker = mkEnv(i, { outAddr: { host: '127.0.0.1', port: 1 } });
  c.s.write(handshakeFrom(attacker, [], victim.protocol.id, Date.now()));
  const id: NodeId = attacker.config.id;
  await pollUntil(() => c.closed() || victim.routingTable.some((p) => p.id === id), 'the attacker to be routed');
  return { ...c, id };
};

describe('fuzz: a loopback node under hostile connections', () => {
  // The corpus's deep monster must get past the length header to test the decoder's depth bound.
  it('refuses the deep monster for its nesting, not for its size', async () => {
    const deep = deepFrame(FRAME_MAX);
    expect(readLength(deep, 0)).toBeLessThanOrEqual(FRAME_MAX);
    const c = await handshaken(999);
    const left = new Promise<CloseReason>((resolve) => {
      const on = (p: { id: NodeId; reason: CloseReason }): void => {
        if (p.id !== c.id) return;
        victim.off('peer-left', on);
        resolve(p.reason);
      };
      victim.on('peer-left', on);
    });
    c.s.write(deep);
    const reason = await within(left, 'the victim to close the deep frame\'s connection');
    c.s.destroy();
    expect(reason).toEqual({ _tag: 'BadFrame', detail: describeDecodeError({ _tag: 'TooDeep', depthMax: MSGPACK_DEPTH_MAX }) });
  });

  it('stays up, bounded, and keeps its honest peer', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(attack, async ([handshakes, frames]) => {
        n++;
        worst = { connections: 0, awaiting: 0 };
        const now = Date.now();
        const conns: Array<{ s: net.Socket; closed: () => boolean }> = [];
        // Each connection is settled (accepted and waiting, handshaken, or refused) before the
        // next opens, so which bound turns a connection away follows from the draws.
        for (const [i, handshake] of handshakes.entries()) {
          if (handshake) {
            conns.push(await handshaken(1000 + ATTACKERS_MAX * n + i));
            continue;
          }
          const c = await rawConnection(victim.port);
          conns.push(c);
          const port = c.s.localPort;
          await pollUntil(() => c.closed() || victim.awaitingIds.some((a) => !a.outgoing && a.remote?.port === port), 'the victim to take the connection');
        }
        frames.forEach(({ build, mutation }, i) => conns[i % conns.length]!.s.write(mutate(build(now), mutation)));
        written += frames.length;
        for (const c of conns) c.s.end();
        const probe = `probe-${n}`;
        honest.send(probe);
        await got(victim, probe);
        victim.send(`back-${n}`);
        await got(honest, `back-${n}`);
        for (const c of conns) c.s.destroy();
        reached.connections = Math.max(reached.connections, worst.connections);
        reached.awaiting = Math.max(reached.awaiting, worst.awaiting);
        expect(worst.connections).toBeLessThanOrEqual(LIMITS.connectionsMax);
        expect(worst.awaiting).toBeLessThanOrEqual(LIMITS.awaitingMax);
        expect(victim.routingTable.some((p) => p.id === honest.id)).toBe(true);
        expect(logged.filter((l) => l.includes('core step failed') || l.includes('threw'))).toEqual([]);
      }),
      { numRuns: Math.max(RUNS, examples.length), examples: examples.map((e) => [e]) },
    );
    // Both bounds were met, so the checks above could have caught either one giving way.
    expect(reached).toEqual({ connections: LIMITS.connectionsMax, awaiting: LIMITS.awaitingMax });
  }, 600_000);
});
