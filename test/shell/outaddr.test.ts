/**
 * The outward address for a node bound to '0.0.0.0': the first non-internal IPv4 address, else
 * loopback. The interfaces are stubbed; nothing is bound.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const interfaces = vi.hoisted(() => ({ current: {} as Record<string, unknown[]> }));
vi.mock('node:os', async (importOriginal) => ({ ...(await importOriginal<object>()), networkInterfaces: () => interfaces.current }));

const { lanAddress } = await import('../../src/shell/api/socket.js');

describe('lanAddress', () => {
  beforeEach(() => {
    interfaces.current = {};
  });

  it('picks the first non-internal IPv4 address', () => {
    interfaces.current = {
      lo: [{ family: 'IPv4', internal: true, address: '127.0.0.1' }],
      eth0: [
        { family: 'IPv6', internal: false, address: 'fe80::1' },
        { family: 'IPv4', internal: false, address: '192.168.1.7' },
      ],
      eth1: [{ family: 'IPv4', internal: false, address: '10.0.0.2' }],
    };
    expect(lanAddress()).toBe('192.168.1.7');
  });

  it('falls back to loopback when there is no external IPv4 interface', () => {
    interfaces.current = { lo: [{ family: 'IPv4', internal: true, address: '127.0.0.1' }], eth0: [{ family: 'IPv6', internal: false, address: 'fe80::1' }] };
    expect(lanAddress()).toBe('127.0.0.1');
  });
});
