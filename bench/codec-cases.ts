/**
 * What bench:codec measures, shared with the machine check of the other benchmarks: the messages
 * (a small one of three 10-byte packets and a 1 KiB one), js2p 0.7.870's encode + decode of one,
 * and the loop that measures an operation's rate.
 *
 * js2p's rate on the small message is also a figure of how fast the machine runs at the moment:
 * the machine is shared and its speed moves between runs, so a benchmark whose target is against
 * real time (bench:sim) prints it beside its own figures.
 */
import { createRequire } from 'node:module';
import type { WireValue } from '../src/core/wire/value.js';

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

/** The sender id every measured message carries. */
export const SENDER = 'A9fCGxhKhZrLvRo9KBfHCa12uQ7EhxmYzR1YFL4AWmFC86VCio7nPM9zkQ4orqomCH';
/** The time stamp every measured message carries. */
export const T = 1500000000;

// A fixed pseudo-random text, so zlib has real work to do on the 1 KiB message.
let seed = 12345;
const letter = (): string => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return String.fromCharCode(97 + (seed % 26));
};
const text = (n: number): string => Array.from({ length: n }, letter).join('');

/** The measured messages' payloads: the small one first. */
export const cases: ReadonlyArray<{ readonly name: string; readonly payload: ReadonlyArray<WireValue> }> = [
  { name: 'small (3 x 10 B)', payload: [0, text(10), text(10), text(10)] },
  { name: '1 KiB', payload: [0, text(1024)] },
];

/** js2p building a message's bytes and feeding them back through its decoder, as one operation. */
export const js2pOp = (payload: ReadonlyArray<WireValue>, method: number | undefined): (() => void) => {
  const list = method === undefined ? [] : [method];
  return () => {
    const bytes = new js2p.InternalMessage(0, SENDER, [...payload], list, T).string;
    const back = js2p.InternalMessage.feed_string(bytes, false, list);
    if (back.packets.length !== payload.length + 3) throw new Error('js2p decode failed');
  };
};

/** Operations per second over about `ms` milliseconds, after a warm-up, from a collected heap when gc is exposed. */
export const measure = (op: () => void, ms: number): number => {
  // Each measurement starts from a collected heap, so none pays for garbage another left.
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

/** The median of some figures. */
export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * js2p's small-message encode + decode rate now (the median of `rounds` measurements of `ms`):
 * bench:codec's js2p figure for that message, taken as a reading of the machine's speed.
 */
export const machineRate = (rounds = 3, ms = 400): number => {
  const op = js2pOp(cases[0]!.payload, undefined);
  return median(Array.from({ length: rounds }, () => measure(op, ms)));
};
