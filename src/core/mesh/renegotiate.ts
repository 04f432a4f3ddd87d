/**
 * Renegotiate (PROTOCOL.md §4.8), the receive side only.
 *
 * Inputs: RenegotiateCompression and RenegotiateResend messages on a ready connection.
 * Effects: `Write` (the resent frame).
 * Invariants:
 * - compression: we compress to this peer with the first of our methods in its new list
 *   (none when the list is empty); we keep trying its handshake methods too when decoding,
 *   because we never answer and so the peer may go on compressing as before. What a connection
 *   keeps is the distinct methods we support (new list first), so no number of renegotiates
 *   makes it longer than our own methods (a list longer than `COMPRESSION_LIST_MAX` is
 *   BadMessage before it gets here);
 * - resend: the last message written on this connection goes out again, byte-identical msgpack,
 *   framed with the connection's current compression (a handshake stays uncompressed); the
 *   seeds' sub-flag promotion bug is not copied. A message above `RESEND_BYTES_MAX` is not kept,
 *   so a resend after it sends nothing; and a message goes out again at most once, so N resend
 *   frames in one read write it once, not N times.
 * Deliberately not: sending renegotiate, ever: js2p drops any link that receives one.
 */
import { chooseCompression, supportedMethods } from '../wire/packets.js';
import { writeMessage } from './send.js';
import type { Conn, Ctx } from './state.js';

/** The peer announces the methods it now accepts. */
export const onCompression = (ctx: Ctx, c: Conn, methods: ReadonlyArray<number>): void => {
  const { caps } = ctx.env;
  const kept = supportedMethods(caps, methods);
  c.sendList = kept;
  c.sendMethod = chooseCompression(ctx.env.config.compression, kept);
  // Both lists hold only distinct methods we support, so the merge never outgrows them.
  c.recvCompression = supportedMethods(caps, [...kept, ...c.recvCompression]);
};

/**
 * The peer asks for the last frame again. It is written once: a further resend before anything
 * else is written here sends nothing, so resend requests never cost more than what was sent.
 */
export const onResend = (ctx: Ctx, c: Conn): void => {
  const last = c.lastSent;
  if (last === undefined) return;
  writeMessage(ctx, c, last.msg, last.plain);
  c.lastSent = undefined;
};
