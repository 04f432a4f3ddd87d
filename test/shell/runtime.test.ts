/**
 * The shell on its own, on loopback, driving a stand-in core: effects executed, inputs fed back,
 * one timer, typed connect errors, the user queue and handlers, and the send-queue bound.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Effect, Input } from '../../src/core/types.js';
import { defaultLimits, type NodeConfig } from '../../src/core/config.js';
import { ConnId, NodeId } from '../../src/core/types.js';
import { GenericMeshSocket, type MeshDeps, type MeshSocketOptions } from '../../src/shell/api/socket.js';
import { ConnectionRefused, Ts2pError } from '../../src/shell/api/errors.js';
import { Runtime } from '../../src/shell/net/runtime.js';
import { standinCore, standinDeps, type StandinState } from './standin-core.js';
import { aroundStep, waitEvent, waitUntil, within } from './helpers.js';

const open: Array<GenericMeshSocket<StandinState>> = [];
const node = async (options: MeshSocketOptions = {}, deps: MeshDeps<StandinState> = standinDeps): Promise<GenericMeshSocket<StandinState>> => {
  const s = new GenericMeshSocket(deps, { host: '127.0.0.1', debugLevel: 'silent', ...options });
  open.push(s);
  await within(s.ready, 'listen');
  return s;
};

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const frameOf = (v: unknown): Buffer => {
  const body = Buffer.from(JSON.stringify(v));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};

describe('shell on a stand-in core', () => {
  it('connects, resolves with the peer id, and moves messages both ways', async () => {
    const a = await node();
    const b = await node();
    const joined = waitEvent(b, 'peer-joined');
    const peer = await within(a.connect('127.0.0.1', b.port), 'connect');
    expect(peer).toBe(b.id);
    await joined;
    expect(a.outgoing).toEqual([b.id]);
    expect(b.incoming).toEqual([a.id]);
    a.send('hello', 7, { type: 0 });
    const got = await within(b.next(), 'message');
    expect(got?.sender).toBe(a.id);
    expect(got?.packets).toEqual(['hello', 7]);
    b.send('back');
    const back = await within(a.next(), 'reply');
    expect(back?.packets).toEqual(['back']);
  });

  it('lets the first handler that claims a message keep it from the queue', async () => {
    const a = await node();
    const b = await node();
    await within(a.connect('127.0.0.1', b.port), 'connect');
    const seen: string[] = [];
    b.registerHandler((m) => {
      seen.push(`first:${String(m.packets[0])}`);
      return m.packets[0] === 'mine';
    });
    b.registerHandler((m) => {
      seen.push(`second:${String(m.packets[0])}`);
      return false;
    });
    a.send('mine');
    a.send('yours');
    const m = await within(b.next(), 'unclaimed message');
    expect(m?.packets).toEqual(['yours']);
    expect(seen).toEqual(['first:mine', 'first:yours', 'second:yours']);
    expect(b.recv()).toBeUndefined();
  });

  it('counts and logs a handler that throws; it claims nothing, and the next handler and the queue get the message', async () => {
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m) };
    const a = await node();
    const b = await node({ logger, debugLevel: 'warn' });
    await within(a.connect('127.0.0.1', b.port), 'connect');
    const seen: string[] = [];
    b.registerHandler(() => {
      throw new Error('handler bug');
    });
    b.registerHandler((m) => {
      seen.push(String(m.packets[0]));
      return false;
    });
    a.send('one');
    expect((await within(b.next(), 'unclaimed message'))?.packets).toEqual(['one']);
    expect(seen).toEqual(['one']);
    expect(b.status).toMatchObject({ handlerErrors: 1 });
    expect(warnings.filter((w) => w.includes('a handler threw: handler bug'))).toHaveLength(1);
  });

  it('iterates messages with for await, ending on close', async () => {
    const a = await node();
    const b = await node();
    await within(a.connect('127.0.0.1', b.port), 'connect');
    for (let i = 0; i < 3; i++) a.send(i);
    const got: unknown[] = [];
    for await (const m of b) {
      got.push(m.packets[0]);
      if (got.length === 3) break;
    }
    expect(got).toEqual([0, 1, 2]);
  });

  it('rejects a refused connect with a typed error and leaves nothing behind', async () => {
    const a = await node();
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await within(a.connect('127.0.0.1', port).then(() => undefined, (e: unknown) => e), 'refusal');
    expect(err).toBeInstanceOf(ConnectionRefused);
    expect((err as Ts2pError).code).toBe('ConnectionRefused');
    expect(a.awaitingIds).toEqual([]);
    expect(a.routingTable).toEqual([]);
    expect((a.status as { sockets: number }).sockets).toBe(0);
  });

  it('reports a peer that leaves mid-frame, and keeps serving the others', async () => {
    const a = await node();
    const b = await node();
    await within(a.connect('127.0.0.1', b.port), 'connect');
    const raw = net.connect(a.port, '127.0.0.1');
    await waitEvent(raw, 'connect');
    const joined = waitEvent(a, 'peer-joined');
    raw.write(frameOf({ hello: 'raw' }));
    await joined;
    const left = waitEvent<[{ id: string; reason: { _tag: string } }]>(a, 'peer-left');
    raw.end(Buffer.from([0, 0, 0, 50, 1, 2, 3]));
    const [info] = await left;
    expect(info.id).toBe('raw');
    expect(info.reason._tag).toBe('PeerClosed');
    b.send('still here');
    expect((await within(a.next(), 'message after the fault'))?.packets).toEqual(['still here']);
  });

  it('delivers every frame of a burst written in one task, whole and in order', async () => {
    const a = await node();
    const b = await node();
    await within(a.connect('127.0.0.1', b.port), 'connect');
    const got: unknown[] = [];
    b.on('message', (m) => got.push(m.packets[0]));
    // One synchronous loop: every frame joins the same batch; sizes vary so frame edges move.
    const sent = Array.from({ length: 2000 }, (_, i) => `${i}:${'y'.repeat(i % 97)}`);
    for (const text of sent) a.send(text);
    await waitUntil(b, ['message'], () => got.length >= sent.length, 'the whole burst');
    expect(got).toEqual(sent);
  });

  it('drops a peer that stops reading once its queue passes the bound', async () => {
    const a = await node({ sendQueueBytesMax: 256 * 1024 });
    const raw = net.connect(a.port, '127.0.0.1');
    await waitEvent(raw, 'connect');
    const joined = waitEvent(a, 'peer-joined');
    raw.write(frameOf({ hello: 'sleepy' }));
    await joined;
    raw.pause();
    const slow = waitEvent<[{ queuedBytes: number }]>(a, 'slow-peer');
    const left = waitEvent<[{ reason: { _tag: string } }]>(a, 'peer-left');
    const chunk = 'x'.repeat(1024 * 1024);
    // Bounded: loopback buffers hold a few MiB at most, so the bound is passed well before this ends.
    for (let i = 0; i < 200 && a.routingTable.length > 0; i++) {
      a.send(chunk);
      await new Promise((r) => setImmediate(r));
    }
    const [{ queuedBytes }] = await slow;
    expect(queuedBytes).toBeGreaterThan(256 * 1024);
    expect((await left)[0].reason._tag).toBe('SlowPeer');
    expect(a.routingTable).toEqual([]);
    raw.destroy();
  });
});

describe('runtime', () => {
  it('arms one timer for the next wake-up and delivers a Tick then', async () => {
    const config = { id: NodeId('t'), ...defaultLimits } as unknown as NodeConfig;
    const inner = standinCore(config);
    const seen: Input[] = [];
    const ticked = new Promise<void>((resolve) => {
      const rt = new Runtime<StandinState>({ sendQueueBytesMax: 1024 }, { deliver: () => undefined, event: () => undefined, slowPeer: () => undefined, log: () => undefined });
      rt.start({
        init: (at) => ({ ...inner.init(at), wakeAt: at + 30 }),
        step: (s, i) => {
          seen.push(i);
          if (i._tag === 'Tick') resolve();
          return inner.step(s, i);
        },
        nextWakeup: inner.nextWakeup,
      });
    });
    await within(ticked, 'tick');
    expect(seen.map((i) => i._tag)).toEqual(['Tick']);
  });

  it('steps inputs given before start in order, once started', () => {
    const config = { id: NodeId('t'), ...defaultLimits } as unknown as NodeConfig;
    const inner = standinCore(config);
    const seen: string[] = [];
    const rt = new Runtime<StandinState>({ sendQueueBytesMax: 1024 }, { deliver: () => undefined, event: () => undefined, slowPeer: () => undefined, log: () => undefined });
    rt.input({ _tag: 'RequestPeers', at: 1 });
    rt.input({ _tag: 'Tick', at: 2 });
    rt.input({ _tag: 'Shutdown', at: 3 });
    expect(seen).toEqual([]);
    rt.start({
      init: inner.init,
      step: (s, i) => {
        seen.push(i._tag);
        return inner.step(s, i);
      },
      nextWakeup: inner.nextWakeup,
    });
    expect(seen).toEqual(['RequestPeers', 'Tick', 'Shutdown']);
  });

  it('hands frames written in the same step as a close to the socket before ending it', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const received = new Promise<string>((resolve) =>
      server.once('connection', (socket) => {
        const parts: Buffer[] = [];
        socket.on('data', (c: Buffer) => parts.push(c));
        socket.on('end', () => resolve(Buffer.concat(parts).toString()));
      }),
    );
    const conn = ConnId('c1');
    const texts = Array.from({ length: 50 }, (_, i) => `frame ${i};`);
    const rt = new Runtime<number>({ sendQueueBytesMax: 1 << 20 }, { deliver: () => undefined, event: () => undefined, slowPeer: () => undefined, log: () => undefined });
    rt.start({
      init: () => 0,
      step: (s, i): readonly [number, ReadonlyArray<Effect>] => {
        if (i._tag === 'RequestPeers') return [s, [{ _tag: 'Dial', conn, address: { host: '127.0.0.1', port } }]];
        if (i._tag !== 'DialSucceeded') return [s, []];
        const writes: Effect[] = texts.map((t) => ({ _tag: 'Write', conn, bytes: new TextEncoder().encode(t) }));
        return [s, [...writes, { _tag: 'Close', conn, reason: { _tag: 'UserDisconnect' } }]];
      },
      nextWakeup: () => undefined,
    });
    rt.input({ _tag: 'RequestPeers', at: 0 });
    try {
      expect(await within(received, 'the frames and the end of the stream')).toBe(texts.join(''));
    } finally {
      await rt.shutdown();
      await new Promise((r) => server.close(r));
    }
  });

  it('answers AwaitDrain once what was written has left, one Drained for asks made meanwhile, none after a close', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    server.on('connection', (socket) => socket.resume());
    const conn = ConnId('c1');
    const drained: number[] = [];
    const big = new Uint8Array(4 * 1024 * 1024);
    let done: () => void = () => undefined;
    const second = new Promise<void>((r) => (done = r));
    const rt = new Runtime<number>({ sendQueueBytesMax: 64 << 20 }, { deliver: () => undefined, event: () => undefined, slowPeer: () => undefined, log: () => undefined });
    rt.start({
      init: () => 0,
      step: (s, i): readonly [number, ReadonlyArray<Effect>] => {
        if (i._tag === 'RequestPeers') return [s, [{ _tag: 'Dial', conn, address: { host: '127.0.0.1', port } }]];
        // 4 MiB, then three asks in one step: one answer, with the latest token
        if (i._tag === 'DialSucceeded') {
          return [s, [{ _tag: 'Write', conn, bytes: big }, { _tag: 'AwaitDrain', conn, token: 1 }, { _tag: 'AwaitDrain', conn, token: 2 }, { _tag: 'AwaitDrain', conn, token: 3 }]];
        }
        if (i._tag === 'Drained') {
          drained.push(i.token);
          // nothing queued now: the next ask is answered at once; then the connection closes with an ask pending
          if (i.token === 3) return [s, [{ _tag: 'AwaitDrain', conn, token: 4 }]];
          done();
          return [s, [{ _tag: 'Write', conn, bytes: big }, { _tag: 'AwaitDrain', conn, token: 5 }, { _tag: 'Close', conn, reason: { _tag: 'UserDisconnect' } }]];
        }
        return [s, []];
      },
      nextWakeup: () => undefined,
    });
    rt.input({ _tag: 'RequestPeers', at: 0 });
    try {
      await within(second, 'the drains');
      await new Promise((r) => setTimeout(r, 200));
      expect(drained).toEqual([3, 4]);
    } finally {
      await rt.shutdown();
      await new Promise((r) => server.close(r));
    }
  });

  it('logs a message listener that throws and keeps delivering', async () => {
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m) };
    const a = await node();
    const b = await node({ logger, debugLevel: 'warn' });
    await within(a.connect('127.0.0.1', b.port), 'connect');
    let calls = 0;
    b.on('message', () => {
      calls += 1;
      if (calls === 1) throw new Error('listener bug');
    });
    a.send('one');
    a.send('two');
    const first = await within(b.next(), 'first message');
    const second = await within(b.next(), 'second message');
    expect([first?.packets, second?.packets]).toEqual([['one'], ['two']]);
    expect(calls).toBe(2);
    expect(warnings.filter((w) => w.includes('a listener threw') && w.includes('listener bug'))).toHaveLength(1);
  });

  it('logs a core that throws and keeps stepping later inputs', () => {
    const logs: string[] = [];
    const seen: string[] = [];
    const rt = new Runtime<number>({ sendQueueBytesMax: 1024 }, { deliver: () => undefined, event: () => undefined, slowPeer: () => undefined, log: (_l, m) => logs.push(m) });
    rt.start({
      init: () => 0,
      step: (s, i) => {
        if (i._tag === 'Tick') throw new Error('broken invariant');
        seen.push(i._tag);
        return [s + 1, []];
      },
      nextWakeup: () => undefined,
    });
    rt.input({ _tag: 'Tick', at: 1 });
    rt.input({ _tag: 'RequestPeers', at: 2 });
    expect(seen).toEqual(['RequestPeers']);
    expect(rt.current).toBe(1);
    expect(logs.join('\n')).toMatch(/core step failed on Tick: Error: broken invariant/);
  });

  it('steps inputs made from inside a step after it, never re-entering the core', async () => {
    // b's core is traced: how deep `step` calls nest, and where each one falls relative to the
    // handler. A step is done only once its effects have run, so an input made by the handler must
    // wait until the handler (run by the Deliver effect) has returned.
    const log: string[] = [];
    let depth = 0;
    let deepest = 0;
    const traced = aroundStep(standinDeps, (step, state, input) => {
      depth += 1;
      deepest = Math.max(deepest, depth);
      log.push(`step ${input._tag}`);
      try {
        return step(state, input);
      } finally {
        depth -= 1;
      }
    });
    const a = await node();
    const b = await node({}, traced);
    await within(a.connect('127.0.0.1', b.port), 'connect');
    b.registerHandler((m) => {
      if (m.packets[0] !== 'ping') return false;
      log.push('handler in');
      b.send('pong');
      log.push('handler out');
      return true;
    });
    a.send('ping');
    expect((await within(a.next(), 'pong'))?.packets).toEqual(['pong']);
    expect(deepest).toBe(1);
    const at = log.indexOf('handler in');
    expect(at).toBeGreaterThan(0);
    expect(log.slice(at - 1, at + 3)).toEqual(['step BytesReceived', 'handler in', 'handler out', 'step Send']);
  });
});

describe('errors', () => {
  it('reject bad connect arguments with BadArgument', async () => {
    const a = await node();
    await expect(a.connect('127.0.0.1', 0)).rejects.toMatchObject({ code: 'BadArgument' });
    await expect(a.connect('127.0.0.1', 70_000)).rejects.toMatchObject({ code: 'BadArgument' });
  });

  it('refuses TLS settings for a plaintext protocol instead of running plain TCP', () => {
    const tls = { key: 'k', cert: 'c' };
    expect(() => new GenericMeshSocket(standinDeps, { host: '127.0.0.1', debugLevel: 'silent', tls })).toThrow(
      expect.objectContaining({ code: 'BadArgument', message: expect.stringMatching(/encryption 'SSL'/) }),
    );
  });
});
