/**
 * The virtual wires: dialling (a connection reaches its address after a latency, is refused
 * where nothing listens, or times out across a cut), FIFO byte streams in each direction with
 * latency and optional chunking, end-of-stream after the data already sent, and resets that lose
 * what is in flight. Cuts and holds do not stop data here: it crosses the wire, and the engine
 * holds it at the receiving end while its direction is blocked (data sent before the cut as well
 * as during it), rather than lose it, as TCP retransmission would.
 */
import type { Address, ConnId } from '../../core/types.js';
import type { Prng } from './prng.js';
import type { FaultState } from './fault-state.js';
import { EvKind, addressKey, splitAt, type End, type EvExtra, type Link, type NodeRec } from './network.js';

/** What the wires need from the simulation. */
export interface LinkHost {
  readonly now: () => number;
  readonly latency: () => number;
  readonly faults: FaultState;
  readonly push: (time: number, kind: EvKind, node: NodeRec | undefined, extra?: EvExtra) => void;
  readonly pushBytes: (time: number, to: End, bytes: Uint8Array) => void;
  readonly linkDown: (link: Link) => void;
}

/** Every link of a simulation, and who listens where. */
export class Links {
  /** Nodes by the address they listen on. */
  readonly listening = new Map<string, NodeRec>();
  private count = 0;

  /** Wires for `host`; writes split into up to `chunksMax` chunks drawn from `splitRng`. */
  constructor(
    private readonly host: LinkHost,
    private readonly splitRng: Prng,
    private readonly chunksMax: number,
    private readonly dialTimeoutMs: number,
  ) {}

  /** A node dials an address: the connection reaches it after a latency, or fails. */
  dial(n: NodeRec, conn: ConnId, address: Address): void {
    const link: Link = {
      id: this.count++,
      ends: [undefined as unknown as End, undefined],
      held: [[], []],
      early: [],
      dialedAt: this.host.now(),
      reset: false,
    };
    const end: End = { link, side: 0, node: n, conn, closed: false, peer: undefined, lastArrival: 0 };
    link.ends[0] = end;
    n.conns.set(conn, end);
    const target = this.listening.get(addressKey(address));
    if (target !== undefined && this.host.faults.blocked(n.index, target.index)) {
      this.host.push(this.host.now() + this.dialTimeoutMs, EvKind.DialFail, n, { end, error: { _tag: 'Timeout', afterMs: this.dialTimeoutMs } });
      return;
    }
    this.host.push(this.host.now() + this.host.latency(), EvKind.Syn, undefined, { end, remote: address });
  }

  /** A dial reaches its address. */
  onSyn(dialer: End, address: Address): void {
    const n = dialer.node;
    const link = dialer.link;
    if (dialer.closed || !n.alive) return;
    const ev = this.listening.get(addressKey(address));
    if (ev === undefined || !ev.alive) {
      this.host.push(this.host.now() + this.host.latency(), EvKind.DialFail, n, {
        end: dialer,
        error: { _tag: 'ConnectionRefused', detail: 'nothing listens there' },
      });
      return;
    }
    if (this.host.faults.blocked(n.index, ev.index) || this.host.faults.blocked(ev.index, n.index)) {
      this.host.push(link.dialedAt + this.dialTimeoutMs, EvKind.DialFail, n, {
        end: dialer,
        error: { _tag: 'Timeout', afterMs: this.dialTimeoutMs },
      });
      return;
    }
    const conn = `a${++ev.acceptCount}` as ConnId;
    const accepted: End = { link, side: 1, node: ev, conn, closed: false, peer: dialer, lastArrival: this.host.now() };
    link.ends[1] = accepted;
    dialer.peer = accepted;
    ev.conns.set(conn, accepted);
    const okAt = this.host.now() + this.host.latency();
    dialer.lastArrival = okAt;
    this.host.push(this.host.now(), EvKind.Accepted, ev, { end: accepted, remote: n.address });
    this.host.push(okAt, EvKind.DialOk, n, { end: dialer });
    for (const bytes of link.early.splice(0)) this.transmit(dialer, bytes);
  }

  /** Sends bytes from `from` to the other end, FIFO. */
  transmit(from: End, bytes: Uint8Array): void {
    const link = from.link;
    if (link.reset) return;
    const to = from.peer;
    if (to === undefined) {
      link.early.push(bytes);
      return;
    }
    if (to.closed) return;
    const arrival = Math.max(this.host.now() + this.host.latency(), to.lastArrival);
    to.lastArrival = arrival;
    if (this.chunksMax > 1 && bytes.length > 1) {
      const k = this.splitRng.int(Math.min(this.chunksMax, bytes.length));
      const offsets: number[] = [];
      for (let i = 0; i < k; i++) offsets.push(1 + this.splitRng.int(bytes.length - 1));
      offsets.sort((a, b) => a - b);
      for (const chunk of splitAt(bytes, offsets)) this.host.pushBytes(arrival, to, chunk);
      return;
    }
    this.host.pushBytes(arrival, to, bytes);
  }

  /** Tells the other end that this end is gone (after the data already sent). */
  finish(from: End, reason: { readonly _tag: 'PeerClosed'; readonly detail?: string }): void {
    const link = from.link;
    const to = link.ends[(1 - from.side) as 0 | 1];
    if (to === undefined || to.closed || link.reset) return;
    const arrival = Math.max(this.host.now() + this.host.latency(), to.lastArrival);
    to.lastArrival = arrival;
    this.host.push(arrival, EvKind.Closed, to.node, { end: to, reason });
  }

  /** Resets a link: data in flight is lost and both ends learn at once. */
  reset(link: Link): void {
    if (link.reset) return;
    link.reset = true;
    this.host.linkDown(link);
    for (const end of link.ends) {
      if (end === undefined || end.closed || !end.node.alive) continue;
      this.host.push(this.host.now(), EvKind.Closed, end.node, { end, reason: { _tag: 'PeerClosed', detail: 'reset' } });
    }
  }
}
