// Codec benchmark: encode + decode messages per second, ts2p against js2p 0.7.870 in the same run.
//
// One operation = build a message, produce its framed bytes, then take those bytes through the
// receive path back to a message (ts2p: as a node's onBytes takes a frame: the frame decoder, openFrame,
// decodeOpened and messageOf; js2p: InternalMessage.feed_string).
// Cases: a small message (three 10-byte packets) and a 1 KiB message, uncompressed and zlib.
import { createRequire } from 'node:module';
import { compressionFlags } from '../src/core/flags.js';
import { frameDecoder, HEADER_BYTES, pushBytes, wholeFrame } from '../src/core/wire/framing.js';
import { decodeOpened, encodeFrame, makeMessage, messageOf, openFrame } from '../src/core/wire/packets.js';
import { packValue, unpackScanned } from '../src/core/wire/msgpack.js';
import type { WireValue } from '../src/core/wire/value.js';
import { nodeCapabilities as caps } from '../src/shell/caps.js';

interface Js2pMessage {
  readonly string: Buffer;
}
interface Js2pBase {
  readonly InternalMessage: {
    new (msgType: number, sender: unknown, payload: unknown[], compression: number[], time: number): Js2pMessage;
    feed_string(bytes: Buffer, sizeless: boolean, compression: number[]): { readonly packets: unknown[] };
  };
}

const require = createRequire(import.meta.url);
// js2p prints two warnings when it loads (maximum message size, snappy missing); keep them out of the figures.
const warn = console.warn;
const log = console.log;
console.warn = (): void => undefined;
console.log = (): void => undefined;
const js2p = (require('js2p') as { base: Js2pBase }).base;
console.warn = warn;
console.log = log;

const SENDER = 'A9fCGxhKhZrLvRo9KBfHCa12uQ7EhxmYzR1YFL4AWmFC86VCio7nPM9zkQ4orqomCH';
const T = 1500000000;
const MAX = 16 * 1024 * 1024;

// A fixed pseudo-random text, so zlib has real work to do on the 1 KiB message.
let seed = 12345;
const letter = (): string => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return String.fromCharCode(97 + (seed % 26));
};
const text = (n: number): string => Array.from({ length: n }, letter).join('');

const cases: ReadonlyArray<{ readonly name: string; readonly payload: ReadonlyArray<WireValue> }> = [
  { name: 'small (3 x 10 B)', payload: [0, text(10), text(10), text(10)] },
  { name: '1 KiB', payload: [0, text(1024)] },
];

const ts2pOp = (payload: ReadonlyArray<WireValue>, method: number | undefined): (() => void) => {
  const list = method === undefined ? [] : [method];
  let decoder = frameDecoder(MAX);
  return () => {
    const frame = encodeFrame(caps, makeMessage(caps, 0, SENDER, payload, T), method);
    // As a node's receive path does: a chunk that is one whole frame is taken as it is, anything
    // else goes through the incremental decoder.
    let body = frame;
    let at = HEADER_BYTES;
    if (!wholeFrame(decoder, frame)) {
      const r = pushBytes(decoder, frame);
      decoder = r.decoder;
      body = r.frames[0]!;
      at = 0;
    }
    const opened = openFrame(caps, body, at, list, MAX);
    const decoded = opened._tag === 'Opened' ? decodeOpened(opened) : opened;
    if (decoded._tag !== 'Decoded' || messageOf(decoded).payload.length !== payload.length) throw new Error('ts2p decode failed');
  };
};

const js2pOp = (payload: ReadonlyArray<WireValue>, method: number | undefined): (() => void) => {
  const list = method === undefined ? [] : [method];
  return () => {
    const bytes = new js2p.InternalMessage(0, SENDER, [...payload], list, T).string;
    const back = js2p.InternalMessage.feed_string(bytes, false, list);
    if (back.packets.length !== payload.length + 3) throw new Error('js2p decode failed');
  };
};

/** Operations per second over about `ms` milliseconds, after a warm-up. */
const measure = (op: () => void, ms: number): number => {
  // Each side starts from a collected heap, so neither pays for the other's garbage.
  (globalThis as { gc?: () => void }).gc?.();
  const warmUntil = performance.now() + ms / 4;
  while (performance.now() < warmUntil) for (let i = 0; i < 100; i++) op();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 100; i++) op();
    n += 100;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
};

// The machine may be shared: measure ts2p and js2p in alternation over several rounds and report
// the median of each, so a burst of outside load hits both sides alike.
// Every measurement starts from a collected heap (`npm run bench:codec` passes --expose-gc): in
// alternation, one side would otherwise pay for collecting the garbage the other left behind.
const ms = Number(process.env['BENCH_MS'] ?? 400);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(11);
console.log(
  `codec benchmark: encode + decode per second, median of ${rounds} alternating rounds of ${ms} ms, Node ${process.version}` +
    ((globalThis as { gc?: unknown }).gc === undefined ? ' (no --expose-gc: rounds inherit each other\'s garbage)' : ', heap collected before each round'),
);
/**
 * Measures `oursOp` and `theirsOp` in alternation and prints one row: the medians and their ratio,
 * then the lowest and highest ratio of a round to the round of the other side just after it, so
 * each row shows how much the machine moved while it was measured.
 */
const compare = (name: string, label: string, oursOp: () => void, theirsOp: () => void, note = ''): void => {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(measure(oursOp, ms));
    theirs.push(measure(theirsOp, ms));
  }
  const a = median(ours);
  const b = median(theirs);
  const paired = ours.map((x, i) => x / theirs[i]!);
  const spread = `${Math.min(...paired).toFixed(1)}–${Math.max(...paired).toFixed(1)}`.padStart(12);
  console.log(`${name.padEnd(18)}${label.padEnd(13)}${fmt(a)}${fmt(b)}${`${(a / b).toFixed(1)}x`.padStart(8)}${spread}${note}`);
};

console.log(
  `${'message'.padEnd(18)}${'compression'.padEnd(13)}${'ts2p'.padStart(11)}${'js2p'.padStart(11)}${'ratio'.padStart(8)}${'by round'.padStart(12)}`,
);
for (const c of cases) {
  for (const [label, method] of [['none', undefined], ['zlib', compressionFlags.zlib]] as const) {
    compare(c.name, label, ts2pOp(c.payload, method), js2pOp(c.payload, method));
  }
}

// What the libraries alone cost for the uncompressed small message: one msgpackr pack, one unpack
// and the two SHA-256 digests (the sender's checksum and the receiver's check), with no framing,
// field checks or message records. ts2p cannot be faster than this; the ratio to js2p it would give
// shows how much of the target is within reach of code of ours.
{
  const small = cases[0]!;
  const packets: WireValue[] = [0, SENDER, T, ...small.payload];
  const floorOp = (): void => {
    const bytes = packValue(packets);
    const sent = caps.sha256Latin1!(bytes);
    const back = unpackScanned(bytes) as ReadonlyArray<WireValue>;
    if (caps.sha256Latin1!(bytes) !== sent || back.length !== packets.length) throw new Error('floor round trip failed');
  };
  compare('library floor', 'none', floorOp, js2pOp(small.payload, undefined), '  (small: msgpackr pack + unpack and two SHA-256 only)');
}
