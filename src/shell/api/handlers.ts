/**
 * User handlers: the type a socket and the simulator both take, and the one way both run them,
 * so a handler behaves the same on real sockets and on the simulator.
 */
import type { ConnId } from '../../core/types.js';
import type { Message } from './message.js';

/** A user handler: return true to claim the message (later handlers and the queue don't see it). */
export type Handler = (message: Message, conn: ConnId) => boolean;

/**
 * Offers `message` to each handler in order until one claims it; true when one did. A handler
 * that throws claims nothing: `onError` gets what it threw, and the next handler is offered the
 * message as if it had returned false. Nothing a handler throws escapes.
 */
export const runHandlers = (handlers: ReadonlyArray<Handler>, message: Message, onError: (thrown: unknown) => void): boolean => {
  for (const handler of handlers) {
    try {
      if (handler(message, message.conn) === true) return true;
    } catch (thrown) {
      onError(thrown);
    }
  }
  return false;
};
