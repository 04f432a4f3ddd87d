// Codec benchmark: encode + decode messages per second, ts2p against js2p 0.7.870 in the same run.
//
// One operation = build a message, produce its framed bytes, then take those bytes through the
// receive path back to a message (ts2p: as a node's onBytes takes a frame: the frame decoder, openFrame,
// decodeOpened and messageOf; js2p: InternalMessage.feed_string).
// Cases: a small message (three 10-byte packets) and a 1 KiB message, uncompressed and zlib.
import { compressionFlags } from '../src/core/flags.js';
import { frameDecoder, HEADER_BYTES, pushBytes, wholeFrame } from '../src/core/wire/framing.js';
import { decodeOpened, encodeFrame, makeMessage, messageOf, openFrame } from '../src/core/wire/packets.js';
import { packValue, unpackScanned } from '../src/core/wire/msgpack.js';
import type { WireValue } from '../src/core/wire/value.js';
import { nodeCapabilities as caps } from '../src/shell/caps.js';
import { cases, js2pOp, measure, median, SENDER, T } from './codec-cases.js';

const MAX = 16 * 1024 * 1024;

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

// The machine may be shared: measure ts2p and js2p in alternation over several rounds and report
// the median of each, so a burst of outside load hits both sides alike.
// Every measurement starts from a collected heap (`npm run bench:codec` passes --expose-gc): in
// alternation, one side would otherwise pay for collecting the garbage the other left behind.
const ms = Number(process.env['BENCH_MS'] ?? 400);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
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
