/**
 * TLS handshakes in progress on a real loopback node: the core sees a connection only once TLS is
 * up, so the transport bounds the handshakes itself (`tlsHandshakesMax`). Raw TCP connections that
 * never speak TLS fill the slots; one accepted beyond them is closed at once and counted, the
 * stalled ones stay open, a closed one frees its slot, a completed handshake frees its slot, and an
 * honest TLS peer still joins. A handshake that outlives its timeout is closed and frees its slot.
 * Every wait is bounded.
 */
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import type { MeshSocketOptions } from '../../src/shell/api/socket.js';
import { makeSelfSigned } from '../../src/shell/api/tls.js';
import { Transport, type TransportSink } from '../../src/shell/net/transport.js';
import { pollUntil, rawConnection, waitUntil, within } from '../shell/helpers.js';

const open: MeshSocket[] = [];
const sockets: net.Socket[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of cleanups.splice(0)) await c();
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const BOUND = 3;

/** A TLS node (self-signed, peers unverified) and its warn lines. */
const tlsNode = async (options: MeshSocketOptions = {}): Promise<{ s: MeshSocket; warned: string[] }> => {
  const warned: string[] = [];
  const s = new MeshSocket({
    host: '127.0.0.1',
    protocol: { subnet: 'mesh', encryption: 'SSL' },
    debugLevel: 'warn',
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => warned.push(m) },
    ...options,
  });
  open.push(s);
  await within(s.ready, 'listen', 10_000);
  return { s, warned };
};

const tlsStatus = (s: MeshSocket): { tlsHandshakes: number; tlsHandshakesRefused: number } =>
  s.status as { tlsHandshakes: number; tlsHandshakesRefused: number };

/** A raw TCP connection that never speaks TLS, closed after the test. */
const stalled = async (port: number): Promise<{ readonly s: net.Socket; readonly closed: () => boolean }> => {
  const c = await rawConnection(port);
  sockets.push(c.s);
  return c;
};

describe('TLS handshakes in progress', () => {
  it('closes a connection beyond tlsHandshakesMax at once, keeps the others, and frees slots as handshakes end', async () => {
    const { s: victim, warned } = await tlsNode({ tlsHandshakesMax: BOUND });
    const first = [await stalled(victim.port), await stalled(victim.port), await stalled(victim.port)];
    await pollUntil(() => tlsStatus(victim).tlsHandshakes === BOUND, 'three handshakes in progress');

    const fourth = await stalled(victim.port);
    await pollUntil(fourth.closed, 'the fourth connection to be closed', 2_000);
    expect(first.map((c) => c.closed())).toEqual([false, false, false]);
    expect(tlsStatus(victim)).toMatchObject({ tlsHandshakes: BOUND, tlsHandshakesRefused: 1 });
    expect(warned.filter((m) => m.includes('tlsHandshakesMax'))).toHaveLength(1);
    // The core never saw it: TLS was not up.
    expect(victim.awaitingIds).toEqual([]);

    // A stalled connection that leaves frees its slot for the next one.
    first[0]!.s.destroy();
    await pollUntil(() => tlsStatus(victim).tlsHandshakes === BOUND - 1, 'the slot to be freed');
    const fifth = await stalled(victim.port);
    await pollUntil(() => tlsStatus(victim).tlsHandshakes === BOUND, 'the fifth connection to be admitted');
    expect(fifth.closed()).toBe(false);
    expect(tlsStatus(victim).tlsHandshakesRefused).toBe(1);

    // Once the stalled ones are gone an honest TLS peer joins, and its finished handshake frees its slot.
    for (const c of [...first, fifth]) c.s.destroy();
    await pollUntil(() => tlsStatus(victim).tlsHandshakes === 0, 'every slot to be freed');
    const { s: honest } = await tlsNode();
    expect(await within(honest.connect('127.0.0.1', victim.port), 'honest TLS connect', 8_000)).toBe(victim.id);
    expect(tlsStatus(victim)).toMatchObject({ tlsHandshakes: 0, tlsHandshakesRefused: 1 });
  }, 30_000);

  it('lets an honest TLS peer in below the bound while stalled handshakes hold slots', async () => {
    const { s: victim } = await tlsNode({ tlsHandshakesMax: BOUND });
    const held = [await stalled(victim.port), await stalled(victim.port)];
    await pollUntil(() => tlsStatus(victim).tlsHandshakes === 2, 'two handshakes in progress');
    const { s: honest } = await tlsNode();
    expect(await within(honest.connect('127.0.0.1', victim.port), 'honest TLS connect', 8_000)).toBe(victim.id);
    await waitUntil(victim, ['peer-joined'], () => victim.routingTable.length === 1, 'the victim to route the honest peer');
    expect(victim.routingTable.map((p) => p.id)).toEqual([honest.id]);
    // The honest handshake's slot was freed when TLS came up; the stalled ones still hold theirs.
    expect(tlsStatus(victim)).toMatchObject({ tlsHandshakes: 2, tlsHandshakesRefused: 0 });
    expect(held.map((c) => c.closed())).toEqual([false, false]);
  }, 30_000);

  it('closes a handshake that outlives its timeout and frees its slot', async () => {
    const logged: string[] = [];
    const sink: TransportSink = {
      accepted: () => undefined,
      dialed: () => undefined,
      dialFailed: () => undefined,
      received: () => undefined,
      closed: () => undefined,
      slowPeer: () => undefined,
      log: (_level, m) => logged.push(m),
    };
    const transport = new Transport({ sendQueueBytesMax: 1 << 20, tlsHandshakesMax: 1, tlsHandshakeTimeoutMs: 200 }, sink);
    cleanups.push(() => transport.shutdown());
    transport.setTls({ ...(await makeSelfSigned()), verify: false });
    const { port } = await transport.listen('127.0.0.1', 0);

    const late = await stalled(port);
    await pollUntil(() => transport.tlsHandshakes === 1, 'the handshake to start');
    await pollUntil(late.closed, 'the late handshake to be closed', 3_000);
    await pollUntil(() => transport.tlsHandshakes === 0, 'its slot to be freed');
    expect(logged.some((m) => /timeout/i.test(m))).toBe(true);
    const next = await stalled(port);
    await pollUntil(() => transport.tlsHandshakes === 1, 'the next connection to be admitted');
    expect(next.closed()).toBe(false);
    expect(transport.tlsHandshakesRefused).toBe(0);
  }, 20_000);
});
