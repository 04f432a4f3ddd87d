/**
 * A tiny stand-in core for testing the shell on its own: length-prefixed JSON frames, a one-frame
 * hello handshake, broadcast to neighbours without relay. It speaks no real protocol; it only
 * exercises what the shell must do with effects, inputs and the timer.
 */
import type { NodeConfig } from '../../src/core/config.js';
import type { Address, CommandId, ConnId, DeliveredMessage, Effect, Input, NodeId } from '../../src/core/types.js';
import { ConnId as mkConn, NodeId as mkNode } from '../../src/core/types.js';
import type { Core } from '../../src/shell/net/runtime.js';
import type { MeshDeps, PeerInfo } from '../../src/shell/api/socket.js';

interface Link {
  buf: Uint8Array;
  peer?: NodeId;
  outgoing: boolean;
  remote?: Address;
  cmd?: CommandId;
}

/** Stand-in state: mutable, like the real core may be. */
export interface StandinState {
  readonly config: NodeConfig;
  readonly links: Map<ConnId, Link>;
  dials: number;
  ticks: number;
  wakeAt: number | undefined;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

const frameOf = (v: unknown): Uint8Array => {
  const body = enc.encode(JSON.stringify(v));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
};

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const onBytes = (s: StandinState, conn: ConnId, bytes: Uint8Array, out: Effect[]): void => {
  const link = s.links.get(conn);
  if (link === undefined) return;
  link.buf = concat(link.buf, bytes);
  while (link.buf.length >= 4) {
    const len = new DataView(link.buf.buffer, link.buf.byteOffset).getUint32(0);
    if (len > s.config.frameBytesMax) {
      s.links.delete(conn);
      out.push({ _tag: 'Close', conn, reason: { _tag: 'BadFrame', detail: `length ${len}` } });
      return;
    }
    if (link.buf.length < 4 + len) return;
    const body = link.buf.subarray(4, 4 + len);
    link.buf = link.buf.slice(4 + len);
    let v: { hello?: string; from?: string; packets?: unknown[] };
    try {
      v = JSON.parse(dec.decode(body)) as typeof v;
    } catch {
      s.links.delete(conn);
      out.push({ _tag: 'Close', conn, reason: { _tag: 'BadMessage', detail: 'not JSON' } });
      return;
    }
    if (v.hello !== undefined) {
      const peer = mkNode(v.hello);
      const first = [...s.links.values()].every((l) => l.peer === undefined);
      link.peer = peer;
      out.push({ _tag: 'Emit', event: { _tag: 'PeerJoined', peer, conn, address: link.remote ?? { host: '', port: 0 }, outgoing: link.outgoing } });
      if (first) out.push({ _tag: 'Emit', event: { _tag: 'Connected', peer } });
      if (link.cmd !== undefined) out.push({ _tag: 'Emit', event: { _tag: 'ConnectSucceeded', cmd: link.cmd, peer } });
    } else if (v.from !== undefined && v.packets !== undefined) {
      const message: DeliveredMessage = { conn, msgType: 0, sender: mkNode(v.from), time: 0, packets: v.packets as DeliveredMessage['packets'], id: new Uint8Array(32), msgpackBytes: 0 };
      out.push({ _tag: 'Deliver', message });
    }
  }
};

const stepStandin = (s: StandinState, input: Input): readonly [StandinState, ReadonlyArray<Effect>] => {
  const out: Effect[] = [];
  const hello = frameOf({ hello: s.config.id });
  switch (input._tag) {
    case 'ConnectionAccepted':
      s.links.set(input.conn, { buf: new Uint8Array(0), outgoing: false, remote: input.remote });
      out.push({ _tag: 'Write', conn: input.conn, bytes: hello });
      break;
    case 'Connect': {
      const conn = mkConn(`d${++s.dials}`);
      s.links.set(conn, { buf: new Uint8Array(0), outgoing: true, remote: input.address, cmd: input.cmd });
      out.push({ _tag: 'Dial', conn, address: input.address });
      break;
    }
    case 'DialSucceeded':
      out.push({ _tag: 'Write', conn: input.conn, bytes: hello });
      break;
    case 'DialFailed': {
      const cmd = s.links.get(input.conn)?.cmd;
      s.links.delete(input.conn);
      if (cmd !== undefined) out.push({ _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd, error: input.error } });
      break;
    }
    case 'BytesReceived':
      onBytes(s, input.conn, input.bytes, out);
      break;
    case 'ConnectionClosed': {
      const link = s.links.get(input.conn);
      s.links.delete(input.conn);
      if (link?.peer !== undefined) out.push({ _tag: 'Emit', event: { _tag: 'PeerLeft', peer: link.peer, conn: input.conn, reason: input.reason } });
      break;
    }
    case 'Send':
      for (const [conn, link] of s.links) if (link.peer !== undefined) out.push({ _tag: 'Write', conn, bytes: frameOf({ from: s.config.id, packets: input.packets }) });
      break;
    case 'Tick':
      s.ticks += 1;
      s.wakeAt = undefined;
      break;
    case 'Shutdown':
      for (const conn of s.links.keys()) out.push({ _tag: 'Close', conn, reason: { _tag: 'Shutdown' } });
      s.links.clear();
      break;
    default:
      break;
  }
  return [s, out];
};

/** The stand-in bound to its config (a wake-up can be planted with `wakeAt`). */
export const standinCore = (config: NodeConfig): Core<StandinState> => ({
  init: () => ({ config, links: new Map(), dials: 0, ticks: 0, wakeAt: undefined }),
  step: stepStandin,
  nextWakeup: (s) => s.wakeAt,
});

/** Facade dependencies running the stand-in. */
export const standinDeps: MeshDeps<StandinState> = {
  makeCore: standinCore,
  protocolId: (subnet, encryption) => `${subnet}/${encryption}`,
  nodeId: (outAddr, _p, salt) => mkNode(`${outAddr.port}-${salt.slice(0, 8)}`),
  routingTable: (s) =>
    [...s.links].flatMap(([conn, l]): PeerInfo[] => (l.peer === undefined ? [] : [{ id: l.peer, conn, address: l.remote ?? { host: '', port: 0 }, outgoing: l.outgoing }])),
  awaiting: (s) => [...s.links].filter(([, l]) => l.peer === undefined).map(([conn, l]) => ({ conn, outgoing: l.outgoing })),
  status: (s) => ({ links: s.links.size, ticks: s.ticks }),
  isQueuedForUser: () => true,
};
