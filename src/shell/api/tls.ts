/**
 * TLS material for a node that was given none: a fresh self-signed certificate made at start, as
 * js2p and py2p do. Peers' certificates are then accepted unverified, like theirs.
 */
import { generate } from 'selfsigned';

/** Days the start-up certificate is valid. */
export const SELF_SIGNED_DAYS = 3650;
/** RSA key size of the start-up certificate. */
export const SELF_SIGNED_KEY_BITS = 2048;

/** A new RSA key and self-signed certificate, PEM-encoded. */
export const makeSelfSigned = async (): Promise<{ key: string; cert: string }> => {
  const pems = await generate([{ name: 'commonName', value: 'ts2p' }], {
    keySize: SELF_SIGNED_KEY_BITS,
    notAfterDate: new Date(Date.now() + SELF_SIGNED_DAYS * 86_400_000),
    algorithm: 'sha256',
  });
  return { key: pems.private, cert: pems.cert };
};
