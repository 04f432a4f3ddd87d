/**
 * The mapping from transport failures and core reasons onto the API's typed errors.
 */
import { describe, expect, it } from 'vitest';
import { NodeId } from '../../src/core/types.js';
import {
  AlreadyConnected,
  closeReasonToError,
  ConnectionClosed,
  connectErrorToError,
  ConnectionRefused,
  SelfConnection,
  SocketClosed,
  Timeout,
  Unreachable,
  WrongSubnet,
} from '../../src/shell/api/errors.js';
import { dialError } from '../../src/shell/net/transport.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`boom ${code}`), { code });

describe('dial failures', () => {
  it('map socket error codes onto connect errors', () => {
    expect(dialError(errno('ECONNREFUSED'))._tag).toBe('ConnectionRefused');
    expect(dialError(errno('ETIMEDOUT'))._tag).toBe('Timeout');
    expect(dialError(errno('EHOSTUNREACH'))._tag).toBe('Unreachable');
    expect(dialError(errno('ENOTFOUND'))).toEqual({ _tag: 'Unreachable', detail: 'ENOTFOUND: boom ENOTFOUND' });
    expect(dialError(undefined)._tag).toBe('Unreachable');
  });
});

describe('typed errors', () => {
  it('carry a code and the class for each connect failure', () => {
    const peer = NodeId('P');
    const cases: Array<[Error, unknown, string]> = [
      [connectErrorToError({ _tag: 'ConnectionRefused', detail: 'x' }), ConnectionRefused, 'ConnectionRefused'],
      [connectErrorToError({ _tag: 'Unreachable', detail: 'x' }), Unreachable, 'Unreachable'],
      [connectErrorToError({ _tag: 'Timeout', afterMs: 5 }), Timeout, 'Timeout'],
      [connectErrorToError({ _tag: 'AlreadyConnected', peer }), AlreadyConnected, 'AlreadyConnected'],
      [connectErrorToError({ _tag: 'Closed', reason: { _tag: 'WrongSubnet', theirs: 't', ours: 'o' } }), WrongSubnet, 'WrongSubnet'],
      [closeReasonToError({ _tag: 'SelfConnection' }), SelfConnection, 'SelfConnection'],
      [closeReasonToError({ _tag: 'HandshakeTimeout', afterMs: 1 }), Timeout, 'Timeout'],
      [closeReasonToError({ _tag: 'Shutdown' }), SocketClosed, 'SocketClosed'],
      [closeReasonToError({ _tag: 'BadFrame', detail: 'd' }), ConnectionClosed, 'ConnectionClosed'],
    ];
    for (const [err, cls, code] of cases) {
      expect(err).toBeInstanceOf(cls as new (...a: never[]) => Error);
      expect((err as unknown as { code: string }).code).toBe(code);
      expect(err.name).toBe(code);
      expect(err.message.length).toBeGreaterThan(0);
    }
  });
});
