/**
 * TLS with the user's own key, certificate and CA: peers are verified. Two nodes with certificates
 * from the same CA join; a node whose certificate that CA did not sign is refused, and the refusal
 * rejects `connect` with a typed error and leaves nothing behind.
 */
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import { Ts2pError } from '../../src/shell/api/errors.js';
import { waitUntil, within } from './helpers.js';

const open: MeshSocket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const makeCa = () =>
  generate([{ name: 'commonName', value: 'ts2p test CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });

const makeNodeCert = (ca: { key: string; cert: string }) =>
  generate([{ name: 'commonName', value: 'ts2p node' }], {
    keySize: 2048,
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });

const tlsNode = async (tls?: { key: string; cert: string; ca: string }): Promise<MeshSocket> => {
  const s = new MeshSocket({ host: '127.0.0.1', debugLevel: 'silent', protocol: { subnet: 'mesh', encryption: 'SSL' }, ...(tls === undefined ? {} : { tls }) });
  open.push(s);
  await within(s.ready, 'listen');
  return s;
};

describe('TLS with own certificates', () => {
  it('joins peers whose certificates the CA signed, and refuses others', async () => {
    const ca = await makeCa();
    const caPair = { key: ca.private, cert: ca.cert };
    const [c1, c2] = await Promise.all([makeNodeCert(caPair), makeNodeCert(caPair)]);
    const a = await tlsNode({ key: c1.private, cert: c1.cert, ca: ca.cert });
    const b = await tlsNode({ key: c2.private, cert: c2.cert, ca: ca.cert });
    expect(await within(a.connect('127.0.0.1', b.port), 'verified connect', 8_000)).toBe(b.id);
    a.send('verified');
    expect((await within(b.next(), 'message over verified TLS'))?.packets).toEqual([0, 'verified']);

    const stranger = await tlsNode(); // self-signed, not from the CA
    const err = await within(
      stranger.connect('127.0.0.1', a.port).then(
        () => undefined,
        (e: unknown) => e,
      ),
      'refusal',
      8_000,
    );
    // TLS 1.3: the client's handshake ends before the server checks its certificate, so the
    // refusal reaches the stranger as a close.
    expect(err).toBeInstanceOf(Ts2pError);
    expect((err as Ts2pError).code).toBe('ConnectionClosed');
    const back = await within(
      a.connect('127.0.0.1', stranger.port).then(
        () => undefined,
        (e: unknown) => e,
      ),
      'refusal of the stranger’s certificate',
      8_000,
    );
    expect((back as Ts2pError).code).toBe('Unreachable');
    expect((back as Error).message).toMatch(/certificate/i);
    expect(a.awaitingIds).toEqual([]);
    await waitUntil(stranger, ['connection-rejected'], () => stranger.awaitingIds.length === 0, 'nothing left behind');
    expect(stranger.routingTable).toEqual([]);
    expect(a.routingTable.map((p) => p.id)).toEqual([b.id]);
  }, 20_000);
});
