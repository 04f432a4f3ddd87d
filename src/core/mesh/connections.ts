/**
 * Connection lifecycle: dial, accept, open, close, and the deadlines that keep dead ones from
 * leaking.
 *
 * Inputs handled: DialSucceeded, DialFailed, ConnectionAccepted, ConnectionClosed, the
 * connection part of Tick. Effects: `Dial`, `Close`, events (PeerLeft, ConnectionRejected,
 * ConnectFailed / ConnectSucceeded for a Connect riding on the connection).
 * Invariants: `conns.size <= connectionsMax`; at most `awaitingMax` inbound connections wait for
 * a handshake (an inbound one is refused while that many connections wait, dials of ours that
 * opened counted too; our own dials are bounded by `connectionsMax`); every dialing or awaiting
 * connection has a deadline; a connection stuck mid-frame has a stall deadline; a closed
 * connection leaves no trace in `conns` or `routing`.
 * When a routed connection closes and another ready connection to the same peer exists (a
 * duplicate the other end has not yet closed), the peer stays routed through it and no PeerLeft
 * is emitted.
 * Every close and failed dial tells the address book (known.ts) and marks the heal schedule
 * dirty, so a node that fell below its outgoing target looks for peers at the end of the step.
 * Deliberately not: sending handshakes (handshake.ts does, node.ts calls it on open).
 */
import type { Address, CloseReason, CommandId, ConnectError, ConnId, NodeId } from '../types.js';
import { ConnId as mkConnId } from '../types.js';
import { frameDecoder } from '../wire/framing.js';
import { noteClosed, noteFailure } from './known.js';
import { awaitingCount, countClose, emit, type Conn, type Ctx } from './state.js';

const newConn = (
  ctx: Ctx,
  conn: ConnId,
  outgoing: boolean,
  remote: Address | undefined,
  expectedId: NodeId | undefined,
  cmd: CommandId | undefined,
): Conn => ({
  conn,
  outgoing,
  remote,
  phase: outgoing ? 'dialing' : 'awaiting',
  peer: undefined,
  peerAddr: undefined,
  expectedId,
  cmd,
  recvCompression: [],
  sendList: [],
  sendMethod: undefined,
  decoder: frameDecoder(ctx.env.config.frameBytesMax),
  lastSent: undefined,
  deadlineAt: ctx.at + (outgoing ? ctx.env.config.dialTimeoutMs : ctx.env.config.handshakeTimeoutMs),
  stallAt: undefined,
});

/** Whether `c` is still the state's connection of its id (`timed` may hold closed ones). */
export const isOpen = (st: Ctx['st'], c: Conn): boolean => st.conns.get(c.conn) === c;

/** Enter a connection into the state: it has a deadline from the start, so `timed` holds it. */
const keep = (st: Ctx['st'], c: Conn): void => {
  st.conns.set(c.conn, c);
  st.timed.add(c);
};

/** Remove a connection from the state, `timed` included. */
const forget = (st: Ctx['st'], c: Conn): void => {
  st.conns.delete(c.conn);
  st.timed.delete(c);
};

/** True when one more connection would exceed `connectionsMax`. */
export const connectionsFull = (ctx: Ctx): boolean => ctx.st.conns.size >= ctx.env.config.connectionsMax;

/**
 * Start a dial: mint `d<n>` (skipping any id a host already gave a connection, so an entry is
 * never overwritten), remember it, emit `Dial`. The caller checked the bounds.
 */
export const dial = (ctx: Ctx, address: Address, expectedId: NodeId | undefined, cmd: CommandId | undefined): Conn => {
  let connId: ConnId;
  do {
    ctx.st.dialSeq += 1;
    connId = mkConnId(`d${ctx.st.dialSeq}`);
  } while (ctx.st.conns.has(connId));
  const c = newConn(ctx, connId, true, address, expectedId, cmd);
  keep(ctx.st, c);
  ctx.out.push({ _tag: 'Dial', conn: c.conn, address });
  return c;
};

/** A dial connected: the connection now waits for the peer's handshake. */
export const onDialSucceeded = (ctx: Ctx, connId: ConnId): Conn | undefined => {
  const c = ctx.st.conns.get(connId);
  if (c === undefined || c.phase !== 'dialing') return undefined;
  c.phase = 'awaiting';
  c.deadlineAt = ctx.at + ctx.env.config.handshakeTimeoutMs;
  return c;
};

/** What became of an inbound connection. */
export type Acceptance =
  | { readonly _tag: 'Accepted'; readonly c: Conn }
  /** A bound was reached. `c` is a detached connection (not in state) to write a farewell on. */
  | { readonly _tag: 'Refused'; readonly c: Conn; readonly reason: CloseReason }
  | { readonly _tag: 'Ignored' };

/**
 * An inbound connection: it waits for a handshake, or, when a bound is reached, is refused.
 * The caller closes a refused one with `refuse` after writing what it wants to on it.
 */
export const onAccepted = (ctx: Ctx, connId: ConnId, remote: Address): Acceptance => {
  const { config } = ctx.env;
  if (ctx.st.conns.has(connId)) return { _tag: 'Ignored' };
  const full = connectionsFull(ctx)
    ? config.connectionsMax
    : awaitingCount(ctx.st) >= config.awaitingMax
      ? config.awaitingMax
      : undefined;
  const c = newConn(ctx, connId, false, remote, undefined, undefined);
  if (full !== undefined) return { _tag: 'Refused', c, reason: { _tag: 'TooManyConnections', limit: full } };
  keep(ctx.st, c);
  return { _tag: 'Accepted', c };
};

/** Close a refused inbound connection and tell the user why. */
export const refuse = (ctx: Ctx, c: Conn, reason: CloseReason): void => {
  countClose(ctx.st, reason._tag);
  ctx.out.push({ _tag: 'Close', conn: c.conn, reason });
  emit(ctx, c.remote === undefined ? { _tag: 'ConnectionRejected', conn: c.conn, reason } : { _tag: 'ConnectionRejected', conn: c.conn, remote: c.remote, reason });
};

/** Another ready connection to the same peer, if a duplicate is still open. */
const otherReady = (ctx: Ctx, c: Conn): Conn | undefined => {
  for (const o of ctx.st.conns.values()) if (o !== c && o.phase === 'ready' && o.peer === c.peer) return o;
  return undefined;
};

/**
 * Forget a connection. `ours` emits the `Close` effect (we closed it); otherwise the shell told
 * us it closed. Emits PeerLeft for a routed peer, ConnectionRejected for anything else, and
 * settles a Connect waiting on it.
 */
export const closeConn = (ctx: Ctx, c: Conn, reason: CloseReason, ours: boolean): void => {
  const { st } = ctx;
  if (!isOpen(st, c)) return;
  forget(st, c);
  countClose(st, reason._tag);
  noteClosed(ctx, c, reason);
  st.heal.dirty = true;
  if (ours) ctx.out.push({ _tag: 'Close', conn: c.conn, reason });
  const peer = c.peer;
  if (peer !== undefined && st.routing.get(peer) === c.conn) {
    st.routing.delete(peer);
    const alt = otherReady(ctx, c);
    if (alt !== undefined) st.routing.set(peer, alt.conn);
    else emit(ctx, { _tag: 'PeerLeft', peer, conn: c.conn, reason });
  } else {
    const remote = c.remote;
    emit(ctx, remote === undefined ? { _tag: 'ConnectionRejected', conn: c.conn, reason } : { _tag: 'ConnectionRejected', conn: c.conn, remote, reason });
  }
  if (c.cmd !== undefined) {
    if (reason._tag === 'DuplicateConnection' && peer !== undefined && st.routing.has(peer)) {
      emit(ctx, { _tag: 'ConnectSucceeded', cmd: c.cmd, peer });
    } else {
      emit(ctx, { _tag: 'ConnectFailed', cmd: c.cmd, error: { _tag: 'Closed', reason } });
    }
  }
};

/** The shell reports a connection closed (by the peer or the transport). */
export const onClosed = (ctx: Ctx, connId: ConnId, reason: CloseReason): void => {
  const c = ctx.st.conns.get(connId);
  if (c !== undefined) closeConn(ctx, c, reason, false);
};

/** A dial failed: forget it and fail the Connect riding on it. */
export const onDialFailed = (ctx: Ctx, connId: ConnId, error: ConnectError): void => {
  const c = ctx.st.conns.get(connId);
  if (c === undefined || c.phase !== 'dialing') return;
  forget(ctx.st, c);
  countClose(ctx.st, 'DialFailed');
  noteFailure(ctx, c.remote);
  ctx.st.heal.dirty = true;
  if (c.cmd !== undefined) emit(ctx, { _tag: 'ConnectFailed', cmd: c.cmd, error });
};

/**
 * Close what has outlived its deadline: dials (`dialTimeoutMs`, reported to the shell as a
 * HandshakeTimeout close so it aborts the attempt), handshakes (`handshakeTimeoutMs`) and frames
 * stalled half-way (`frameStallTimeoutMs`).
 */
export const expireConns = (ctx: Ctx): void => {
  const { config } = ctx.env;
  const due: Conn[] = [];
  const timed = new Set<Conn>();
  for (const c of ctx.st.timed) {
    if (!isOpen(ctx.st, c) || (c.deadlineAt === undefined && c.stallAt === undefined)) continue;
    timed.add(c);
    if ((c.deadlineAt !== undefined && c.deadlineAt <= ctx.at) || (c.stallAt !== undefined && c.stallAt <= ctx.at)) due.push(c);
  }
  ctx.st.timed = timed;
  for (const c of due) {
    if (c.phase === 'dialing' && c.deadlineAt !== undefined && c.deadlineAt <= ctx.at) {
      forget(ctx.st, c);
      countClose(ctx.st, 'DialTimeout');
      noteFailure(ctx, c.remote);
      ctx.st.heal.dirty = true;
      ctx.out.push({ _tag: 'Close', conn: c.conn, reason: { _tag: 'HandshakeTimeout', afterMs: config.dialTimeoutMs } });
      if (c.cmd !== undefined) emit(ctx, { _tag: 'ConnectFailed', cmd: c.cmd, error: { _tag: 'Timeout', afterMs: config.dialTimeoutMs } });
    } else if (c.phase === 'awaiting' && c.deadlineAt !== undefined && c.deadlineAt <= ctx.at) {
      closeConn(ctx, c, { _tag: 'HandshakeTimeout', afterMs: config.handshakeTimeoutMs }, true);
    } else if (c.stallAt !== undefined && c.stallAt <= ctx.at) {
      closeConn(ctx, c, { _tag: 'StalledFrame', afterMs: config.frameStallTimeoutMs }, true);
    }
  }
};

/** The earliest connection deadline, ms. */
export const connWakeup = (st: Ctx['st']): number | undefined => {
  // Asked after every step: no iterator when no connection has a deadline (the steady state).
  if (st.timed.size === 0) return undefined;
  let t: number | undefined;
  for (const c of st.timed) {
    if (!isOpen(st, c)) continue;
    if (c.deadlineAt !== undefined && (t === undefined || c.deadlineAt < t)) t = c.deadlineAt;
    if (c.stallAt !== undefined && (t === undefined || c.stallAt < t)) t = c.stallAt;
  }
  return t;
};
