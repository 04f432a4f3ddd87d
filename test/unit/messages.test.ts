import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { NodeId } from '../../src/core/types.js';
import {
  chordDeltaPayload, chordMetaPayload, chordNotifyPayload, chordRetrievedPayload, chordRetrievePayload, chordStorePayload,
  classify, classifyPayload, encodeMessage, handshakePayload, peersPayload, peersRequestPayload, renegotiateCompressionPayload,
  renegotiateResendPayload, routeRequestPayload, routeResponsePayload, syncDeltaPayload, syncStatePayload, syncStorePayload,
  type WireMessage,
} from '../../src/core/wire/messages.js';
import { COMPRESSION_LIST_MAX, HOST_CHARS_MAX, NODE_ID_CHARS_MAX } from '../../src/core/wire/codecs.js';
import { makeMessage } from '../../src/core/wire/packets.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { nodeCapabilities as caps } from '../../src/shell/caps.js';

const bin = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const addr = { host: '127.0.0.1', port: 4444 };
const whisper = (p: ReadonlyArray<WireValue>): E.Either<unknown, WireMessage> => classify(makeMessage(caps, 2, 'ME', p, 1));

describe('builders use the §10 typing', () => {
  it('handshake: our id as str, protocol id as bin', () => {
    const p = handshakePayload(NodeId('ME'), 'PROTO', addr, [0x13, 0x11]);
    expect(p).toEqual([5, 'ME', bin('PROTO'), ['127.0.0.1', 4444], [0x13, 0x11]]);
    expect(p[2]).toBeInstanceOf(Uint8Array);
  });
  it("peers request: '*' as bin", () => {
    expect(peersRequestPayload()).toEqual([8, bin('*')]);
  });
  it('peers, meta, renegotiate', () => {
    expect(peersPayload([{ address: addr, id: NodeId('P') }])).toEqual([7, [[['127.0.0.1', 4444], 'P']]]);
    expect(chordMetaPayload(true)).toEqual([5, '1']);
    expect(renegotiateCompressionPayload([0x13])).toEqual([1, [0x13]]);
    expect(renegotiateResendPayload()).toEqual([9]);
  });
});

describe('classify', () => {
  const key = bin('\x00\xffk');
  const map = new Map<WireValue, WireValue>([[bin('a'), 1]]);
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<WireValue>, WireMessage]> = [
    ['handshake (bin ids)', [5, bin('ID'), bin('PR'), ['h', 1], [0x20]], { _tag: 'Handshake', id: NodeId('ID'), protocolId: 'PR', address: { host: 'h', port: 1 }, compression: [0x20] }],
    ['chord meta', [5, bin('1')], { _tag: 'ChordMeta', leeching: true }],
    ['peers', [7, [[['h', 2], bin('X')]]], { _tag: 'Peers', peers: [{ address: { host: 'h', port: 2 }, id: NodeId('X') }] }],
    ['empty peers', [7, []], { _tag: 'Peers', peers: [] }],
    ["peers request str '*'", [8, '*'], { _tag: 'PeersRequest' }],
    ["peers request bin '*'", [8, bin('*')], { _tag: 'PeersRequest' }],
    ['route request', routeRequestPayload(bin('R'), 'T'), { _tag: 'RouteRequest', requestId: 'R', requestIdRaw: bin('R'), target: NodeId('T'), targetRaw: 'T' }],
    ['route response', routeResponsePayload('R', addr, bin('T')), { _tag: 'RouteResponse', requestId: 'R', requestIdRaw: 'R', address: addr, target: NodeId('T'), targetRaw: bin('T') }],
    ['notify add', chordNotifyPayload(key, false), { _tag: 'ChordNotify', key: '\x00\xffk', keyRaw: key, deleted: false }],
    ['notify delete', [6, key, bin('del')], { _tag: 'ChordNotify', key: '\x00\xffk', keyRaw: key, deleted: true }],
    ['chord store', chordStorePayload(bin('sha1'), 'K', null), { _tag: 'ChordStore', table: 'sha1', tableRaw: bin('sha1'), key: 'K', keyRaw: 'K', value: null }],
    ['chord retrieve', chordRetrievePayload('sha1', bin('K')), { _tag: 'ChordRetrieve', table: 'sha1', tableRaw: 'sha1', key: 'K', keyRaw: bin('K') }],
    ['chord retrieved', chordRetrievedPayload('sha1', 'K', 3), { _tag: 'ChordRetrieved', table: 'sha1', tableRaw: 'sha1', key: 'K', keyRaw: 'K', value: 3 }],
    ['chord delta', chordDeltaPayload('sha1', 'K', map), { _tag: 'ChordDelta', table: 'sha1', tableRaw: 'sha1', key: 'K', keyRaw: 'K', delta: map }],
    ['sync set', syncStorePayload(key, 'v'), { _tag: 'SyncStore', key: '\x00\xffk', keyRaw: key, value: 'v' }],
    ['sync state', syncStatePayload(key, 'v', 'O', 9), { _tag: 'SyncState', key: '\x00\xffk', keyRaw: key, value: 'v', owner: NodeId('O'), ownerRaw: 'O', timestamp: 9 }],
    ['sync state, int64 timestamp', [0x0b, key, 'v', 'O', 2n ** 53n + 2n], { _tag: 'SyncState', key: '\x00\xffk', keyRaw: key, value: 'v', owner: NodeId('O'), ownerRaw: 'O', timestamp: 2 ** 53 + 2 }],
    ['sync delta', syncDeltaPayload(key, map), { _tag: 'SyncDelta', key: '\x00\xffk', keyRaw: key, delta: map }],
    ['user broadcast', [0, 'x', 1], { _tag: 'User', subFlag: 0, payload: [0, 'x', 1] }],
    ['user whisper', [2, bin('psst'), [1, 'a']], { _tag: 'User', subFlag: 2, payload: [2, bin('psst'), [1, 'a']] }],
    ['ping sub-flag', [3], { _tag: 'User', subFlag: 3, payload: [3] }],
    ['unknown sub-flag', [0x40, 1], { _tag: 'User', subFlag: 0x40, payload: [0x40, 1] }],
    ['no sub-flag', [], { _tag: 'User', subFlag: undefined, payload: [] }],
    ['str sub-flag', ['x', 1], { _tag: 'User', subFlag: undefined, payload: ['x', 1] }],
    ['compression op outside renegotiate', [1, [0x13]], { _tag: 'User', subFlag: 1, payload: [1, [0x13]] }],
  ];
  it.each(cases)('%s', (_name, payload, expected) => {
    expect(whisper(payload)).toEqual(E.right(expected));
    // The encode direction: decoding what we encode gives the message back.
    expect(classifyPayload(2, encodeMessage(expected))).toEqual(E.right(expected));
  });

  it('reads a user key as its bytes: a str as UTF-8, so both seeds name one key alike', () => {
    const keyOf = (k: string | Uint8Array): unknown => {
      const r = classifyPayload(0, [6, k]);
      return E.isRight(r) && r.right._tag === 'ChordNotify' ? r.right.key : undefined;
    };
    expect(keyOf('é')).toBe('\xc3\xa9');
    expect(keyOf(new Uint8Array([0xc3, 0xa9]))).toBe('\xc3\xa9');
    expect(keyOf(new Uint8Array([0xe9]))).toBe('\xe9');
    expect(keyOf('plain')).toBe('plain');
    const sync = classifyPayload(0, [0x0b, 'café', 1]);
    expect(E.isRight(sync) && sync.right._tag === 'SyncStore' && sync.right.key).toBe('caf\xc3\xa9');
  });

  it('renegotiate ops only under msgType 0x01', () => {
    expect(classifyPayload(1, [1, [0x13, 0x11]])).toEqual(E.right({ _tag: 'RenegotiateCompression', methods: [0x13, 0x11] }));
    expect(classifyPayload(1, [9])).toEqual(E.right({ _tag: 'RenegotiateResend' }));
    // Any other renegotiate op falls through to the ordinary dispatch (§4.6).
    expect(classifyPayload(1, [7, []])).toEqual(E.right({ _tag: 'Peers', peers: [] }));
  });

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<WireValue>]> = [
    ['handshake with a numeric id', [5, 7, 'PR', ['h', 1], []]],
    ['handshake with a bad address', [5, 'ID', 'PR', ['h'], []]],
    ['handshake with a bad port', [5, 'ID', 'PR', ['h', 70000], []]],
    ['handshake with a bad compression list', [5, 'ID', 'PR', ['h', 1], ['zlib']]],
    ['0x05 of length 3', [5, 'a', 'b']],
    ['meta other than 0/1', [5, '2']],
    ['peers not a list', [7, 'x']],
    ['peers entry malformed', [7, [['h', 1]]]],
    ["request other than '*'", [8, 'x']],
    ['response with a bad pair', [0x0a, 'R', ['h', 1]]],
    ['store with a map table', [0x0b, new Map(), 'K', 1]],
    ['delta without a map', [0x11, 'sha1', 'K', 1]],
    ['sync state with a str timestamp', [0x0b, 'k', 'v', 'o', 'ts']],
    ['0x0B of length 2', [0x0b, 'k']],
  ];
  it.each(bad)('BadMessage: %s', (_name, payload) => {
    const r = whisper(payload);
    expect(E.isLeft(r) && r.left).toMatchObject({ _tag: 'BadMessage', msgType: 2, subFlag: payload[0] });
  });
  // Node ids, protocol ids and hosts are remembered (routing table, address book, directory):
  // each is bounded, so no entry can hold a whole frame. At the bound they still decode.
  const longId = 'A'.repeat(NODE_ID_CHARS_MAX + 1);
  const longHost = 'h'.repeat(HOST_CHARS_MAX + 1);
  const tooLong: ReadonlyArray<[string, ReadonlyArray<WireValue>]> = [
    ['handshake id', handshakePayload(NodeId(longId), 'P', addr, [])],
    ['handshake protocol id', handshakePayload(NodeId('ME'), longId, addr, [])],
    ['handshake host', handshakePayload(NodeId('ME'), 'P', { host: longHost, port: 1 }, [])],
    ['peers entry id (bin)', peersPayload([{ address: addr, id: NodeId('X') }]).map((v, i) => (i === 1 ? [[['h', 1], bin(longId)]] : v))],
    ['peers entry host', peersPayload([{ address: { host: longHost, port: 1 }, id: NodeId('X') }])],
    ['route request target', routeRequestPayload('R', NodeId(longId))],
    ['route response target', routeResponsePayload('R', addr, NodeId(longId))],
  ];
  it.each(tooLong)('BadMessage: a %s past its bound', (_name, payload) => {
    const r = whisper(payload);
    expect(E.isLeft(r) && r.left).toMatchObject({ _tag: 'BadMessage', msgType: 2, subFlag: payload[0] });
  });
  it('ids and hosts at their bounds decode', () => {
    const id = NodeId('A'.repeat(NODE_ID_CHARS_MAX));
    const host = 'h'.repeat(HOST_CHARS_MAX);
    expect(E.isRight(whisper(handshakePayload(id, 'P'.repeat(NODE_ID_CHARS_MAX), { host, port: 1 }, [])))).toBe(true);
    expect(E.isRight(whisper(peersPayload([{ address: { host, port: 1 }, id }])))).toBe(true);
    expect(E.isRight(whisper(routeResponsePayload('R', { host, port: 1 }, id)))).toBe(true);
  });
  it('renegotiate compression with a non-list is BadMessage', () => {
    expect(E.isLeft(classifyPayload(1, [1, 'x']))).toBe(true);
  });
  // A receiver tries the peer's methods on every frame: a compression list is bounded (the seeds
  // send one to five entries), in a handshake and in a renegotiate alike, through the codec.
  it('a compression list past COMPRESSION_LIST_MAX is BadMessage, one at the bound decodes', () => {
    const atBound = new Array<number>(COMPRESSION_LIST_MAX).fill(0x13);
    const past = [...atBound, 0x11];
    const flood = new Array<number>(65_500).fill(0x13);
    expect(E.isRight(whisper(handshakePayload(NodeId('ME'), 'P', addr, atBound)))).toBe(true);
    expect(classifyPayload(1, [1, atBound])).toEqual(E.right({ _tag: 'RenegotiateCompression', methods: atBound }));
    for (const list of [past, flood]) {
      const hs = whisper(handshakePayload(NodeId('ME'), 'P', addr, list));
      expect(E.isLeft(hs) && hs.left).toMatchObject({ _tag: 'BadMessage', msgType: 2, subFlag: 5 });
      const re = classifyPayload(1, [1, list]);
      expect(E.isLeft(re) && re.left).toMatchObject({ _tag: 'BadMessage', msgType: 1, subFlag: 1 });
      // The reason names the bound, not the list.
      expect(E.isLeft(re) && re.left._tag === 'BadMessage' && re.left.detail.length).toBeLessThan(100);
    }
  });
  it("the seeds' lists decode as sent (js2p [0x13, 0x11], py2p [0x20, 0x13, 0x11, 0x10, 0x12])", () => {
    for (const list of [[0x13, 0x11], [0x20, 0x13, 0x11, 0x10, 0x12], []]) {
      expect(whisper(handshakePayload(NodeId('ME'), 'P', addr, list))).toMatchObject(E.right({ _tag: 'Handshake', compression: list }));
    }
  });
});
