/**
 * The io-ts codecs of the wire messages (PROTOCOL.md §4–6): field codecs (ids, addresses, flag
 * lists, peer entries, maps) and one codec per message, between its payload (list[3:], sub-flag
 * first) and its variant of `WireMessage`.
 *
 * Every id field accepts str or bin. A decoded variant carries the canonical text (bin read as
 * latin1) for comparison and, where a reply must echo a field, the value as received (`…Raw`), so
 * the echo is byte-identical. Each codec checks one fixed payload length; choosing the codec for
 * a message is `messages.ts`'s job. Encoding uses the typing of §10 for fields that carry no raw
 * value: node ids as str, the protocol id as bin.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { subFlags } from '../flags.js';
import { idText, keyText, latin1Bytes } from '../ids.js';
import type { Address, NodeId } from '../types.js';
import type { WireValue } from './value.js';

/** An id as it travels: msgpack str or bin. */
export type IdValue = string | Uint8Array;
/** A msgpack map. */
export type WireMap = ReadonlyMap<WireValue, WireValue>;
/** One entry of a peers list. */
export interface PeerEntry {
  readonly address: Address;
  readonly id: NodeId;
}

/** Every message the built-in handlers own, plus `User` for the rest. */
export type WireMessage =
  | { readonly _tag: 'Handshake'; readonly id: NodeId; readonly protocolId: string; readonly address: Address; readonly compression: ReadonlyArray<number> }
  | { readonly _tag: 'Peers'; readonly peers: ReadonlyArray<PeerEntry> }
  | { readonly _tag: 'PeersRequest' }
  | { readonly _tag: 'RouteRequest'; readonly requestId: string; readonly requestIdRaw: IdValue; readonly target: NodeId; readonly targetRaw: IdValue }
  | {
      readonly _tag: 'RouteResponse';
      readonly requestId: string;
      readonly requestIdRaw: IdValue;
      readonly address: Address;
      readonly target: NodeId;
      readonly targetRaw: IdValue;
    }
  | { readonly _tag: 'RenegotiateCompression'; readonly methods: ReadonlyArray<number> }
  | { readonly _tag: 'RenegotiateResend' }
  | { readonly _tag: 'ChordMeta'; readonly leeching: boolean }
  | { readonly _tag: 'ChordNotify'; readonly key: string; readonly keyRaw: IdValue; readonly deleted: boolean }
  | { readonly _tag: 'ChordStore'; readonly table: string; readonly tableRaw: IdValue; readonly key: string; readonly keyRaw: IdValue; readonly value: WireValue }
  | { readonly _tag: 'ChordRetrieve'; readonly table: string; readonly tableRaw: IdValue; readonly key: string; readonly keyRaw: IdValue }
  | { readonly _tag: 'ChordRetrieved'; readonly table: string; readonly tableRaw: IdValue; readonly key: string; readonly keyRaw: IdValue; readonly value: WireValue }
  | { readonly _tag: 'ChordDelta'; readonly table: string; readonly tableRaw: IdValue; readonly key: string; readonly keyRaw: IdValue; readonly delta: WireMap }
  | { readonly _tag: 'SyncStore'; readonly key: string; readonly keyRaw: IdValue; readonly value: WireValue }
  | {
      readonly _tag: 'SyncState';
      readonly key: string;
      readonly keyRaw: IdValue;
      readonly value: WireValue;
      readonly owner: NodeId;
      readonly ownerRaw: IdValue;
      readonly timestamp: number;
    }
  | { readonly _tag: 'SyncDelta'; readonly key: string; readonly keyRaw: IdValue; readonly delta: WireMap }
  /**
   * A user message (broadcast, whisper, or any sub-flag no built-in owns): `subFlag` is
   * `payload[0]` when that is an integer, and `payload` is the whole payload as received (the
   * sub-flag, then the user's packets), so encoding gives it back as it came.
   */
  | { readonly _tag: 'User'; readonly subFlag: number | undefined; readonly payload: ReadonlyArray<WireValue> };

/** The variant of WireMessage with tag K. */
export type WireMessageOf<K extends WireMessage['_tag']> = Extract<WireMessage, { readonly _tag: K }>;

// ---------------------------------------------------------------------------------------------
// Field codecs

const isId = (u: unknown): u is IdValue => typeof u === 'string' || u instanceof Uint8Array;

/**
 * Longest node id or protocol id taken from a peer, in characters (str) or bytes (bin). Both are
 * base58 digests (a node id about 66 characters, a protocol id about 44); a node remembers the ids
 * it hears in its routing table, address book and chord directory, so without a bound each entry
 * could hold a whole frame.
 */
export const NODE_ID_CHARS_MAX = 256;

/** Longest host taken from a peer (a DNS name has at most 253 characters; an address far fewer). */
export const HOST_CHARS_MAX = 255;

const isNodeId = (u: unknown): u is IdValue => isId(u) && u.length <= NODE_ID_CHARS_MAX;

const nodeIdsFailure = <A>(u: unknown, c: t.Context, what: string): V<A> =>
  t.failure(u, c, `expected ${what} (str or bin, at most ${NODE_ID_CHARS_MAX} long)`);

/** An id field: str or bin, kept as given. */
export const IdValue = new t.Type<IdValue, IdValue, unknown>(
  'IdValue',
  isId,
  (u, c) => (isId(u) ? t.success(u) : t.failure(u, c, 'expected an id (str or bin)')),
  t.identity,
);

const isInt = (u: unknown): u is number => typeof u === 'number' && Number.isInteger(u);

/** A TCP port number. */
export const Port = new t.Type<number, number, unknown>(
  'Port',
  (u): u is number => isInt(u) && u >= 0 && u <= 65535,
  (u, c) => (isInt(u) && u >= 0 && u <= 65535 ? t.success(u) : t.failure(u, c, 'expected a port number')),
  t.identity,
);

/** `[host, port]` with host as str (bin accepted and read as latin1). */
export const AddressCodec = new t.Type<Address, WireValue, unknown>(
  'Address',
  (u): u is Address => typeof u === 'object' && u !== null && typeof (u as Address).host === 'string' && isInt((u as Address).port),
  (u, c) => {
    if (!Array.isArray(u) || u.length !== 2 || !isId(u[0])) return t.failure(u, c, 'expected [host, port]');
    if (u[0].length > HOST_CHARS_MAX) return t.failure(u, c, `expected a host of at most ${HOST_CHARS_MAX} characters`);
    const port = Port.validate(u[1], c);
    return E.isLeft(port) ? port : t.success({ host: idText(u[0]), port: port.right });
  },
  (a) => [a.host, a.port],
);

/**
 * Longest compression list taken from a peer (a handshake or a renegotiate), in entries. The
 * protocol implements five methods (§1.4, §2.3) and the seeds send lists of one to five; a
 * receiver tries the peer's methods on every frame, so an unbounded list would cost an attempt
 * per entry per frame.
 */
export const COMPRESSION_LIST_MAX = 16;

/**
 * A list of integer flags (a compression list). Decoding refuses one of more than
 * `COMPRESSION_LIST_MAX` entries; `is` checks only the shape (a local caller's list of any length
 * is still a list of flags).
 */
export const FlagList = new t.Type<ReadonlyArray<number>, WireValue, unknown>(
  'FlagList',
  (u): u is ReadonlyArray<number> => Array.isArray(u) && u.every(isInt),
  (u, c) => {
    if (!Array.isArray(u)) return t.failure(u, c, 'expected a list of integers');
    if (u.length > COMPRESSION_LIST_MAX) return t.failure(u, c, `expected a list of at most ${COMPRESSION_LIST_MAX} flags, got ${u.length}`);
    return u.every(isInt) ? t.success(u as ReadonlyArray<number>) : t.failure(u, c, 'expected a list of integers');
  },
  (a) => [...a],
);

/** `[[host, port], id]`. */
export const PeerEntryCodec = new t.Type<PeerEntry, WireValue, unknown>(
  'PeerEntry',
  (u): u is PeerEntry => typeof u === 'object' && u !== null && 'address' in u && 'id' in u,
  (u, c) => {
    if (!Array.isArray(u) || u.length !== 2) return t.failure(u, c, 'expected [[host, port], id]');
    if (!isNodeId(u[1])) return nodeIdsFailure(u, c, 'a node id');
    const address = AddressCodec.validate(u[0], c);
    return E.isLeft(address) ? address : t.success({ address: address.right, id: idText(u[1]) as NodeId });
  },
  (p) => [AddressCodec.encode(p.address), p.id],
);

const isMap = (u: unknown): u is WireMap => u instanceof Map;

/** A msgpack map (a delta). */
export const WireMapCodec = new t.Type<WireMap, WireValue, unknown>(
  'WireMap',
  isMap,
  (u, c) => (isMap(u) ? t.success(u) : t.failure(u, c, 'expected a map')),
  t.identity,
);

// ---------------------------------------------------------------------------------------------
// Message codecs: payload (list[3:], sub-flag first) <-> variant

type Payload = ReadonlyArray<WireValue>;
type V<A> = t.Validation<A>;

/** A codec between a payload of fixed length and one WireMessage variant. */
export type MessageCodec<K extends WireMessage['_tag']> = t.Type<WireMessageOf<K>, Payload, Payload>;

const messageCodec = <K extends WireMessage['_tag']>(
  tag: K,
  length: number,
  decode: (p: Payload, c: t.Context) => V<WireMessageOf<K>>,
  encode: (m: WireMessageOf<K>) => Payload,
): MessageCodec<K> =>
  new t.Type<WireMessageOf<K>, Payload, Payload>(
    tag,
    (u): u is WireMessageOf<K> => typeof u === 'object' && u !== null && (u as { _tag?: unknown })._tag === tag,
    (p, c) => (p.length === length ? decode(p, c) : t.failure(p, c, `${tag} needs a payload of ${length}, got ${p.length}`)),
    encode,
  );

// The decoders below build each variant in one object literal (no spreads): classify runs for
// every received message.

const idsFailure = <A>(p: Payload, c: t.Context, what: string): V<A> => t.failure(p, c, `expected ${what} (str or bin)`);

/** `[0x05, id, protocolId, [host, port], [compression…]]` (§4.2). */
export const Handshake = messageCodec(
  'Handshake',
  5,
  (p, c) => {
    const nodeId = p[1];
    const proto = p[2];
    if (!isNodeId(nodeId) || !isNodeId(proto)) return nodeIdsFailure(p, c, 'node id and protocol id');
    const address = AddressCodec.validate(p[3], c);
    if (E.isLeft(address)) return address;
    const compression = FlagList.validate(p[4], c);
    if (E.isLeft(compression)) return compression;
    return t.success({
      _tag: 'Handshake',
      id: idText(nodeId) as NodeId,
      protocolId: idText(proto),
      address: address.right,
      compression: compression.right,
    });
  },
  (m) => [subFlags.handshake, m.id, latin1Bytes(m.protocolId), AddressCodec.encode(m.address), FlagList.encode(m.compression)],
);

/** `[0x07, [[[host, port], id], …]]` (§4.4). */
export const Peers = messageCodec(
  'Peers',
  2,
  (p, c) => {
    const list = p[1];
    if (!Array.isArray(list)) return t.failure(list, c, 'expected a list of peers');
    const peers: PeerEntry[] = [];
    for (const entry of list as Payload) {
      const r = PeerEntryCodec.validate(entry, c);
      if (E.isLeft(r)) return r;
      peers.push(r.right);
    }
    return t.success({ _tag: 'Peers', peers });
  },
  (m) => [subFlags.peers, m.peers.map((e) => PeerEntryCodec.encode(e))],
);

const STAR = latin1Bytes('*');

/** `[0x08, '*']`, '*' as str or bin (§4.7). */
export const PeersRequest = messageCodec(
  'PeersRequest',
  2,
  (p, c) => (isId(p[1]) && idText(p[1]) === '*' ? t.success({ _tag: 'PeersRequest' }) : t.failure(p[1], c, "expected '*'")),
  () => [subFlags.request, STAR],
);

/** `[0x08, requestId, targetId]` (§4.7). */
export const RouteRequest = messageCodec(
  'RouteRequest',
  3,
  (p, c) => {
    const req = p[1];
    const target = p[2];
    if (!isId(req) || !isNodeId(target)) return nodeIdsFailure(p, c, 'request id and target id');
    return t.success({ _tag: 'RouteRequest', requestId: idText(req), requestIdRaw: req, target: idText(target) as NodeId, targetRaw: target });
  },
  (m) => [subFlags.request, m.requestIdRaw, m.targetRaw],
);

/** `[0x0A, requestId, [[host, port], targetId]]` (§4.7). */
export const RouteResponse = messageCodec(
  'RouteResponse',
  3,
  (p, c) => {
    const req = p[1];
    const pair = p[2];
    if (!Array.isArray(pair) || pair.length !== 2) return t.failure(pair, c, 'expected [[host, port], target]');
    const target: unknown = pair[1];
    if (!isId(req) || !isNodeId(target)) return nodeIdsFailure(p, c, 'request id and target id');
    const address = AddressCodec.validate(pair[0], c);
    if (E.isLeft(address)) return address;
    return t.success({
      _tag: 'RouteResponse',
      requestId: idText(req),
      requestIdRaw: req,
      address: address.right,
      target: idText(target) as NodeId,
      targetRaw: target,
    });
  },
  (m) => [subFlags.response, m.requestIdRaw, [AddressCodec.encode(m.address), m.targetRaw]],
);

/** Renegotiate `[0x01, [methods…]]` (§4.8). */
export const RenegotiateCompression = messageCodec(
  'RenegotiateCompression',
  2,
  (p, c) => {
    const methods = FlagList.validate(p[1], c);
    return E.isLeft(methods) ? methods : t.success({ _tag: 'RenegotiateCompression', methods: methods.right });
  },
  (m) => [subFlags.compression, FlagList.encode(m.methods)],
);

/** Renegotiate `[0x09]` (§4.8). */
export const RenegotiateResend = messageCodec('RenegotiateResend', 1, () => t.success({ _tag: 'RenegotiateResend' }), () => [subFlags.resend]);

/** Chord meta `[0x05, '1' | '0']`: '1' = leeching (§5.1). */
export const ChordMeta = messageCodec(
  'ChordMeta',
  2,
  (p, c) => {
    const v = isId(p[1]) ? idText(p[1]) : undefined;
    return v === '1' || v === '0' ? t.success({ _tag: 'ChordMeta', leeching: v === '1' }) : t.failure(p[1], c, "expected '1' or '0'");
  },
  (m) => [subFlags.handshake, m.leeching ? '1' : '0'],
);

const chordNotify = (length: 2 | 3): MessageCodec<'ChordNotify'> =>
  messageCodec(
    'ChordNotify',
    length,
    (p, c) => {
      const key = p[1];
      if (!isId(key)) return idsFailure(p, c, 'a key');
      return t.success({ _tag: 'ChordNotify', key: keyText(key), keyRaw: key, deleted: length === 3 });
    },
    (m) => (m.deleted ? [subFlags.notify, m.keyRaw, 'del'] : [subFlags.notify, m.keyRaw]),
  );
/** Chord notify add `[0x06, key]`. */
export const ChordNotifyAdd = chordNotify(2);
/** Chord notify delete `[0x06, key, 'del']` (receivers look only at the length). */
export const ChordNotifyDelete = chordNotify(3);

/** Chord store `[0x0B, table, key58, value]`. */
export const ChordStore = messageCodec(
  'ChordStore',
  4,
  (p, c) => {
    const table = p[1];
    const key = p[2];
    if (!isId(table) || !isId(key)) return idsFailure(p, c, 'table and key');
    return t.success({ _tag: 'ChordStore', table: idText(table), tableRaw: table, key: idText(key), keyRaw: key, value: p[3]! });
  },
  (m) => [subFlags.store, m.tableRaw, m.keyRaw, m.value],
);

/** Chord retrieve `[0x0C, table, key58]`. */
export const ChordRetrieve = messageCodec(
  'ChordRetrieve',
  3,
  (p, c) => {
    const table = p[1];
    const key = p[2];
    if (!isId(table) || !isId(key)) return idsFailure(p, c, 'table and key');
    return t.success({ _tag: 'ChordRetrieve', table: idText(table), tableRaw: table, key: idText(key), keyRaw: key });
  },
  (m) => [subFlags.retrieve, m.tableRaw, m.keyRaw],
);

/** Chord retrieved `[0x0D, table, key58, value]` (table and key58 echoed as received). */
export const ChordRetrieved = messageCodec(
  'ChordRetrieved',
  4,
  (p, c) => {
    const table = p[1];
    const key = p[2];
    if (!isId(table) || !isId(key)) return idsFailure(p, c, 'table and key');
    return t.success({ _tag: 'ChordRetrieved', table: idText(table), tableRaw: table, key: idText(key), keyRaw: key, value: p[3]! });
  },
  (m) => [subFlags.retrieved, m.tableRaw, m.keyRaw, m.value],
);

/** Chord delta `[0x11, table, key58, {map}]`. */
export const ChordDelta = messageCodec(
  'ChordDelta',
  4,
  (p, c) => {
    const table = p[1];
    const key = p[2];
    if (!isId(table) || !isId(key)) return idsFailure(p, c, 'table and key');
    const delta = WireMapCodec.validate(p[3], c);
    if (E.isLeft(delta)) return delta;
    return t.success({ _tag: 'ChordDelta', table: idText(table), tableRaw: table, key: idText(key), keyRaw: key, delta: delta.right });
  },
  (m) => [subFlags.delta, m.tableRaw, m.keyRaw, m.delta],
);

/** Sync set `[0x0B, key, value]` (a broadcast; value nil = delete) (§6). */
export const SyncStore = messageCodec(
  'SyncStore',
  3,
  (p, c) => {
    const key = p[1];
    if (!isId(key)) return idsFailure(p, c, 'a key');
    return t.success({ _tag: 'SyncStore', key: keyText(key), keyRaw: key, value: p[2]! });
  },
  (m) => [subFlags.store, m.keyRaw, m.value],
);

/** Sync state `[0x0B, key, value, owner, timestamp]` (a whisper after peers) (§6). */
export const SyncState = messageCodec(
  'SyncState',
  5,
  (p, c) => {
    const key = p[1];
    const owner = p[3];
    if (!isId(key) || !isId(owner)) return idsFailure(p, c, 'key and owner');
    // An integer timestamp beyond 2^53 arrives as an int64 and decodes as a bigint: still a time.
    const ts = typeof p[4] === 'bigint' ? Number(p[4]) : p[4];
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return t.failure(p[4], c, 'expected a timestamp');
    return t.success({
      _tag: 'SyncState',
      key: keyText(key),
      keyRaw: key,
      value: p[2]!,
      owner: idText(owner) as NodeId,
      ownerRaw: owner,
      timestamp: ts,
    });
  },
  (m) => [subFlags.store, m.keyRaw, m.value, m.ownerRaw, m.timestamp],
);

/** Sync delta `[0x11, key, {map}]` (§6). */
export const SyncDelta = messageCodec(
  'SyncDelta',
  3,
  (p, c) => {
    const key = p[1];
    if (!isId(key)) return idsFailure(p, c, 'a key');
    const delta = WireMapCodec.validate(p[2], c);
    return E.isLeft(delta) ? delta : t.success({ _tag: 'SyncDelta', key: keyText(key), keyRaw: key, delta: delta.right });
  },
  (m) => [subFlags.delta, m.keyRaw, m.delta],
);
