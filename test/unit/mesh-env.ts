// Shared fixtures for the mesh core tests: deterministic node environments and frame helpers.
import * as E from 'fp-ts/lib/Either.js';
import type { Capabilities } from '../../src/core/caps.js';
import { defaultLimits, type NodeConfig } from '../../src/core/config.js';
import { compressionFlags } from '../../src/core/flags.js';
import { nodeId, protocolId } from '../../src/core/ids.js';
import type { Env } from '../../src/core/node.js';
import type { Address, Effect, NodeEvent, NodeId } from '../../src/core/types.js';
import { frameDecoder, pushBytes } from '../../src/core/wire/framing.js';
import { decodeBody, encodeFrame, makeMessage, type InternalMessage } from '../../src/core/wire/packets.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { nodeCapabilities } from '../../src/shell/caps.js';

export const caps = nodeCapabilities;

/** The node's capabilities, counting each method's decompressions in `calls` (flag → count). */
export const countingCaps = (): { readonly caps: Capabilities; readonly calls: Map<number, number> } => {
  const calls = new Map<number, number>();
  const compressors = new Map(
    [...caps.compressors].map(([flag, c]) => [
      flag,
      {
        ...c,
        decompress: (data: Uint8Array, maxBytes: number) => {
          calls.set(flag, (calls.get(flag) ?? 0) + 1);
          return c.decompress(data, maxBytes);
        },
      },
    ]),
  );
  return { caps: { ...caps, compressors }, calls };
};
export const meshProtocol = { subnet: 'mesh', encryption: 'Plaintext', id: protocolId(caps, 'mesh', 'Plaintext') };
export const T0 = 1_500_000_000_000;

/** The address of test node i. */
export const addr = (i: number): Address => ({ host: `10.0.0.${i}`, port: 4444 });

/** A deterministic environment for test node i. */
export const mkEnv = (i: number, over: Partial<NodeConfig> = {}): Env => {
  const outAddr = over.outAddr ?? addr(i);
  const config: NodeConfig = {
    id: nodeId(caps, outAddr, meshProtocol.id, `salt-${i}`),
    protocol: meshProtocol,
    outAddr,
    compression: [],
    seed: i,
    ...defaultLimits,
    ...over,
  };
  return { config, caps };
};

/** A frame of a message from `sender` (str id), as a peer would send it. */
export const frameFrom = (
  sender: string | Uint8Array,
  msgType: number,
  payload: ReadonlyArray<WireValue>,
  at = T0,
  compression?: number,
): Uint8Array => encodeFrame(caps, msgOf(sender, msgType, payload, at), compression);

/** The message behind `frameFrom`. */
export const msgOf = (sender: string | Uint8Array, msgType: number, payload: ReadonlyArray<WireValue>, at = T0): InternalMessage =>
  makeMessage(caps, msgType, sender, payload, Math.floor(at / 1000));

/** Decode the frames in a Write's bytes (peer compression list as given). */
export const decodeWrite = (bytes: Uint8Array, peerCompression: ReadonlyArray<number> = []): InternalMessage[] => {
  const { frames, error } = pushBytes(frameDecoder(1 << 24), bytes);
  if (error !== undefined) throw new Error('bad frame in a write');
  return frames.map((f) => {
    const r = decodeBody(caps, f, peerCompression, 1 << 24);
    if (E.isLeft(r)) throw new Error('undecodable write');
    return r.right;
  });
};

/** The writes among effects, decoded: [conn, payload, msgType]. */
export const writes = (effects: ReadonlyArray<Effect>, peerCompression: ReadonlyArray<number> = []) =>
  effects.flatMap((e) =>
    e._tag === 'Write' ? decodeWrite(e.bytes, peerCompression).map((m) => ({ conn: e.conn, msgType: m.msgType, payload: m.payload, sender: m.senderId })) : [],
  );

/** The events among effects. */
export const events = (effects: ReadonlyArray<Effect>): NodeEvent[] =>
  effects.flatMap((e) => (e._tag === 'Emit' ? [e.event] : []));

/** Effects of a tag. */
export const only = <K extends Effect['_tag']>(effects: ReadonlyArray<Effect>, tag: K): Extract<Effect, { _tag: K }>[] =>
  effects.filter((e): e is Extract<Effect, { _tag: K }> => e._tag === tag);

export const zlib = compressionFlags.zlib;
export const gzip = compressionFlags.gzip;
export const snappy = compressionFlags.snappy;
export type { NodeId };

import { initNode, step, type NodeState } from '../../src/core/node.js';
import { latin1Bytes } from '../../src/core/ids.js';
import { ConnId, type Input } from '../../src/core/types.js';

/** Step and return just the effects (state is linear: it is mutated in place). */
export const go = (env: Env, st: NodeState, input: Input) => step(env, st, input)[1];

/** The handshake frame node `peer` would send (js2p typing: str ids), compression list as given. */
export const handshakeFrom = (peer: Env, compression: ReadonlyArray<number> = [], protocolId = peer.config.protocol.id, at = T0) =>
  frameFrom(peer.config.id, 2, [5, peer.config.id, latin1Bytes(protocolId), [peer.config.outAddr.host, peer.config.outAddr.port], [...compression]], at);

/** A node with peers handshaken in on incoming connections a1, a2, …; returns [state, conn ids]. */
export const withPeers = (env: Env, peers: ReadonlyArray<Env>, compression: ReadonlyArray<number> = [], at = T0): [NodeState, ConnId[]] => {
  const st = initNode(env, at);
  const conns = peers.map((peer, i) => {
    const conn = ConnId(`a${i + 1}`);
    step(env, st, { _tag: 'ConnectionAccepted', at, conn, remote: peer.config.outAddr });
    step(env, st, { _tag: 'BytesReceived', at, conn, bytes: handshakeFrom(peer, compression) });
    return conn;
  });
  return [st, conns];
};

/** Byte arrays one after another (frames as one read). */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
