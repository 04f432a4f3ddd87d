/**
 * A received user message, as the public API shows it: the seeds' `Message` (time, sender,
 * protocol, packets, id) with a `reply` that answers the sender directly or, when it is not a
 * neighbour, through the protocol's request/response route.
 */
import type { ProtocolInfo } from '../../core/config.js';
import type { ConnId, DeliveredMessage, NodeId } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import type { ReplyFailed } from './errors.js';
import { footprint } from '../../core/wire/footprint.js';

/** How a reply reached its target: directly, or through a route found by request/response. */
export interface ReplyOutcome {
  readonly routed: boolean;
}

/** A reply or whisper awaiting its outcome: it resolves once, or fails with `ReplyFailed`. */
export interface PendingReply {
  readonly to: NodeId;
  readonly resolve: (o: ReplyOutcome) => void;
  readonly reject: (e: ReplyFailed) => void;
}

/** What a message needs from its socket to reply. */
export interface ReplyChannel {
  readonly protocol: ProtocolInfo;
  /** Sends a reply; settles when it reached the target or failed. */
  readonly reply: (to: NodeId, packets: ReadonlyArray<WireValue>) => Promise<ReplyOutcome>;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A message handed to the user. */
export class Message {
  /** Seconds since the epoch, as the sender stamped it. */
  readonly time: number;
  /** The originator's node id. */
  readonly sender: NodeId;
  /** The payload; `packets[0]` is the sub-flag (0x00 broadcast, 0x02 whisper). */
  readonly packets: ReadonlyArray<WireValue>;
  /** The message id: SHA-256 of its msgpack bytes (the frame checksum). */
  readonly id: Uint8Array;
  /** The main flag it travelled with. */
  readonly msgType: number;
  /** The connection it arrived on. */
  readonly conn: ConnId;

  constructor(
    delivered: DeliveredMessage,
    private readonly channel: ReplyChannel,
  ) {
    this.time = delivered.time;
    this.sender = delivered.sender;
    this.packets = delivered.packets;
    // A copy: the core's id is a view into the frame it came in, and a queued message must not
    // keep that frame (or the socket read buffer it lies in) alive.
    this.id = new Uint8Array(delivered.id);
    this.msgType = delivered.msgType;
    this.conn = delivered.conn;
  }

  /** The subnet it arrived on. */
  get protocol(): ProtocolInfo {
    return this.channel.protocol;
  }

  /** The id as lowercase hex. */
  get idHex(): string {
    return hex(this.id);
  }

  /**
   * Answers the sender with a whisper `[0x02, ...packets]`. Resolves once sent, saying whether a
   * route had to be found; rejects with `ReplyFailed` otherwise. An unobserved failure is not
   * thrown (a socket logs it).
   */
  reply(...packets: WireValue[]): Promise<ReplyOutcome> {
    return this.channel.reply(this.sender, packets);
  }

  /** A plain summary (for logs and JSON output). */
  toJSON(): { sender: string; time: number; id: string; msgType: number; packets: unknown[] } {
    return { sender: this.sender, time: this.time, id: this.idHex, msgType: this.msgType, packets: this.packets.map(jsonValue) };
  }
}

/** Turns a wire value into something JSON can print: bytes as hex, bigints as strings, maps as pairs. */
export const jsonValue = (v: WireValue): unknown => {
  if (v instanceof Uint8Array) return { bin: hex(v) };
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return [...v].map(([k, x]) => [jsonValue(k), jsonValue(x)]);
  if (Array.isArray(v)) return (v as ReadonlyArray<WireValue>).map(jsonValue);
  return v;
};

/**
 * What a received message counts against `recvQueueBytesMax`: the `footprint` of its packets over
 * the msgpack length of the whole message (sender and id included), and the copy of its id.
 */
export const deliveredBytes = (delivered: DeliveredMessage): number => footprint(delivered.packets, delivered.msgpackBytes) + delivered.id.length;
