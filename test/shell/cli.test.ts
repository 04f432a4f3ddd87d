/**
 * The `ts2p` command: argument errors exit with code 2 and a clear message; two instances on
 * loopback exchange lines as JSON.
 */
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main, parseCli } from '../../src/shell/cli.js';
import { waitUntil, within } from './helpers.js';

const io = () => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (d: Buffer) => out.push(d.toString()));
  stderr.on('data', (d: Buffer) => err.push(d.toString()));
  return { streams: { stdin, stdout, stderr }, out, err, stdin, stdout };
};

describe('ts2p arguments', () => {
  const bad: Array<[string, string[], RegExp]> = [
    ['a non-numeric port', ['mesh', '--port', 'abc'], /--port must be an integer/],
    ['a port out of range', ['mesh', '--port', '70000'], /--port must be an integer/],
    ['a missing port', ['mesh'], /--port is required/],
    ['a connect without port', ['mesh', '--port', '1', '--connect', 'localhost'], /--connect expects host:port/],
    ['a connect with port 0', ['mesh', '--port', '1', '--connect', 'h:0'], /--connect expects host:port/],
    ['an unknown option', ['mesh', '--port', '1', '--bogus'], /Unknown option '--bogus'/],
    ['an unknown command', ['dht', '--port', '1'], /unknown command "dht"/],
    ['no command', ['--port', '1'], /missing command/],
    ['a bad debug level', ['mesh', '--port', '1', '--debug', 'loud'], /debug/],
  ];
  for (const [what, argv, message] of bad) {
    it(`rejects ${what} with exit code 2`, async () => {
      const x = io();
      expect(await main(argv, x.streams)).toBe(2);
      expect(x.err.join('')).toMatch(message);
      expect(x.out).toEqual([]);
    });
  }

  it('parses a full command line', () => {
    expect(parseCli(['mesh', '--port', '4444', '--host', '127.0.0.1', '--connect', '10.0.0.1:5', '--connect', '[::1]:6', '--subnet', 's', '--ssl', '--json'])).toEqual({
      port: 4444,
      host: '127.0.0.1',
      connect: [
        { host: '10.0.0.1', port: 5 },
        { host: '::1', port: 6 },
      ],
      subnet: 's',
      ssl: true,
      json: true,
      debug: 'warn',
      help: false,
    });
  });

  it('prints help with exit code 0', async () => {
    const x = io();
    expect(await main(['--help'], x.streams)).toBe(0);
    expect(x.out.join('')).toMatch(/Usage: ts2p mesh --port P/);
  });

  it('exits with code 2 when run as a program', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/shell/cli.ts', 'mesh', '--port', 'nope'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await within(new Promise<number | null>((resolve) => child.on('exit', resolve)), 'the CLI to exit', 15_000);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--port must be an integer/);
  }, 20_000);
});

describe('ts2p mesh', () => {
  it('joins, broadcasts each stdin line and prints what arrives as JSON', async () => {
    const a = io();
    const runA = main(['mesh', '--port', '0', '--host', '127.0.0.1', '--json', '--debug', 'silent'], a.streams);
    await waitUntil(a.stdout, ['data'], () => a.out.join('').includes('\n'), 'the ready line');
    const ready = JSON.parse(a.out.join('').split('\n')[0]!) as { event: string; id: string; port: number };
    expect(ready.event).toBe('ready');
    const b = io();
    const runB = main(['mesh', '--port', '0', '--host', '127.0.0.1', '--json', '--debug', 'silent', '--connect', `127.0.0.1:${ready.port}`], b.streams);
    await waitUntil(b.streams.stderr, ['data'], () => b.err.join('').includes('connected to'), 'b to connect');
    b.stdin.write('hello from b\n');
    await waitUntil(a.stdout, ['data'], () => a.out.join('').split('\n').length > 2, 'a to print the message');
    const line = JSON.parse(a.out.join('').split('\n')[1]!) as { sender: string; packets: unknown[]; id: string; time: number };
    expect(line.packets).toEqual([0, 'hello from b']);
    expect(line.id).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof line.time).toBe('number');
    const readyB = JSON.parse(b.out.join('').split('\n')[0]!) as { id: string };
    expect(line.sender).toBe(readyB.id);
    a.stdin.end();
    b.stdin.end();
    expect(await within(runA, 'a to stop')).toBe(0);
    expect(await within(runB, 'b to stop')).toBe(0);
  });
});
