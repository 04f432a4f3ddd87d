// Every byte-exact vector of PROTOCOL.md §3 and §9, in both directions.
import * as E from 'fp-ts/lib/Either.js';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { distance, fromBase58, keyPositions, nodeId, protocolId, toBase58 } from '../../src/core/ids.js';
import { classify } from '../../src/core/wire/messages.js';
import { decodeBody, encodeFrame, makeMessage, messageId, messageMsgpack, type InternalMessage } from '../../src/core/wire/packets.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { nodeCapabilities as caps } from '../../src/shell/caps.js';

const T = 1500000000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const bin = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const MAX = 16 * 1024 * 1024;

const decodeFrame = (frameHex: string, compression: ReadonlyArray<number> = []): InternalMessage => {
  const frame = unhex(frameHex);
  expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.length - 4);
  const r = decodeBody(caps, frame.subarray(4), compression, MAX);
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
};

/** Bin values compare as plain bytes (a decoded bin may be a Buffer view). */
const plain = (v: WireValue): unknown =>
  v instanceof Uint8Array ? { bin: hex(v) } : Array.isArray(v) ? (v as ReadonlyArray<WireValue>).map(plain) : v;

const both = (frameHex: string, msgType: number, sender: string | Uint8Array, payload: ReadonlyArray<WireValue>): void => {
  expect(hex(encodeFrame(caps, makeMessage(caps, msgType, sender, payload, T), undefined))).toBe(frameHex);
  const m = decodeFrame(frameHex);
  expect(plain(m.packets as WireValue)).toEqual(plain([msgType, sender, T, ...payload]));
  expect(hex(messageId(m))).toBe(frameHex.slice(8, 72));
};

describe('§3.1 base58', () => {
  const examples: ReadonlyArray<readonly [bigint, string]> = [
    [0n, '1'], [1n, '2'], [57n, 'z'], [58n, '21'], [255n, '5Q'], [3364n, '211'],
    [1000000n, '68GP'], [1500000000n, '3HYtjy'], [2n ** 64n, 'jpXCZedGfVR'],
  ];
  it.each(examples)('%s <-> %s', (n, s) => {
    expect(toBase58(n)).toBe(s);
    expect(fromBase58(s)).toEqual(E.right(n));
  });
  it('rejects the characters js2p maps to -1', () => {
    expect(fromBase58('0OIl')).toEqual(E.left({ _tag: 'BadBase58', index: 0, char: '0' }));
    expect(fromBase58('2O')).toEqual(E.left({ _tag: 'BadBase58', index: 1, char: 'O' }));
  });
});

describe('§3.2 protocol ids', () => {
  const ids: ReadonlyArray<readonly [string, string, string]> = [
    ['', 'Plaintext', '3soAb1XFyvZYyqgFNTxcXvzEBU6p8n821ifyVVANipvt'],
    ['mesh', 'Plaintext', 'EpAmyZWv9rZUKmjQgU3FTUD4GrJHvVEXizmghVBc8eGD'],
    ['chord', 'Plaintext', '7vVFRufXm7t4vppy5LoCeXJznBnahNRjnmsRkbVYet5z'],
    ['sync1', 'Plaintext', 'p7sAnBsK3n5enFXH7vEGQjzS6t6RH1CeEoYekNjr5Jn'],
    ['sync0', 'Plaintext', 'EB8PreScNDAFMALGBs1uyocDXLXCxZKzWEP5oR6VVh2z'],
    ['bootstrap', 'Plaintext', '6QikR2LAXkQcv1C7K1htQdE8xLbLpS7EBbRHZMSQSCBy'],
    ['ford', 'Plaintext', 'HrEywrHqVSNLnFuo6X6o2szZGUbuUt9ENsGVRUeAcF8v'],
    ['mesh', 'SSL', 'EkE9cS4dwjZ8uo8H1pxYe7WrJ3wXgaHfozHQUkb99eHm'],
    ['mesh', 'ws', '57pLfYoGgbS8ntjsL3HTnzhHYs9Pq8pTiLiCYr6yfU7A'],
    ['chord', 'SSL', 'bL2pkj6uxDSnYsiadoxynuiYYshThTuBQUN2sC279bA'],
    ['sync1', 'SSL', 'ANBM6pF8DhyLoKw2PEj8wwg9WbmxbYvmZt4d9ca3nJ7B'],
    ['bootstrap', 'SSL', 'BM9AVgtEtRVrr2J8ce3wgYNWupqD689baCTQ75EfqSoZ'],
    ['bootstrap', 'ws', '9u5AemXoJqgiFJ3oHhcao6UUutjTQ2tEKB6qgiZRhn7U'],
  ];
  it.each(ids)('(%j, %j) -> %s', (subnet, enc, id) => {
    expect(protocolId(caps, subnet, enc)).toBe(id);
  });
});

describe('§3.3 node id', () => {
  it('matches js2p with the fixed salt', () => {
    const mesh = protocolId(caps, 'mesh', 'Plaintext');
    const id = nodeId(caps, { host: '127.0.0.1', port: 4444 }, mesh, '00000000-0000-4000-8000-000000000000');
    expect(id).toBe('A9fCGxhKhZrLvRo9KBfHCa12uQ7EhxmYzR1YFL4AWmFC86VCio7nPM9zkQ4orqomCH');
    expect(E.isRight(fromBase58(id)) && (fromBase58(id) as E.Right<bigint>).right < 2n ** 384n).toBe(true);
  });
});

describe('§9.1 broadcast', () => {
  it('str typing (js2p style)', () => {
    both('000000354aa8316ac07b60e5afa10d08bd00902e0977f569d2532d8809a8f4cbcbecb11f9500a653454e444552ce59682f0000a568656c6c6f', 0, 'SENDER', [0, 'hello']);
    const m = decodeFrame('000000354aa8316ac07b60e5afa10d08bd00902e0977f569d2532d8809a8f4cbcbecb11f9500a653454e444552ce59682f0000a568656c6c6f');
    expect(typeof m.sender).toBe('string');
    expect(typeof m.payload[1]).toBe('string');
    expect(m.senderId).toBe('SENDER');
  });
  it('bin typing (py2p style)', () => {
    const f = '0000003757525065318a724654ba2a64b94c00c9defb25ebcdb468e57dd704a80752f00f9500c40653454e444552ce59682f0000c40568656c6c6f';
    both(f, 0, bin('SENDER'), [0, bin('hello')]);
    const m = decodeFrame(f);
    expect(m.sender).toBeInstanceOf(Uint8Array);
    expect(m.payload[1]).toBeInstanceOf(Uint8Array);
    expect(m.senderId).toBe('SENDER');
  });
});

describe('§9.2 compressed frames', () => {
  const body = '4aa8316ac07b60e5afa10d08bd00902e0977f569d2532d8809a8f4cbcbecb11f9500a653454e444552ce59682f0000a568656c6c6f';
  const deflated = '0540a10e404018fea20b9ec11360dec15f04c1254db1fdec3651f002a2e2010476cd3c80edfa6d8277d044fa2dd3496b86ead917df3b3145a2ff9b5b86a3d09fb5ef11ccd824e5291557c931b072ad54e700';
  const frames: ReadonlyArray<readonly [string, number, string]> = [
    ['py2p zlib (stored block)', 0x13, `00000040789c013500caff${body}8b541710`],
    ['js2p zlib (fixed Huffman)', 0x13, `00000058789c${deflated}8b541710`],
    // The elided middle is the same deflate stream as the js2p zlib frame, in a gzip container.
    ['js2p gzip', 0x11, `000000641f8b08003b59026b00ff${deflated}a9eb538235000000`],
    ['py2p snappy', 0x20, `0000003735d0${body}`],
  ];
  it.each(frames)('%s decodes to the §9.1 message', (_name, method, frame) => {
    const m = decodeFrame(frame, [0x20, 0x13, 0x11].filter((x) => x !== method).concat([method]));
    expect(m.packets).toEqual([0, 'SENDER', T, 0, 'hello']);
    expect(hex(messageId(m))).toBe(body.slice(0, 64));
    expect(hex(messageMsgpack(m))).toBe(body.slice(64));
  });
  it('the reconstructed gzip frame has the published head and tail', () => {
    const f = frames[2]![2];
    expect(f.startsWith('000000641f8b08003b59026b00ff0540a1')).toBe(true);
    expect(f.endsWith('e700a9eb538235000000')).toBe(true);
  });
  it('our zlib and snappy frames are byte-identical to py2p\'s (same stored block, same literal)', () => {
    const m = makeMessage(caps, 0, 'SENDER', [0, 'hello'], T);
    expect(hex(encodeFrame(caps, m, 0x13))).toBe(frames[0]![2]);
    expect(hex(encodeFrame(caps, m, 0x20))).toBe(frames[3]![2]);
  });
  it.each([[0x13, '789c'], [0x11, '1f8b08'], [0x20, '35']])('our 0x%s frames carry their container and decode back', (method, magic) => {
    const m = makeMessage(caps, 0, 'SENDER', [0, 'hello'], T);
    const frame = encodeFrame(caps, m, method);
    expect(hex(frame.subarray(4)).startsWith(magic)).toBe(true);
    const r = decodeBody(caps, frame.subarray(4), [method], MAX);
    expect(E.isRight(r) && hex(messageMsgpack(r.right))).toBe(body.slice(64));
  });
});

describe('§9.3 handshakes', () => {
  const mesh = 'EpAmyZWv9rZUKmjQgU3FTUD4GrJHvVEXizmghVBc8eGD';
  it('js2p (str ids)', () => {
    const f = '000000753343c67f64de006150407a92a3ec454817cf0be2b80a9eabba07aed2c74d25129802a64e4f44454944ce59682f0005a64e4f44454944d92c4570416d795a577639725a554b6d6a51675533465455443447724a4876564558697a6d67685642633865474492a93132372e302e302e31cd115c921311';
    both(f, 2, 'NODEID', [5, 'NODEID', mesh, ['127.0.0.1', 4444], [0x13, 0x11]]);
    expect(classify(decodeFrame(f))).toEqual(
      E.right({ _tag: 'Handshake', id: 'NODEID', protocolId: mesh, address: { host: '127.0.0.1', port: 4444 }, compression: [0x13, 0x11] }),
    );
  });
  it('py2p (bin ids)', () => {
    const f = '0000007a5a8ee83701ae9363bf27c367d4ecf6a99a104ed3af6c4b8a54a68271ed6198629802c4064e4f44454944ce59682f0005c4064e4f44454944c42c4570416d795a577639725a554b6d6a51675533465455443447724a4876564558697a6d67685642633865474492a93132372e302e302e31cd115c952013111012';
    both(f, 2, bin('NODEID'), [5, bin('NODEID'), bin(mesh), ['127.0.0.1', 4444], [0x20, 0x13, 0x11, 0x10, 0x12]]);
    expect(classify(decodeFrame(f))).toEqual(
      E.right({ _tag: 'Handshake', id: 'NODEID', protocolId: mesh, address: { host: '127.0.0.1', port: 4444 }, compression: [0x20, 0x13, 0x11, 0x10, 0x12] }),
    );
  });
});

describe('§9.4 other frames', () => {
  const key58 = toBase58(keyPositions(caps, bin('test')).sha384);
  const cases: ReadonlyArray<readonly [string, string, number, ReadonlyArray<WireValue>, unknown]> = [
    ['peers', '00000046d45618459bf44930f1736b4b80fa419283831df6cc4066069f75c20926deafb19502a64e4f44454944ce59682f0007919292a93132372e302e302e31cd115ca6504545524944',
      2, [7, [[['127.0.0.1', 4444], 'PEERID']]], { _tag: 'Peers', peers: [{ address: { host: '127.0.0.1', port: 4444 }, id: 'PEERID' }] }],
    ['request *', '0000003105d366df0d81da1f93f31fa6bccb72d9a457bae63803bb3a70017bfaa20d2df89502a64e4f44454944ce59682f0008a12a',
      2, [8, '*'], { _tag: 'PeersRequest' }],
    ['renegotiate compression', '0000003219f389ecdd664cf20e09021bc83fc0b7bb3279b65ffcdb0af6e7a6cb6796b00d9501a64e4f44454944ce59682f0001921311',
      1, [1, [0x13, 0x11]], { _tag: 'RenegotiateCompression', methods: [0x13, 0x11] }],
    ['renegotiate resend', '0000002f05f00a71b4776227b6328600b47c0015ea77db3609620c24ea4d93186aad98d59401a64e4f44454944ce59682f0009',
      1, [9], { _tag: 'RenegotiateResend' }],
    ['chord meta', '00000031f3c617cba1841c23d400e11a24e0e92d93404d2510981af3dc2b12ffbe5da3199502a64e4f44454944ce59682f0005a130',
      2, [5, '0'], { _tag: 'ChordMeta', leeching: false }],
    ['chord store', '00000081d1e77a1670950ad3528d87df33783a39a3a111a5fcd51aa7205ce932348b0be29702a64e4f44454944ce59682f000ba6736861333834d942354d39724757576833556d487055346247586634374278617631345a5766464a4a764c726f78726b3258674a417a5732503573477a577052536b577977626a617a6ba676616c756531',
      2, [0x0b, 'sha384', key58, 'value1'], { _tag: 'ChordStore', table: 'sha384', tableRaw: 'sha384', key: key58, keyRaw: key58, value: 'value1' }],
  ];
  it.each(cases)('%s', (_name, f, msgType, payload, classified) => {
    both(f, msgType, 'NODEID', payload);
    expect(classify(decodeFrame(f))).toEqual(E.right(classified));
  });
});

describe('§9.5 chord hashes', () => {
  it('get_hashes("test") in base58', () => {
    const p = keyPositions(caps, bin('test'));
    expect({
      sha1: toBase58(p.sha1), sha224: toBase58(p.sha224), sha256: toBase58(p.sha256), sha384: toBase58(p.sha384), sha512: toBase58(p.sha512),
    }).toEqual({
      sha1: '7DBXKb5TYkrd5skvuyqPy83p2TG6zyudMemvR7cDum4H3QWsU9wPoSm4B9b3A6opST',
      sha224: '6JjbxX3LAiCtTQz1wowsSdWUjZbEQqgAwUd1P4g9fPtKA2U8gPStvvuKqu4wC1bqPM',
      sha256: '6rQZuc7TUsJisSjiJG1VSAS9yyu6T1x7ESqijmwdadWW3h2hd8P2B4LqXb14WjTsVH',
      sha384: '5M9rGWWh3UmHpU4bGXf47Bxav14ZWfFJJvLroxrk2XgJAzW2P5sGzWpRSkWywbjazk',
      sha512: '5mAN4LS8t6YxHNJ9MkxEKivJXv287BsXEdPd8UBgsReG1ALx5RfqaRQLRP3Jpr5xsHAcYhixyVFggBKcaucdPq6E',
    });
  });
  it('distance(5, 3) = 2^384 - 2', () => {
    expect(distance(5n, 3n)).toBe(2n ** 384n - 2n);
    expect(distance(3n, 5n)).toBe(2n);
  });
});

describe('§9.6 frames produced by js2p itself (in this process)', () => {
  // js2p is a CommonJS package; its base module builds and parses frames.
  const base = createRequire(import.meta.url)('js2p').base as {
    InternalMessage: {
      new (t: number, s: unknown, p: unknown[], c: number[], time: number): { string: Buffer; id: Buffer };
      feed_string(s: Buffer, sizeless: boolean, c: number[]): { packets: unknown[]; id: Buffer };
    };
  };
  const messages: ReadonlyArray<readonly [number, string, ReadonlyArray<WireValue>]> = [
    [0, 'SENDER', [0, 'hello']],
    [2, 'NODEID', [5, 'NODEID', 'EpAmyZWv9rZUKmjQgU3FTUD4GrJHvVEXizmghVBc8eGD', ['127.0.0.1', 4444], [0x13, 0x11]]],
    [0, 'x'.repeat(66), [0, 'a'.repeat(1000), -7, 2 ** 31 - 1, [1, [2, [3]]]]],
  ];
  it.each([[[] as number[]], [[0x13]], [[0x11]]])('ts2p decodes js2p and js2p decodes ts2p (compression %j)', (list) => {
    for (const [type, sender, payload] of messages) {
      const theirs = new base.InternalMessage(type, sender, [...payload], list, T).string;
      const ours = encodeFrame(caps, makeMessage(caps, type, sender, payload, T), list[0]);
      const r = decodeBody(caps, new Uint8Array(theirs).subarray(4), list, MAX);
      expect(E.isRight(r) && r.right.packets).toEqual([type, sender, T, ...payload]);
      const back = base.InternalMessage.feed_string(Buffer.from(ours), false, list);
      expect(back.packets).toEqual([type, sender, T, ...payload]);
      expect(hex(back.id)).toBe(E.isRight(r) ? hex(messageId(r.right)) : '');
    }
  });
});

describe('public API (src/index.ts)', () => {
  it('Protocol, InternalMessage, base58 and flags as the package exports them', async () => {
    const api = await import('../../src/index.js');
    expect(new api.Protocol('mesh', 'Plaintext').id).toBe('EpAmyZWv9rZUKmjQgU3FTUD4GrJHvVEXizmghVBc8eGD');
    expect(api.toBase58(255n)).toBe('5Q');
    expect(api.fromBase58('5Q')).toEqual(E.right(255n));
    expect(api.flags.snappy).toBe(0x20);
    const m = new api.InternalMessage(0, 'SENDER', [0, 'hello'], T);
    expect(hex(m.bytes)).toBe('000000354aa8316ac07b60e5afa10d08bd00902e0977f569d2532d8809a8f4cbcbecb11f9500a653454e444552ce59682f0000a568656c6c6f');
    expect(m.packets).toEqual([0, 'SENDER', T, 0, 'hello']);
    const z = new api.InternalMessage(0, 'SENDER', [0, 'hello'], T, [0x11, 0x13]);
    expect(z.compressionUsed).toBe(0x13);
    const back = api.InternalMessage.decode(z.bytes, [0x11, 0x13]);
    expect(E.isRight(back) && back.right.payload).toEqual([0, 'hello']);
    expect(E.isRight(back) && hex(back.right.id)).toBe(hex(m.id));
    expect(api.InternalMessage.decode(m.bytes.subarray(0, 20))).toEqual(E.left({ _tag: 'LengthMismatch', declared: 53, actual: 16 }));
    expect(api.InternalMessage.decode(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toMatchObject(E.left({ _tag: 'FrameTooLarge' }));
  });
});
