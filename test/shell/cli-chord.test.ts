// `ts2p chord`: argument parsing and the get/set/del/keys lines on a one-node joined ring.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ChordSocket } from '../../src/shell/api/chord.js';
import { main } from '../../src/shell/cli.js';
import { parseChordCli, runChordLine } from '../../src/shell/cli-chord.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('ts2p chord', () => {
  it('parses its arguments and rejects bad ones with a reason', () => {
    expect(parseChordCli(['--port', '4444', '--join', '--connect', '10.0.0.1:5'])).toEqual({
      port: 4444,
      host: '0.0.0.0',
      connect: [{ host: '10.0.0.1', port: 5 }],
      join: true,
      debug: 'warn',
    });
    expect(parseChordCli(['--join'])).toEqual({ error: '--port is required' });
    expect(parseChordCli(['--port', 'x'])).toEqual({ error: '--port must be an integer from 0 to 65535, got "x"' });
  });

  it('exits with 2 on a bad argument, through the ts2p command', async () => {
    const err: string[] = [];
    const stderr = new PassThrough();
    stderr.on('data', (b: Buffer) => err.push(b.toString()));
    expect(await main(['chord', '--port', '99999'], { stdin: new PassThrough(), stdout: new PassThrough(), stderr })).toBe(2);
    expect(err.join('')).toMatch(/--port must be an integer/);
  });

  it('runs get, set, del and keys lines on a joined node', async () => {
    const s = new ChordSocket({ host: '127.0.0.1', debugLevel: 'silent' });
    cleanups.push(() => s.close());
    await s.ready;
    await s.join();
    expect(await runChordLine(s, 'set colour deep blue')).toBe('colour set');
    expect(await runChordLine(s, 'get colour')).toBe('colour = deep blue');
    expect(await runChordLine(s, 'keys')).toBe('colour');
    expect(await runChordLine(s, 'del colour')).toBe('colour deleted');
    expect(await runChordLine(s, 'get colour')).toBe('colour: NotFound (key not found)');
    expect(await runChordLine(s, 'frobnicate x')).toBe('error: unknown command "frobnicate" (get, set, del, keys)');
    expect(await runChordLine(s, 'get')).toBe('error: "get" needs a key');
  });
});
