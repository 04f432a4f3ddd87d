/**
 * Argument checks shared by the public entry points: the sockets (socket.ts, chord.ts) and the
 * simulator (`ts2p/sim`). Each either returns or throws `BadArgument` with a message naming the
 * argument, before anything is started or queued, so one bad call leaves nothing behind.
 */
import { BadArgument } from './errors.js';

/** A value as an error message shows it: text quoted, objects as JSON where they can be. */
export const shown = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object' || v === null) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

/** Whether `p` is a port number a socket may bind (0 picks a free one): an integer 0–65535. */
export const isPort = (p: unknown): boolean => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535;

/** Throws `BadArgument` unless `host:port` is an address a node can dial (a port 1–65535). */
export const checkDialAddress = (host: unknown, port: unknown): void => {
  if (typeof host !== 'string' || !isPort(port) || port === 0) throw new BadArgument(`bad address ${String(host)}:${String(port)}`);
};

/** Bounds with a narrower range than "a number ≥ 0": a get's quorum is a count of the five tables. */
const LIMIT_RANGES: Readonly<Record<string, readonly [number, number]>> = { voteQuorum: [1, 5] };

/**
 * Throws `BadArgument` unless `limits` is an object whose every entry overrides a bound of
 * `known` (any name when `known` is undefined) with a number ≥ 0, and a bound of
 * `LIMIT_RANGES` with a whole number in its range.
 */
export const checkLimits = (limits: unknown, known: object | undefined): void => {
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) throw new BadArgument(`limits must be an object, got ${String(limits)}`);
  for (const [name, value] of Object.entries(limits)) {
    if ((known !== undefined && !(name in known)) || typeof value !== 'number' || !(value >= 0)) throw new BadArgument(`bad limit ${name}: ${String(value)}`);
    const range = LIMIT_RANGES[name];
    if (range !== undefined && !(Number.isInteger(value) && value >= range[0] && value <= range[1])) {
      throw new BadArgument(`bad limit ${name}: ${String(value)} (a whole number ${range[0]}–${range[1]})`);
    }
  }
};

/** Throws `BadArgument` unless `f` is a function; `what` names it ("a handler"). */
export const checkFunction = (f: unknown, what: string): void => {
  if (typeof f !== 'function') throw new BadArgument(`${what} must be a function`);
};

/** Throws `BadArgument` unless `k` is a chord key: text or bytes. */
export const checkChordKey = (k: unknown): void => {
  if (typeof k !== 'string' && !(k instanceof Uint8Array)) throw new BadArgument('a chord key is a string or bytes');
};

/** Throws `BadArgument` unless `n` is a flag byte (a whole number 0–255); `what` names it. */
export const checkByte = (n: unknown, what: string): void => {
  if (!(Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 255)) throw new BadArgument(`${what} must be a whole number 0–255, got ${shown(n)}`);
};
