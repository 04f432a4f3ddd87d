/**
 * Broadcast statistics as gossip measurements report them: messages (writes) sent per broadcast,
 * delivery latency quantiles, and deliveries lost. A broadcast is matched to its deliveries by what
 * its message id is a digest of: sender, payload and stamp (the sender's clock in whole seconds
 * when it sent). That triple is looked up the first time a message id is seen, then the id is.
 * So a payload sent again in a later second is a broadcast of its own, and one sent again in the
 * same second is the same message, which the protocol delivers once and so do the statistics.
 */
import { timeSeconds } from '../../core/ids.js';
import type { WireValue } from '../../core/wire/value.js';
import type { DeliveredMessage, NodeId } from '../../core/types.js';

/**
 * A canonical text key for a list of wire values (bin and str stay distinct; safe bigints read as
 * numbers). It never throws: a value that is not a wire value, which a core refuses (a chord
 * value, a handler's reply), keys as `?` and its type, so the trace can still describe the input.
 */
export const wireKey = (values: ReadonlyArray<WireValue>): string => (Array.isArray(values) ? values.map(valueKey).join(',') : valueKey(values));

const valueKey = (v: WireValue): string => {
  if (v === null) return 'z';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return `n${v}`;
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? `n${Number(v)}` : `i${v}`;
  if (typeof v === 'string') return `s${JSON.stringify(v)}`;
  if (v instanceof Uint8Array) return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (v instanceof Map) return `m{${[...v].map(([k, x]) => `${valueKey(k)}:${valueKey(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${(v as ReadonlyArray<WireValue>).map(valueKey).join(',')}]`;
  return `?${typeof v}`;
};

/** 48 bits of a message id as a number: a cheap map key for statistics (collisions negligible). */
const idNumber = (id: Uint8Array): number =>
  (id[0] ?? 0) + (id[1] ?? 0) * 2 ** 8 + (id[2] ?? 0) * 2 ** 16 + (id[3] ?? 0) * 2 ** 24 + (id[4] ?? 0) * 2 ** 32 + (id[5] ?? 0) * 2 ** 40;

/** A message id as hex text. */
export const idHex = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');

/** Latency quantiles in milliseconds of virtual time. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The broadcast workload's figures since the last reset. */
export interface BroadcastSummary {
  /** Broadcasts sent by users (every broadcast command, a repeat in the same second included). */
  readonly broadcasts: number;
  /** Deliveries of those broadcasts, counted at every receiving node. */
  readonly deliveries: number;
  /**
   * Deliveries there would be if every node of the sender's subnet alive at send time got each
   * message. A repeat of an earlier broadcast (same sender and payload, same second of the
   * sender's clock) has its message id, so the protocol rightly delivers the two once: the
   * repeat adds no expected delivery.
   */
  readonly expectedDeliveries: number;
  /** Expected deliveries that did not happen. */
  readonly lost: number;
  /** Writes (frames handed to links) of any kind. */
  readonly writes: number;
  /** Bytes written. */
  readonly bytesWritten: number;
  /** Writes per broadcast (all traffic in the window divided by the broadcasts). */
  readonly writesPerBroadcast: number;
  /** Delivery latency: from the send command to each node's delivery. */
  readonly latencyMs: LatencySummary;
}

/**
 * How long a broadcast's record waits for deliveries, ms of virtual time: after it the record is
 * folded into running totals and a late delivery no longer counts. Nodes drop broadcasts older
 * than a minute by their own clocks, so only a receiver whose clock runs more than 14 minutes
 * behind the sender's could still deliver one.
 */
export const STATS_HORIZON_MS = 15 * 60_000;

interface BroadcastRecord {
  /** `keyOf` the sender and payload, then `@` and the stamp: one key per message id. */
  readonly key: string;
  readonly sentAt: number;
  readonly expected: number;
  /** Broadcast commands sent as this message: 1, more for repeats within its second. */
  sends: number;
  delivered: number;
  /** Past the horizon: in the totals, and deaf to late deliveries. */
  folded: boolean;
}

/** Broadcasts, expected deliveries and deliveries lost, summed over records. */
interface Tally {
  broadcasts: number;
  expected: number;
  lost: number;
}

const addTo = (t: Tally, r: BroadcastRecord): void => {
  t.broadcasts += r.sends;
  t.expected += r.expected;
  t.lost += Math.max(0, r.expected - r.delivered);
};

/** A first-in first-out list read from its head; the dead head is dropped once it outgrows the rest. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Takes items off the head while `take(item)` says so, handing each to `then`. */
  takeWhile(take: (item: T) => boolean, then: (item: T) => void): void {
    while (this.head < this.items.length && take(this.items[this.head]!)) then(this.items[this.head++]!);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** The items still held, oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

/**
 * Collects broadcast figures. Latencies are kept as a count per distinct value (virtual times are
 * whole milliseconds, so a few hundred values at most), not one entry per delivery; a broadcast's
 * record, and a delivered message id's, are kept for `STATS_HORIZON_MS` and then folded into
 * totals. So the memory follows the traffic of the last quarter hour, not the whole run.
 */
export class BroadcastStats {
  private byKey = new Map<string, BroadcastRecord>();
  private byId = new Map<number, BroadcastRecord | null>();
  /** Records in send order. */
  private records = new Fifo<BroadcastRecord>();
  /** Ids of `byId` in first-seen order, with when each was first seen. */
  private ids = new Fifo<{ readonly id: number; readonly at: number }>();
  /** What the records folded so far add up to. */
  private folded: Tally = { broadcasts: 0, expected: 0, lost: 0 };
  private latencies = new Map<number, number>();
  private deliveries = 0;
  private writes = 0;
  private bytes = 0;

  /** Forgets everything (start of a measurement window). */
  reset(): void {
    this.byKey = new Map();
    this.byId = new Map();
    this.records = new Fifo();
    this.ids = new Fifo();
    this.folded = { broadcasts: 0, expected: 0, lost: 0 };
    this.latencies = new Map();
    this.deliveries = 0;
    this.writes = 0;
    this.bytes = 0;
  }

  /**
   * A user broadcast was issued at virtual time `sentAt`, when the sender's clock read `clockMs`.
   * `key` is `keyOf` the sender and its sub-flag and payload. A repeat of a message still held
   * (same key, same second of that clock: the same message id) is counted as a broadcast but
   * adds no record and no expected deliveries; its deliveries are the first one's.
   */
  onBroadcast(key: string, sentAt: number, clockMs: number, expected: number): void {
    this.fold(sentAt);
    const stamped = stampedKey(key, timeSeconds(clockMs));
    const held = this.byKey.get(stamped);
    if (held !== undefined) {
      held.sends++;
      return;
    }
    const rec: BroadcastRecord = { key: stamped, sentAt, expected, sends: 1, delivered: 0, folded: false };
    this.byKey.set(stamped, rec);
    this.records.push(rec);
  }

  /** Records and ids held (they follow the traffic of the last `STATS_HORIZON_MS`). */
  held(): number {
    return this.records.size + this.ids.size;
  }

  /** Folds what is older than the horizon at `now` into the totals. */
  private fold(now: number): void {
    const limit = now - STATS_HORIZON_MS;
    this.records.takeWhile(
      (r) => r.sentAt < limit,
      (r) => {
        r.folded = true;
        addTo(this.folded, r);
        if (this.byKey.get(r.key) === r) this.byKey.delete(r.key);
      },
    );
    this.ids.takeWhile(
      (e) => e.at < limit,
      (e) => this.byId.delete(e.id),
    );
  }

  /** A node delivered a message at virtual time `at`. */
  onDeliver(message: DeliveredMessage, at: number): void {
    const key = idNumber(message.id);
    let rec = this.byId.get(key);
    if (rec === undefined) {
      this.fold(at);
      rec = message.msgType === 0 ? (this.byKey.get(stampedKey(keyOf(message.sender, message.packets), message.time)) ?? null) : null;
      this.byId.set(key, rec);
      this.ids.push({ id: key, at });
    }
    if (rec === null || rec.folded) return;
    rec.delivered++;
    this.deliveries++;
    const ms = at - rec.sentAt;
    this.latencies.set(ms, (this.latencies.get(ms) ?? 0) + 1);
  }

  /** A node wrote bytes to a link. */
  onWrite(byteCount: number): void {
    this.writes++;
    this.bytes += byteCount;
  }

  /** The figures so far. */
  summary(): BroadcastSummary {
    const total: Tally = { ...this.folded };
    for (const r of this.records) addTo(total, r);
    const n = total.broadcasts;
    return {
      broadcasts: n,
      deliveries: this.deliveries,
      expectedDeliveries: total.expected,
      lost: total.lost,
      writes: this.writes,
      bytesWritten: this.bytes,
      writesPerBroadcast: n === 0 ? 0 : this.writes / n,
      latencyMs: quantiles(this.latencies),
    };
  }
}

/** The key a broadcast is matched by: sender id and payload (sub-flag first). */
export const keyOf = (sender: NodeId, packets: ReadonlyArray<WireValue>): string => `${sender}|${wireKey(packets)}`;

/** A `keyOf` key with a message's stamp (seconds): sender, payload and stamp make the message id. */
export const stampedKey = (key: string, timeSeconds: number): string => `${key}@${timeSeconds}`;

/** Quantiles of a multiset given as value → count: the value of rank ⌊q·n⌋ in sorted order. */
export const quantiles = (counts: ReadonlyMap<number, number>): LatencySummary => {
  const values = Float64Array.from(counts.keys()).sort();
  let n = 0;
  let sum = 0;
  for (const v of values) {
    const c = counts.get(v)!;
    n += c;
    sum += v * c;
  }
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const at = (q: number): number => {
    const rank = Math.min(n - 1, Math.floor(q * n));
    let seen = 0;
    for (const v of values) {
      seen += counts.get(v)!;
      if (seen > rank) return v;
    }
    return values[values.length - 1]!;
  };
  return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: values[values.length - 1]! };
};
