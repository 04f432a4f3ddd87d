/**
 * Waiting for what was written to leave: `awaitDrain` asks the shell (`AwaitDrain`, answered by
 * `Drained` with a token at least as late), and the user's writes (set, delete, applyDelta) are
 * done only once every connection they went out on has drained since. So a user awaiting each
 * write never has more in a send queue than the write itself, and a write whose connection
 * closes first fails (`Disconnected`) instead of being reported done while its bytes were lost;
 * one still waiting after `getTimeoutMs` (a peer that stopped reading) fails `Timeout`.
 *
 * Inputs: writes sent, `Drained`, connections gone, shutdown. Effects: `AwaitDrain`, `Emit`
 * (ChordResult, ChordFailed).
 */
import type { CommandId, ConnId, NodeId } from '../types.js';
import { fail, succeed, wakeAt } from './send.js';
import type { ChordCtx } from './state.js';

/** Writes waiting on one connection, in token order (from `head` on). */
export interface ConnWrites {
  readonly peer: NodeId;
  readonly queue: Array<{ readonly token: number; readonly cmd: CommandId }>;
  head: number;
}

/** A user write not yet done: the connections it still waits on, and when it gives up. */
export interface PendingWrite {
  readonly conns: Set<ConnId>;
  readonly startedAt: number;
  readonly deadlineAt: number;
}

/** Ask the shell to say when everything written to `conn` so far has left; the token of the ask. */
export const awaitDrain = (ctx: ChordCtx, conn: ConnId): number => {
  const token = ++ctx.st.drainTokens;
  ctx.out.push({ _tag: 'AwaitDrain', conn, token });
  return token;
};

/** A user write went out on `sent` (connection → peer): done once each has drained, at once if none. */
export const writeSent = (ctx: ChordCtx, cmd: CommandId, sent: ReadonlyMap<ConnId, NodeId>): void => {
  if (sent.size === 0) {
    succeed(ctx, cmd);
    return;
  }
  const deadlineAt = ctx.at + ctx.env.chord.getTimeoutMs;
  ctx.st.writes.set(cmd, { conns: new Set(sent.keys()), startedAt: ctx.at, deadlineAt });
  wakeAt(ctx, deadlineAt);
  for (const [conn, peer] of sent) {
    const token = awaitDrain(ctx, conn);
    let w = ctx.st.writesByConn.get(conn);
    if (w === undefined) ctx.st.writesByConn.set(conn, (w = { peer, queue: [], head: 0 }));
    w.queue.push({ token, cmd });
  }
};

/** `conn` drained up to `token`: the writes waiting on it up to there are done with it. */
export const writesDrained = (ctx: ChordCtx, conn: ConnId, token: number): void => {
  const w = ctx.st.writesByConn.get(conn);
  if (w === undefined) return;
  while (w.head < w.queue.length && w.queue[w.head]!.token <= token) {
    const { cmd } = w.queue[w.head++]!;
    const pending = ctx.st.writes.get(cmd);
    if (pending === undefined || !pending.conns.delete(conn) || pending.conns.size > 0) continue;
    ctx.st.writes.delete(cmd);
    succeed(ctx, cmd);
  }
  if (w.head === w.queue.length) ctx.st.writesByConn.delete(conn);
  else if (w.head > 1024 && w.head * 2 > w.queue.length) {
    w.queue.splice(0, w.head);
    w.head = 0;
  }
};

/** Connections that closed: the writes still waiting on one fail, as it may not have arrived. */
export const writesGone = (ctx: ChordCtx, gone: ReadonlyArray<ConnId>): void => {
  for (const conn of gone) {
    const w = ctx.st.writesByConn.get(conn);
    if (w === undefined) continue;
    ctx.st.writesByConn.delete(conn);
    for (let i = w.head; i < w.queue.length; i++) {
      const { cmd } = w.queue[i]!;
      if (!ctx.st.writes.delete(cmd)) continue;
      fail(ctx, cmd, { _tag: 'Disconnected', peer: w.peer });
    }
  }
};

/**
 * Writes past their deadline (`getTimeoutMs`) fail `Timeout`: a peer that stops reading without
 * closing would otherwise keep them waiting for good. Returns the earliest deadline left.
 */
export const expireWrites = (ctx: ChordCtx): number | undefined => {
  let next: number | undefined;
  for (const [cmd, w] of ctx.st.writes) {
    if (w.deadlineAt > ctx.at) {
      if (next === undefined || w.deadlineAt < next) next = w.deadlineAt;
      continue;
    }
    ctx.st.writes.delete(cmd);
    fail(ctx, cmd, { _tag: 'Timeout', afterMs: ctx.at - w.startedAt, bestVotes: 0, write: true });
  }
  return next;
};

/** Shutdown: every write still waiting fails. */
export const abandonWrites = (ctx: ChordCtx): void => {
  for (const cmd of ctx.st.writes.keys()) fail(ctx, cmd, { _tag: 'Shutdown' });
  ctx.st.writes.clear();
  ctx.st.writesByConn.clear();
};
