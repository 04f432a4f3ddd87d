// Core benchmark: received broadcasts one node's core handles per second.
//
// One operation = `step` on a BytesReceived holding one whole broadcast frame from a peer: frame
// decode, decompress, checksum, msgpack, expiry and de-duplication, classification, relay of the
// original bytes to four other peers (one frame per compression method) and the local Deliver.
// Every frame is distinct (no duplicates), so every one is relayed. Beside it, the bare codec on
// the same bodies (decodeBody alone) and js2p 0.7.870's decode of the same frames
// (InternalMessage.feed_string), measured in the same run. Links: uncompressed, snappy, zlib.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { defaultLimits } from '../src/core/config.js';
import { compressionFlags } from '../src/core/flags.js';
import { latin1Bytes, nodeId, protocolId } from '../src/core/ids.js';
import { initNode, nodeStatus, step, type Env } from '../src/core/node.js';
import { ConnId } from '../src/core/types.js';
import { decodeBody, encodeFrame, makeMessage } from '../src/core/wire/packets.js';
import { nodeCapabilities as caps } from '../src/shell/caps.js';

interface Js2pBase {
  readonly InternalMessage: { feed_string(bytes: Buffer, sizeless: boolean, compression: number[]): unknown };
}
const require = createRequire(import.meta.url);
const quiet = <A>(f: () => A): A => {
  const [warn, log] = [console.warn, console.log];
  console.warn = (): void => undefined;
  console.log = (): void => undefined;
  try {
    return f();
  } finally {
    console.warn = warn;
    console.log = log;
  }
};
const js2p = quiet(() => (require('js2p') as { base: Js2pBase }).base);

const N = Number(process.env['BENCH_N'] ?? 200_000);
const T0 = 1_500_000_000_000;
const proto = protocolId(caps, 'mesh', 'Plaintext');
const env = (i: number, compression: ReadonlyArray<number>): Env => {
  const outAddr = { host: `10.0.0.${i}`, port: 4444 };
  return { caps, config: { id: nodeId(caps, outAddr, proto, `s${i}`), protocol: { subnet: 'mesh', encryption: 'Plaintext', id: proto }, outAddr, compression, seed: i, ...defaultLimits } };
};

const all = [compressionFlags.zlib, compressionFlags.gzip, compressionFlags.snappy];
const originator = env(99, []).config.id;

const setup = (method: number | undefined) => {
  const me = env(1, all);
  const st = initNode(me, T0);
  const list = method === undefined ? [] : [method];
  for (let i = 0; i < 5; i++) {
    const peer = env(i + 2, list);
    const conn = ConnId(`a${i}`);
    step(me, st, { _tag: 'ConnectionAccepted', at: T0, conn, remote: peer.config.outAddr });
    const hs = makeMessage(caps, 2, peer.config.id, [5, peer.config.id, latin1Bytes(proto), [peer.config.outAddr.host, 4444], list], T0 / 1000);
    step(me, st, { _tag: 'BytesReceived', at: T0, conn, bytes: encodeFrame(caps, hs, undefined) });
  }
  return { me, st };
};

// Distinct broadcasts of about 100 bytes of payload, framed as the arrival link would send them.
const frames = (method: number | undefined): Uint8Array[] =>
  Array.from({ length: N }, (_, i) =>
    encodeFrame(caps, makeMessage(caps, 0, originator, [0, `broadcast number ${i} `.padEnd(100, 'x')], T0 / 1000), method),
  );

const ROUNDS = 3;
const perSecond = (n: number, ms: number): number => (n / ms) * 1000;
const fmt = (x: number): string => `${Math.round(x).toLocaleString('en-US')}/s`;
/** Median and best of the rounds: the machine is shared, so one round can be unlucky. */
const summary = (xs: ReadonlyArray<number>): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${fmt(s[Math.floor(s.length / 2)]!)} (best ${fmt(s[s.length - 1]!)})`;
};

const timeIt = (f: () => void): number => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

const bench = (name: string, method: number | undefined): void => {
  const fs = frames(method);
  const list = method === undefined ? [] : [method];
  // Bare codec: decodeBody on the bodies (header stripped), same frames.
  const bodies = fs.map((f) => f.subarray(4));
  for (let i = 0; i < 20_000; i++) decodeBody(caps, bodies[i % N]!, list, defaultLimits.frameBytesMax);
  const codec: number[] = [];
  const core: number[] = [];
  const js: number[] = [];
  // js2p on Node 20 has no snappy (its native module does not build), so it cannot read snappy frames.
  const jsN = method === compressionFlags.snappy ? 0 : Math.min(N, 50_000);
  const bufs = fs.slice(0, jsN).map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
  const warm = setup(method);
  for (let i = 0; i < 20_000; i++) step(warm.me, warm.st, { _tag: 'BytesReceived', at: T0 + i, conn: ConnId('a0'), bytes: fs[i]! });
  for (let round = 0; round < ROUNDS; round++) {
    codec.push(perSecond(N, timeIt(() => bodies.forEach((b) => decodeBody(caps, b, list, defaultLimits.frameBytesMax)))));
    if (jsN > 0) js.push(perSecond(jsN, timeIt(() => bufs.forEach((b) => js2p.InternalMessage.feed_string(b, false, list)))));
    // The core: a fresh node each round, so every frame is new to it.
    const { me, st } = setup(method);
    let writes = 0;
    core.push(
      perSecond(
        N,
        timeIt(() => {
          for (let i = 0; i < N; i++) {
            const [, fx] = step(me, st, { _tag: 'BytesReceived', at: T0 + (i >> 8), conn: ConnId('a0'), bytes: fs[i]! });
            writes += fx.length - 1;
          }
        }),
      ),
    );
    const s = nodeStatus(st);
    if (s.delivered !== N || writes !== 4 * N) throw new Error(`expected ${N} deliveries and ${4 * N} writes, got ${s.delivered} and ${writes}`);
  }
  console.log(`${name.padEnd(13)} core step ${summary(core)}`);
  console.log(`${''.padEnd(13)} bare decodeBody ${summary(codec)}   js2p feed_string ${jsN === 0 ? 'n/a' : summary(js)}`);
};

console.log(`ts2p core: received broadcasts per second, one node, relayed to 4 peers (${N.toLocaleString('en-US')} distinct frames, ~150 B msgpack)`);
console.log(`node ${process.version}, ${ROUNDS} rounds each (median, best); target >= 200,000/s on uncompressed links`);
bench('uncompressed', undefined);
bench('snappy', compressionFlags.snappy);
bench('zlib', compressionFlags.zlib);
