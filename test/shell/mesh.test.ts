/**
 * The real mesh core on real loopback sockets: joining, broadcast, whisper, reply (direct and
 * routed two hops), TLS, typed connect errors, and bad peers that lose only their own connection.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/types.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import type { MeshSocketOptions } from '../../src/shell/api/socket.js';
import { ConnectionRefused, SelfConnection, Timeout, WrongSubnet } from '../../src/shell/api/errors.js';
import * as E from 'fp-ts/lib/Either.js';
import { InternalMessage } from '../../src/shell/base.js';
import { meshNodes, pollUntil, waitEvent, waitUntil, within } from './helpers.js';

const { node, closeAll } = meshNodes();

afterEach(async () => {
  await closeAll();
});

const hasPeer = (s: MeshSocket, id: NodeId): boolean => s.routingTable.some((p) => p.id === id);
const joinedBoth = async (a: MeshSocket, b: MeshSocket): Promise<void> => {
  await within(a.connect('127.0.0.1', b.port), 'connect');
  await waitUntil(b, ['peer-joined'], () => hasPeer(b, a.id), 'the accepting side to route the dialler');
};

/**
 * Takes `s`'s messages, each wait bounded, until one carrying each of `wanted` has come; returns
 * the packets of every message taken. A flood of copies cannot keep it going: it stops after a few
 * more messages than were wanted.
 */
const takeUntil = async (s: MeshSocket, wanted: ReadonlyArray<string>, what: string): Promise<unknown[][]> => {
  const got: unknown[][] = [];
  const missing = (): string[] => wanted.filter((w) => !got.some((p) => p[1] === w));
  while (missing().length > 0 && got.length < wanted.length + 8) {
    const m = await within(s.next(), `${what} (still missing: ${missing().join(', ')})`);
    if (m === undefined) break;
    got.push([...m.packets]);
  }
  return got;
};

describe('mesh on loopback', () => {
  it('joins, broadcasts, whispers and replies directly', async () => {
    const a = await node();
    const b = await node();
    expect(await within(a.connect('127.0.0.1', b.port), 'connect')).toBe(b.id);
    await waitUntil(b, ['peer-joined'], () => hasPeer(b, a.id), 'b to route a');
    a.send('hello', 42n, new Uint8Array([1, 2]));
    const m = await within(b.next(), 'broadcast');
    expect(m?.sender).toBe(a.id);
    expect(m?.packets.slice(0, 3)).toEqual([0, 'hello', 42]);
    expect([...(m?.packets[3] as Uint8Array)]).toEqual([1, 2]);
    expect(m?.protocol.subnet).toBe('mesh');
    expect(m?.id).toHaveLength(32);
    b.send('psst', { flag: 0x02, type: 0x02 });
    expect((await within(a.next(), 'whisper'))?.packets).toEqual([2, 'psst']);
    expect(await within(m!.reply('answer'), 'reply')).toEqual({ routed: false });
    const r = await within(a.next(), 'reply arrival');
    expect(r?.packets).toEqual([2, 'answer']);
    expect(r?.sender).toBe(b.id);
  });

  it('refuses to send or reply with what msgpack cannot carry', async () => {
    const a = await node();
    const b = await node();
    await joinedBoth(a, b);
    expect(() => a.send(new Map([[{} as never, 1]]) as never)).toThrow(expect.objectContaining({ code: 'BadArgument' }));
    expect(() => a.send('x', [undefined as never])).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/packets\[1\]\[0\] is undefined/) }));
    a.send('fine');
    const m = await within(b.next(), 'the good message');
    expect(m?.packets).toEqual([0, 'fine']);
    await expect(m!.reply(new Map([[{} as never, 1]]) as never)).rejects.toMatchObject({ code: 'ReplyFailed' });
    await expect(m!.reply('x', undefined as never)).rejects.toMatchObject({
      code: 'ReplyFailed',
      why: 'Unencodable',
      message: expect.stringMatching(/Unencodable \(packets\[1\] is undefined \(nil is null\)\)/),
    });
    // What peers would refuse is refused here first: too many values, too deep, too large.
    expect(() => a.send(new Array(70_000).fill(0))).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/more than 65536 values/) }));
    let deep: WireValue = 0;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(() => a.send(deep)).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/nesting deeper than 64/) }));
    await expect(m!.reply(new Array(70_000).fill(0))).rejects.toMatchObject({ code: 'ReplyFailed' });
    a.send('still fine');
    expect((await within(b.next(), 'the message after'))?.packets).toEqual([0, 'still fine']);
  });

  it('fails a reply from a closed socket with ReplyFailed, and one nobody awaits is not thrown', async () => {
    const a = await node();
    const b = await node();
    await joinedBoth(a, b);
    a.send('hello');
    const m = await within(b.next(), 'the message');
    await b.close();
    await expect(m!.reply('late')).rejects.toMatchObject({ code: 'ReplyFailed', message: expect.stringMatching(/SocketClosed/) });
    void m!.reply('unobserved');
  });

  it('refuses send options it does not know, and flags that are not bytes', async () => {
    const a = await node();
    // A trailing plain object is the options: one that is not is refused, not sent as nothing.
    expect(() => a.send('x', { x: 1 } as never)).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/unknown option "x"/) }));
    for (const opts of [{ flag: NaN }, { flag: 300 }, { type: -1 }, { type: 1.5 }]) {
      expect(() => a.send('x', opts), JSON.stringify(opts)).toThrow(expect.objectContaining({ code: 'BadArgument' }));
    }
    a.send('x', { flag: 0x02, type: 0x07 });
  });

  it('refuses to send a message larger than the frame limit', async () => {
    const a = await node({ limits: { frameBytesMax: 4096 } });
    expect(() => a.send(new Uint8Array(5000))).toThrow(expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/frameBytesMax \(4096\)/) }));
    a.send(new Uint8Array(3000));
  });

  it('meshes a third node from the peer list and delivers each broadcast once', async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    await joinedBoth(a, b);
    await joinedBoth(c, b);
    await waitUntil(c, ['peer-joined'], () => hasPeer(c, a.id), 'c to mesh with a');
    await waitUntil(a, ['peer-joined'], () => hasPeer(a, c.id), 'a to route c');
    a.send('one');
    expect((await within(b.next(), 'b'))?.packets).toEqual([0, 'one']);
    expect((await within(c.next(), 'c'))?.packets).toEqual([0, 'one']);
    // Every node relays 'one' (if at all) before these markers leave, and each link keeps its
    // order: once a node holds both others' markers, a second copy of 'one', or a's own 'one'
    // coming back to it, would already be in its queue.
    const nodes = { a, b, c };
    for (const [name, s] of Object.entries(nodes)) s.send(`marker ${name}`);
    const received: Record<string, unknown[][]> = {};
    const expected: Record<string, unknown[][]> = {};
    for (const [name, s] of Object.entries(nodes)) {
      const others = Object.keys(nodes).filter((n) => n !== name).map((n) => `marker ${n}`);
      const got = [...(await takeUntil(s, others, `the markers at ${name}`)), ...s.recv(100).map((m) => [...m.packets])];
      received[name] = got.sort((x, y) => String(x[1]).localeCompare(String(y[1])));
      expected[name] = others.map((o) => [0, o]);
    }
    expect(received).toEqual(expected);
  });

  it('routes a reply to a node two hops away', async () => {
    const noMesh = { limits: { outgoingMax: 0 } };
    const a = await node(noMesh);
    const b = await node(noMesh);
    const c = await node(noMesh);
    await joinedBoth(a, b);
    await joinedBoth(c, b);
    expect(hasPeer(c, a.id)).toBe(false);
    a.send('who is there');
    const atC = await within(c.next(), 'relayed broadcast at c');
    expect(atC?.sender).toBe(a.id);
    expect(await within(atC!.reply('c here'), 'routed reply', 8_000)).toEqual({ routed: true });
    const back = await within(a.next(), 'routed reply at a', 8_000);
    expect(back?.packets).toEqual([2, 'c here']);
    expect(back?.sender).toBe(c.id);
  });

  it('works over TLS with self-signed certificates', async () => {
    const ssl = { protocol: { subnet: 'mesh', encryption: 'SSL' } };
    const a = await node(ssl);
    const b = await node(ssl);
    expect(a.protocol.id).toBe('EkE9cS4dwjZ8uo8H1pxYe7WrJ3wXgaHfozHQUkb99eHm');
    await joinedBoth(a, b);
    b.send('over tls');
    expect((await within(a.next(), 'tls broadcast'))?.packets).toEqual([0, 'over tls']);
  });

  it('rejects connects with typed errors and leaves nothing behind', async () => {
    const a = await node();
    const other = await node({ protocol: { subnet: 'elsewhere', encryption: 'Plaintext' } });
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(within(a.connect('127.0.0.1', deadPort), 'refusal')).rejects.toBeInstanceOf(ConnectionRefused);
    await expect(within(a.connect('127.0.0.1', other.port), 'wrong subnet')).rejects.toBeInstanceOf(WrongSubnet);
    await expect(within(a.connect('127.0.0.1', a.port), 'self')).rejects.toBeInstanceOf(SelfConnection);
    await waitUntil(a, ['connection-rejected', 'peer-left'], () => a.awaitingIds.length === 0, 'no connection left awaiting');
    expect(a.routingTable).toEqual([]);
  });
});

/** A raw loopback client. */
const raw = async (port: number): Promise<net.Socket> => {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await waitEvent(s, 'connect');
  return s;
};

describe('listening', () => {
  it('rejects ready with ListenFailed when the port is taken, and closes cleanly', async () => {
    const a = await node();
    const b = new MeshSocket({ host: '127.0.0.1', port: a.port, debugLevel: 'silent' });
    await expect(within(b.ready, 'the listen failure')).rejects.toMatchObject({ code: 'ListenFailed' });
    await expect(b.connect('127.0.0.1', a.port)).rejects.toMatchObject({ code: 'ListenFailed' });
    await within(b.close(), 'close after a failed listen');
  });
});

describe('options', () => {
  it('refuses bad options with BadArgument before anything starts', () => {
    const bad: MeshSocketOptions[] = [
      { port: -1 },
      { port: 1.5 },
      { port: 70_000 },
      { host: '' },
      { sendQueueBytesMax: 0 },
      { recvQueueBytesMax: 0 },
      { recvQueueBytesMax: -1 },
      { tlsHandshakesMax: 0 },
      { tlsHandshakesMax: 1.5 },
      { tlsHandshakesMax: Number.NaN },
      { compression: new Array<number>(17).fill(0x13) },
      { compression: ['zlib'] as never },
      { limits: { nonsense: 1 } as never },
      { limits: { seenMax: -1 } },
      { protocol: { subnet: 'mesh', encryption: 'ws' } },
    ];
    for (const options of bad) expect(() => new MeshSocket(options), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'BadArgument' }));
  });

  it('listens on its port and advertises a given outward address', async () => {
    const a = await node({ outAddr: { host: '192.0.2.1', port: 1 } });
    expect(a.port).not.toBe(1);
    expect(a.outAddr).toEqual({ host: '192.0.2.1', port: 1 });
    const b = await node();
    await joinedBoth(b, a);
    expect(b.routingTable[0]?.address).toEqual({ host: '192.0.2.1', port: 1 });
  });
});

describe('connect timeouts', () => {
  it('rejects with Timeout when the peer accepts but never handshakes, leaving nothing behind', async () => {
    const a = await node({ limits: { handshakeTimeoutMs: 300 } });
    const mute = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const port = (mute.address() as net.AddressInfo).port;
    try {
      await expect(within(a.connect('127.0.0.1', port), 'the handshake timeout')).rejects.toBeInstanceOf(Timeout);
      expect(a.awaitingIds).toEqual([]);
      expect((a.status as { sockets: number }).sockets).toBe(0);
    } finally {
      mute.close();
    }
  });
});

describe('bad peers lose only their own connection', () => {
  const faults: Array<[string, (s: net.Socket) => void, string]> = [
    ['garbage', (s) => s.write(Buffer.concat([Buffer.from([0, 0, 0, 40]), Buffer.alloc(40, 0xab)])), 'BadFrame'],
    ['an oversized length', (s) => s.write(Buffer.from([0x7f, 0xff, 0xff, 0xff])), 'BadFrame'],
    ['a stalled half frame', (s) => s.write(Buffer.from([0, 0, 0, 100, 1, 2, 3])), 'StalledFrame'],
    ['a disconnect mid-frame', (s) => s.end(Buffer.from([0, 0, 0, 100, 1, 2, 3])), 'PeerClosed'],
  ];
  for (const [what, fault, tag] of faults) {
    it(`drops a peer that sends ${what}`, async () => {
      const warnings: string[] = [];
      const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m) };
      const a = await node({ limits: { frameStallTimeoutMs: 300, frameBytesMax: 1024 * 1024 }, logger, debugLevel: 'warn' });
      const b = await node();
      await joinedBoth(b, a);
      const bad = await raw(a.port);
      // No event announces an accepted connection: poll, so the fault reaches a connection the core holds.
      await pollUntil(() => a.awaitingIds.length === 1, 'the raw client to be accepted');
      const rejected = waitEvent<[{ reason: { _tag: string } }]>(a, 'connection-rejected');
      fault(bad);
      const [{ reason }] = await rejected;
      expect(reason._tag).toBe(tag);
      if (tag !== 'PeerClosed') expect(warnings.join('\n')).toContain(tag);
      expect(a.routingTable.map((p) => p.id)).toEqual([b.id]);
      b.send('still fine');
      expect((await within(a.next(), 'message from the good peer'))?.packets).toEqual([0, 'still fine']);
      bad.destroy();
    });
  }
});

/** §9.3: py2p's handshake (bin ids, sender NODEID, mesh protocol, 127.0.0.1:4444). */
const PY2P_HANDSHAKE =
  '0000007a5a8ee83701ae9363bf27c367d4ecf6a99a104ed3af6c4b8a54a68271ed6198629802c4064e4f44454944ce59682f0005c4064e4f44454944c42c4570416d795a577639725a554b6d6a51675533465455443447724a4876564558697a6d67685642633865474492a93132372e302e302e31cd115c952013111012';

describe('py2p byte vectors', () => {
  it('accepts py2p’s handshake over a raw socket and answers as §10 says', async () => {
    const a = await node();
    const s = await raw(a.port);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    const joined = waitEvent<[{ id: string }]>(a, 'peer-joined');
    s.write(Buffer.from(PY2P_HANDSHAKE, 'hex'));
    expect((await joined)[0].id).toBe('NODEID');
    expect(a.routingTable.map((p) => p.id)).toEqual(['NODEID']);
    expect(a.routingTable[0]?.address).toEqual({ host: '127.0.0.1', port: 4444 });
    await waitUntil(s, ['data'], () => Buffer.concat(chunks).length >= 4 && Buffer.concat(chunks).length >= 4 + Buffer.concat(chunks).readUInt32BE(0), 'our handshake');
    const all = Buffer.concat(chunks);
    const body = all.subarray(4, 4 + all.readUInt32BE(0));
    const msgpack = body.subarray(32);
    const { createHash } = await import('node:crypto');
    expect(Buffer.from(createHash('sha256').update(msgpack).digest()).equals(body.subarray(0, 32))).toBe(true);
    const { unpack } = await import('msgpackr');
    const list = unpack(msgpack) as unknown[];
    // [0x02, id (str), time, 0x05, id (str), protocol id (bin), [host, port], compression]
    expect(list[0]).toBe(2);
    expect(list[1]).toBe(a.id);
    expect(list[3]).toBe(5);
    expect(list[4]).toBe(a.id);
    expect(Buffer.isBuffer(list[5]) || list[5] instanceof Uint8Array).toBe(true);
    expect(Buffer.from(list[5] as Uint8Array).toString()).toBe(a.protocol.id);
    expect(list[6]).toEqual(['127.0.0.1', a.port]);
    expect(list[7]).toEqual(expect.arrayContaining([0x13, 0x11]));

    // Later frames to the py2p peer, decoded with its compression list: '*' goes as bin, our id as str.
    const py2pCompression = [0x20, 0x13, 0x11, 0x10, 0x12];
    const frames = (): Array<ReturnType<typeof InternalMessage.decode>> => {
      const out = [];
      const bytes = Buffer.concat(chunks);
      for (let at = 0; at + 4 <= bytes.length && at + 4 + bytes.readUInt32BE(at) <= bytes.length; at += 4 + bytes.readUInt32BE(at))
        out.push(InternalMessage.decode(bytes.subarray(at, at + 4 + bytes.readUInt32BE(at)), py2pCompression));
      return out;
    };
    const payloads = (): unknown[][] => frames().flatMap((f) => (E.isRight(f) ? [[...f.right.message.packets]] : []));
    a.requestPeers();
    a.send('to py2p');
    await waitUntil(s, ['data'], () => payloads().some((p) => p[0] === 0), 'the broadcast at the py2p peer');
    expect(frames().every(E.isRight)).toBe(true);
    const request = payloads().find((p) => p[0] === 2 && p[3] === 8);
    expect(request?.[1]).toBe(a.id);
    expect(request?.[4]).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(request?.[4] as Uint8Array).toString()).toBe('*');
    expect(payloads().find((p) => p[0] === 0)?.slice(3)).toEqual([0, 'to py2p']);
    s.destroy();
  });
});

describe('back-pressure on the real core', () => {
  it('relays a 9 MiB broadcast with the default 8 MiB send-queue bound, dropping no one', { timeout: 30_000 }, async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    await joinedBoth(a, b);
    await joinedBoth(b, c);
    const slow: unknown[] = [];
    for (const s of [a, b, c]) s.on('slow-peer', (e) => slow.push(e));
    const { randomBytes } = await import('node:crypto');
    // Random bytes: compression cannot shrink the frame below the bound.
    const big = new Uint8Array(randomBytes(9 * 1024 * 1024));
    a.send('big', big);
    const atB = await within(b.next(), 'the broadcast at b', 20_000);
    const atC = await within(c.next(), 'the broadcast relayed to c', 20_000);
    for (const m of [atB, atC]) {
      expect(m?.packets[1]).toBe('big');
      expect(Buffer.from(m?.packets[2] as Uint8Array).equals(big)).toBe(true);
    }
    expect(slow).toEqual([]);
    expect(hasPeer(b, a.id) && hasPeer(b, c.id) && hasPeer(c, b.id)).toBe(true);
  });

  it('reports and drops a peer that stops reading; the core sees it leave as SlowPeer', async () => {
    const a = await node({ sendQueueBytesMax: 1024 * 1024 });
    const b = await node();
    await joinedBoth(b, a);
    const s = await raw(a.port);
    const joined = waitEvent<[{ id: string }]>(a, 'peer-joined');
    s.write(Buffer.from(PY2P_HANDSHAKE, 'hex'));
    expect((await joined)[0].id).toBe('NODEID');
    s.pause();
    const slow = waitEvent<[{ queuedBytes: number }]>(a, 'slow-peer');
    const left = waitUntil(a, ['peer-left'], () => !hasPeer(a, 'NODEID' as NodeId), 'the slow peer to leave');
    const { randomBytes } = await import('node:crypto');
    // Bounded: loopback buffers hold a few MiB, so 1 MiB of backlog builds well before 128 MiB are sent.
    for (let i = 0; i < 2048 && hasPeer(a, 'NODEID' as NodeId); i++) {
      a.send(new Uint8Array(randomBytes(64 * 1024)));
      await new Promise((r) => setImmediate(r));
    }
    expect((await slow)[0].queuedBytes).toBeGreaterThan(1024 * 1024);
    await left;
    expect((a.status as { closedByReason: Record<string, number> }).closedByReason).toMatchObject({ SlowPeer: 1 });
    expect(a.routingTable.map((p) => p.id)).toEqual([b.id]);
    s.destroy();
  });
});
