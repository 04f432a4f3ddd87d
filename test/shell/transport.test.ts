/**
 * The per-peer send-queue bound on real loopback sockets, on the transport alone: a peer is judged
 * by its queue before each write, so one frame larger than the bound goes out whole to a peer that
 * reads, and a peer that does not read is still dropped, its queue never past the bound plus one
 * write.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloseReason, ConnId } from '../../src/core/types.js';
import { ConnId as mkConnId } from '../../src/core/types.js';
import { Transport, type TransportSink } from '../../src/shell/net/transport.js';
import { within } from './helpers.js';

const BOUND = 1024 * 1024;
/** Three times the bound, as a 9 MiB frame is to the default 8 MiB one when frames may reach 16 MiB. */
const BIG = 3 * BOUND;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What the transport reported. */
interface Reports {
  readonly slow: Array<{ conn: ConnId; queuedBytes: number }>;
  readonly closed: Array<{ conn: ConnId; reason: CloseReason }>;
  readonly dialed: Promise<ConnId>;
}

const transportTo = (port: number): { transport: Transport; reports: Reports; conn: ConnId } => {
  const slow: Reports['slow'] = [];
  const closed: Reports['closed'] = [];
  let dialedResolve: (c: ConnId) => void = () => undefined;
  const dialed = new Promise<ConnId>((r) => (dialedResolve = r));
  const sink: TransportSink = {
    accepted: () => undefined,
    dialed: (c) => dialedResolve(c),
    dialFailed: (c, e) => closed.push({ conn: c, reason: { _tag: 'PeerClosed', detail: e._tag } }),
    received: () => undefined,
    closed: (conn, reason) => closed.push({ conn, reason }),
    slowPeer: (conn, queuedBytes) => slow.push({ conn, queuedBytes }),
    log: () => undefined,
  };
  const transport = new Transport({ sendQueueBytesMax: BOUND }, sink);
  cleanups.push(() => transport.shutdown());
  const conn = mkConnId('d1');
  transport.dial(conn, { host: '127.0.0.1', port });
  return { transport, reports: { slow, closed, dialed }, conn };
};

/** A loopback server; resolves with its port and its first accepted socket (as a promise). */
const server = async (): Promise<{ port: number; accepted: Promise<net.Socket> }> => {
  const srv = net.createServer();
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    (await accepted.catch(() => undefined))?.destroy();
    await new Promise((r) => srv.close(r));
  });
  return { port: (srv.address() as net.AddressInfo).port, accepted };
};

describe('send-queue bound', () => {
  it('sends one write larger than the bound to a peer that reads, whole', async () => {
    const { port, accepted } = await server();
    const { transport, reports, conn } = transportTo(port);
    await within(reports.dialed, 'dial');
    const socket = await within(accepted, 'accept');
    let received = 0;
    const all = new Promise<void>((resolve) =>
      socket.on('data', (c: Buffer) => {
        received += c.length;
        if (received >= BIG) resolve();
      }),
    );
    transport.write(conn, new Uint8Array(BIG).fill(7));
    transport.flush();
    await within(all, 'the large write');
    expect(received).toBe(BIG);
    expect(reports.slow).toEqual([]);
    expect(reports.closed).toEqual([]);
    expect(transport.size).toBe(1);
  });

  it('still drops a peer that does not read, its queue never past the bound plus one write', async () => {
    const { port, accepted } = await server();
    const { transport, reports, conn } = transportTo(port);
    await within(reports.dialed, 'dial');
    (await within(accepted, 'accept')).pause();
    // Bounded: loopback buffers hold a few MiB, so the queue passes the bound well before 64 writes.
    for (let i = 0; i < 64 && reports.slow.length === 0; i++) {
      transport.write(conn, new Uint8Array(BIG));
      transport.flush();
      await new Promise((r) => setImmediate(r));
    }
    expect(reports.slow).toHaveLength(1);
    const queuedBytes = reports.slow[0]?.queuedBytes ?? 0;
    expect(queuedBytes).toBeGreaterThan(BOUND);
    expect(queuedBytes).toBeLessThanOrEqual(BOUND + BIG);
    expect(reports.closed).toEqual([{ conn, reason: { _tag: 'SlowPeer', queuedBytes } }]);
    expect(transport.size).toBe(0);
  });
});
