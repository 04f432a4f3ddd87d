/**
 * Renegotiate (PROTOCOL.md §4.8), the receive side only.
 *
 * Inputs: RenegotiateCompression and RenegotiateResend messages on a ready connection.
 * Effects: `Write` (the resent frame).
 * Invariants:
 * - compression: we compress to this peer with the first of our methods in its new list
 *   (none when the list is empty); we keep trying its handshake methods too when decoding,
 *   because we never answer and so the peer may go on compressing as before;
 * - resend: the last message written on this connection goes out again, byte-identical msgpack,
 *   framed with the connection's current compression (a handshake stays uncompressed); the
 *   seeds' sub-flag promotion bug is not copied.
 * Deliberately not: sending renegotiate, ever: js2p drops any link that receives one.
 */
import { chooseCompression } from '../wire/packets.js';
import { writeMessage } from './send.js';
import type { Conn, Ctx } from './state.js';

/** The peer announces the methods it now accepts. */
export const onCompression = (ctx: Ctx, c: Conn, methods: ReadonlyArray<number>): void => {
  c.sendList = methods;
  c.sendMethod = chooseCompression(ctx.env.config.compression, methods);
  c.recvCompression = [...methods, ...c.recvCompression.filter((m) => !methods.includes(m))];
};

/** The peer asks for the last frame again. */
export const onResend = (ctx: Ctx, c: Conn): void => {
  if (c.lastSent !== undefined) writeMessage(ctx, c, c.lastSent.msg, c.lastSent.plain);
};
