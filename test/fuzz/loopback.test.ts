// Fuzzing a real node on 127.0.0.1: each case opens a raw connection, optionally handshakes, and
// writes a burst of hostile frames (random, valid, mutated, wrong-shaped, monstrous, bombs).
// After each case the node has not logged a failed core step, its bounded structures are within
// their bounds, and an honest peer's broadcasts still cross in both directions.
// `TS2P_FUZZ_LOOPBACK_RUNS` sets the number of cases.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../src/core/node.js';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import { waitEvent, waitUntil, within } from '../shell/helpers.js';
import { handshakeFrom, mkEnv } from '../unit/mesh-env.js';
import { hostileFrame, mutate } from './corpus.js';

const FRAME_MAX = 64 * 1024;
const RUNS = Number(process.env.TS2P_FUZZ_LOOPBACK_RUNS ?? 200);
const logged: string[] = [];
let victim: MeshSocket;
let honest: MeshSocket;
let written = 0;

beforeAll(async () => {
  victim = new MeshSocket({
    host: '127.0.0.1',
    debugLevel: 'warn',
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => logged.push(m) },
    limits: { frameBytesMax: FRAME_MAX, handshakeTimeoutMs: 500, frameStallTimeoutMs: 500 },
  });
  honest = new MeshSocket({ host: '127.0.0.1', debugLevel: 'silent' });
  await within(Promise.all([victim.ready, honest.ready]), 'listen');
  await within(honest.connect('127.0.0.1', victim.port), 'the honest peer joins');
});

afterAll(async () => {
  console.info(`fuzz loopback: ${RUNS} connections, ${written} hostile frames written, ${logged.length} warnings logged`);
  await Promise.all([victim.close(), honest.close()]);
});

const got = (s: MeshSocket, tag: string): Promise<void> =>
  waitUntil(s, ['message'], () => s.recv(1024).some((m) => m.packets[1] === tag), `message ${tag}`, 10_000);

describe('fuzz: a loopback node under hostile connections', () => {
  it('stays up, bounded, and keeps its honest peer', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(hostileFrame(mkEnv(2), FRAME_MAX), { minLength: 1, maxLength: 8 }), async (handshake, frames) => {
        n++;
        const attacker = mkEnv(200 + n, { outAddr: { host: '127.0.0.1', port: 1 } });
        const s = net.connect({ host: '127.0.0.1', port: victim.port });
        s.on('error', () => undefined);
        s.resume();
        await within(waitEvent(s, 'connect'), 'raw connect');
        const now = Date.now();
        const bytes = frames.map(({ build, mutation }) => mutate(build(now), mutation));
        if (handshake) s.write(handshakeFrom(attacker, [], victim.protocol.id, now));
        for (const b of bytes) s.write(b);
        written += bytes.length;
        s.end();
        const probe = `probe-${n}`;
        honest.send(probe);
        await got(victim, probe);
        victim.send(`back-${n}`);
        await got(honest, `back-${n}`);
        s.destroy();
        const st = victim.status as NodeStatus;
        expect(st.connections).toBeLessThanOrEqual(256);
        expect(st.awaiting).toBeLessThanOrEqual(64);
        expect(victim.routingTable.some((p) => p.id === honest.id)).toBe(true);
        expect(logged.filter((l) => l.includes('core step failed') || l.includes('threw'))).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
