/**
 * Typed messages (PROTOCOL.md §4–6): which message a packet list is, and the payloads we send.
 *
 * `classify` dispatches on (msgType, sub-flag, payload length) straight to one codec of
 * `codecs.ts`, since it runs for every received message. Ambiguous sub-flags are split as the
 * seeds split them: 0x05 is a handshake at length 5 and chord meta at length 2; 0x0B is a chord
 * store at length 4, a sync set at 3 and a sync state at 5; 0x11 is a chord delta at 4 and a sync
 * delta at 3; 0x08 is a peers request at length 2 and a route request at 3. Renegotiate ops are
 * only read under msgType 0x01. A known sub-flag with the wrong shape is a `BadMessage`; a
 * sub-flag no built-in owns is `User`.
 *
 * The builders give our own payloads the typing of §10: our node id as str, the protocol id and
 * '*' as bin; fields echoed from a received message are passed as received. This module decides
 * nothing about the messages; the mesh and chord do.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { msgTypes, subFlags } from '../flags.js';
import type { Address, NodeId } from '../types.js';
import {
  AddressCodec,
  ChordDelta,
  ChordMeta,
  ChordNotifyAdd,
  ChordNotifyDelete,
  ChordRetrieve,
  ChordRetrieved,
  ChordStore,
  Handshake,
  NODE_ID_CHARS_MAX,
  Peers,
  PeersRequest,
  RenegotiateCompression,
  RenegotiateResend,
  RouteRequest,
  RouteResponse,
  SyncDelta,
  SyncState,
  SyncStore,
  type IdValue,
  type MessageCodec,
  type PeerEntry,
  type WireMap,
  type WireMessage,
  type WireMessageOf,
} from './codecs.js';
import type { DecodeError } from './errors.js';
import type { InternalMessage } from './packets.js';
import type { WireValue } from './value.js';

export type { IdValue, PeerEntry, WireMap, WireMessage, WireMessageOf } from './codecs.js';

type Payload = ReadonlyArray<WireValue>;

// ---------------------------------------------------------------------------------------------
// Dispatch

type AnyCodec = t.Type<WireMessage, Payload, Payload>;
const as = <K extends WireMessage['_tag']>(codec: MessageCodec<K>): AnyCodec => codec as unknown as AnyCodec;

/** Sub-flag → codec by payload length, for every sub-flag a built-in owns (renegotiate apart). */
const bySubFlag: ReadonlyMap<number, ReadonlyMap<number, AnyCodec>> = new Map([
  [subFlags.handshake, new Map([[5, as(Handshake)], [2, as(ChordMeta)]])],
  [subFlags.notify, new Map([[2, as(ChordNotifyAdd)], [3, as(ChordNotifyDelete)]])],
  [subFlags.peers, new Map([[2, as(Peers)]])],
  [subFlags.request, new Map([[2, as(PeersRequest)], [3, as(RouteRequest)]])],
  [subFlags.response, new Map([[3, as(RouteResponse)]])],
  [subFlags.store, new Map([[4, as(ChordStore)], [3, as(SyncStore)], [5, as(SyncState)]])],
  [subFlags.retrieve, new Map([[3, as(ChordRetrieve)]])],
  [subFlags.retrieved, new Map([[4, as(ChordRetrieved)]])],
  [subFlags.delta, new Map([[4, as(ChordDelta)], [3, as(SyncDelta)]])],
]);

const renegotiateOps: ReadonlyMap<number, AnyCodec> = new Map([
  [subFlags.compression, as(RenegotiateCompression)],
  [subFlags.resend, as(RenegotiateResend)],
]);

// io-ts only reads the context on failure, so one per codec serves every call.
const contexts = new Map<AnyCodec, t.Context>();
const contextOf = (codec: AnyCodec): t.Context => {
  let c = contexts.get(codec);
  if (c === undefined) {
    c = [{ key: '', type: codec, actual: undefined }];
    contexts.set(codec, c);
  }
  return c;
};

const badMessage = (msgType: number, subFlag: number | undefined, detail: string): E.Either<DecodeError, WireMessage> =>
  E.left({ _tag: 'BadMessage', msgType, subFlag, detail });

const describeErrors = (errors: t.Errors): string => {
  const first = errors[0];
  if (first === undefined) return 'invalid';
  return first.message ?? `unexpected value at ${first.context.map((c) => c.key).join('.')}`;
};

/** Decide which message a packet list is and decode it (one codec, chosen by type, sub-flag and length). */
export const classifyPayload = (msgType: number, payload: Payload): E.Either<DecodeError, WireMessage> => {
  const sub = payload[0];
  if (typeof sub !== 'number' || !Number.isInteger(sub)) return E.right({ _tag: 'User', subFlag: undefined, payload });
  let codec: AnyCodec | undefined;
  if (msgType === msgTypes.renegotiate) codec = renegotiateOps.get(sub);
  if (codec === undefined) {
    const byLength = bySubFlag.get(sub);
    if (byLength === undefined) return E.right({ _tag: 'User', subFlag: sub, payload });
    codec = byLength.get(payload.length);
    if (codec === undefined) {
      const lengths = [...byLength.keys()].join(' or ');
      return badMessage(msgType, sub, `sub-flag 0x${sub.toString(16)} needs a payload of ${lengths}, got ${payload.length}`);
    }
  }
  const r = codec.validate(payload, contextOf(codec));
  return E.isRight(r) ? r : badMessage(msgType, sub, `${codec.name}: ${describeErrors(r.left)}`);
};

/**
 * Classify a received message. Its sender is held to the bound of node ids (`NODE_ID_CHARS_MAX`):
 * a reply to a longer one would name it in a route request, which peers refuse.
 */
export const classify = (msg: InternalMessage): E.Either<DecodeError, WireMessage> =>
  msg.sender.length > NODE_ID_CHARS_MAX
    ? badMessage(msg.msgType, Number.isInteger(msg.payload[0]) ? (msg.payload[0] as number) : undefined, `sender id longer than ${NODE_ID_CHARS_MAX}`)
    : classifyPayload(msg.msgType, msg.payload);

const codecByTag: { readonly [K in WireMessage['_tag']]: (m: WireMessageOf<K>) => Payload } = {
  Handshake: Handshake.encode,
  Peers: Peers.encode,
  PeersRequest: PeersRequest.encode,
  RouteRequest: RouteRequest.encode,
  RouteResponse: RouteResponse.encode,
  RenegotiateCompression: RenegotiateCompression.encode,
  RenegotiateResend: RenegotiateResend.encode,
  ChordMeta: ChordMeta.encode,
  ChordNotify: ChordNotifyAdd.encode,
  ChordStore: ChordStore.encode,
  ChordRetrieve: ChordRetrieve.encode,
  ChordRetrieved: ChordRetrieved.encode,
  ChordDelta: ChordDelta.encode,
  SyncStore: SyncStore.encode,
  SyncState: SyncState.encode,
  SyncDelta: SyncDelta.encode,
  User: (m) => m.payload,
};

/** The payload of a message (the encode direction of the codecs). */
export const encodeMessage = (m: WireMessage): Payload =>
  (codecByTag[m._tag] as (m: WireMessage) => Payload)(m);

// ---------------------------------------------------------------------------------------------
// Builders for our own payloads (§10 typing)

/** Our handshake: node id as str, protocol id as bin, `[host, port]`, compression list. */
export const handshakePayload = (nodeId: NodeId, protoId: string, address: Address, compression: ReadonlyArray<number>): Payload =>
  Handshake.encode({ _tag: 'Handshake', id: nodeId, protocolId: protoId, address, compression });

/** A peers list, ids as str. */
export const peersPayload = (peers: ReadonlyArray<PeerEntry>): Payload => Peers.encode({ _tag: 'Peers', peers });

/** A peers request, '*' as bin. */
export const peersRequestPayload = (): Payload => PeersRequest.encode({ _tag: 'PeersRequest' });

/** A route request for `target` (ids as given: ours are str). */
export const routeRequestPayload = (requestId: IdValue, target: IdValue): Payload =>
  [subFlags.request, requestId, target];

/** A route response: echo the request id and target exactly as the request carried them. */
export const routeResponsePayload = (requestId: IdValue, address: Address, target: IdValue): Payload =>
  [subFlags.response, requestId, [AddressCodec.encode(address), target]];

/** Renegotiate compression to `methods`. */
export const renegotiateCompressionPayload = (methods: ReadonlyArray<number>): Payload =>
  RenegotiateCompression.encode({ _tag: 'RenegotiateCompression', methods });

/** Renegotiate resend. */
export const renegotiateResendPayload = (): Payload => [subFlags.resend];

/** Chord meta: '1' when leeching, '0' when storing. */
export const chordMetaPayload = (leeching: boolean): Payload => ChordMeta.encode({ _tag: 'ChordMeta', leeching });

/** Chord notify: the user key (bin), with 'del' when deleted. */
export const chordNotifyPayload = (key: IdValue, deleted: boolean): Payload =>
  deleted ? [subFlags.notify, key, 'del'] : [subFlags.notify, key];

/** Chord store of `value` (nil deletes) at `key58` in `table`. */
export const chordStorePayload = (table: IdValue, key58: IdValue, value: WireValue): Payload => [subFlags.store, table, key58, value];

/** Chord retrieve of `key58` in `table`. */
export const chordRetrievePayload = (table: IdValue, key58: IdValue): Payload => [subFlags.retrieve, table, key58];

/** Chord retrieved: `table` and `key58` must be the received values, echoed as they came. */
export const chordRetrievedPayload = (table: IdValue, key58: IdValue, value: WireValue): Payload =>
  [subFlags.retrieved, table, key58, value];

/** Chord delta: merge `delta` into the map at `key58` in `table`. */
export const chordDeltaPayload = (table: IdValue, key58: IdValue, delta: WireMap): Payload => [subFlags.delta, table, key58, delta];

/** Sync set (broadcast): `value` nil deletes. */
export const syncStorePayload = (key: IdValue, value: WireValue): Payload => [subFlags.store, key, value];

/** Sync state (whisper): a value with its owner and timestamp. */
export const syncStatePayload = (key: IdValue, value: WireValue, owner: IdValue, timestamp: number): Payload =>
  [subFlags.store, key, value, owner, timestamp];

/** Sync delta (broadcast). */
export const syncDeltaPayload = (key: IdValue, delta: WireMap): Payload => [subFlags.delta, key, delta];
