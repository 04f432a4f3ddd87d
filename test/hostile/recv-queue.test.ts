/**
 * The `recv` queue against a peer that sends what is cheap on the wire but dear decoded: messages
 * of tens of thousands of one-byte bins (a few hundred bytes each once compressed, about 12 MiB
 * each decoded). The queue keeps them even with a 'message' listener, so it is bounded by their
 * estimated heap (`recvQueueBytesMax`) as well as by count; and a queued message keeps no part of
 * the frame it came in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/types.js';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import type { Message } from '../../src/shell/api/message.js';
import { RECV_QUEUE_BYTES_MAX, type MeshSocketOptions } from '../../src/shell/api/socket.js';
import { meshNodes, waitUntil, within } from '../shell/helpers.js';

const WAIT_MS = 30_000;
/** One-byte bins per message: within `MSGPACK_VALUES_MAX` with the message's other fields. */
const BINS = 60_000;
/** Messages sent: decoded, they take about 12 MiB each, several times the default bound together. */
const FLOOD = 24;

const { node, closeAll } = meshNodes();
afterEach(async () => {
  await closeAll();
});

const hasPeer = (s: MeshSocket, id: NodeId): boolean => s.routingTable.some((p) => p.id === id);

/** A sender joined to a receiver, both routing each other. */
const pair = async (receiverOptions: MeshSocketOptions = {}): Promise<{ sender: MeshSocket; receiver: MeshSocket }> => {
  const receiver = await node(receiverOptions);
  const sender = await node();
  await within(sender.connect('127.0.0.1', receiver.port), 'connect');
  await waitUntil(receiver, ['peer-joined'], () => hasPeer(receiver, sender.id), 'the receiver to route the sender');
  return { sender, receiver };
};

interface QueueStatus {
  readonly queued: number;
  readonly queuedBytes: number;
  readonly queueDropped: number;
}

describe('recv queue', () => {
  it('holds messages of tiny bins to recvQueueBytesMax by their decoded cost, dropping the oldest', { timeout: 60_000 }, async () => {
    const { sender, receiver } = await pair();
    let heard = 0;
    let worstBytes = 0;
    // A listener does not keep messages out of the queue: recv() still gets them.
    receiver.on('message', () => {
      heard += 1;
      worstBytes = Math.max(worstBytes, (receiver.status as QueueStatus).queuedBytes);
    });
    for (let i = 0; i < FLOOD; i++) sender.send(i, ...Array.from({ length: BINS }, (_, j) => new Uint8Array([(i + j) & 0xff])));
    await waitUntil(receiver, ['message'], () => heard === FLOOD, 'every message', WAIT_MS);
    const status = receiver.status as QueueStatus;
    expect(worstBytes).toBeLessThanOrEqual(RECV_QUEUE_BYTES_MAX);
    expect(status.queued).toBeGreaterThan(0);
    expect(status.queued).toBeLessThan(FLOOD);
    expect(status.queued + status.queueDropped).toBe(FLOOD);
    // The newest are kept, in order.
    const kept = receiver.recv(FLOOD);
    expect(kept.map((m) => m.packets[1])).toEqual(Array.from({ length: status.queued }, (_, k) => FLOOD - status.queued + k));
    expect((receiver.status as QueueStatus).queuedBytes).toBe(0);
  });

  it('keeps one message larger than the bound alone, and drops it for the next', async () => {
    const { sender, receiver } = await pair({ recvQueueBytesMax: 1024 });
    sender.send('big', new Uint8Array(4096));
    await waitUntil(receiver, ['message'], () => (receiver.status as QueueStatus).queued === 1, 'the first message');
    sender.send('small');
    await waitUntil(receiver, ['message'], () => (receiver.status as QueueStatus).queueDropped === 1, 'the first to be dropped');
    expect(receiver.recv(2).map((m) => m.packets[1])).toEqual(['small']);
  });

  it('gives each message a copy of its id: a queued message keeps no frame alive', async () => {
    const { sender, receiver } = await pair();
    sender.send('one', 'x'.repeat(10_000));
    sender.send('two');
    await waitUntil(receiver, ['message'], () => (receiver.status as QueueStatus).queued === 2, 'both messages');
    const got: Message[] = receiver.recv(2);
    expect(got.map((m) => m.packets[1])).toEqual(['one', 'two']);
    for (const m of got) {
      expect(m.id.byteLength).toBe(32);
      expect(m.id.buffer.byteLength).toBe(32);
    }
  });
});
