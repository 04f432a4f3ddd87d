/**
 * Every flag of the wire protocol (PROTOCOL.md §2) as named constants.
 *
 * Three number spaces share small integers: main flags (list[0]), sub-flags (payload[0]) and
 * compression methods (inside compression lists only). They are grouped separately so a value is
 * always read in its own space; `flags` merges them under distinct names, like the seeds' base
 * module. Nothing here has behaviour; it only names numbers.
 */

/** Main flags: the message type, list[0] (§2.1). */
export const msgTypes = {
  broadcast: 0x00,
  renegotiate: 0x01,
  whisper: 0x02,
  ping: 0x03,
  pong: 0x04,
} as const;

/** Sub-flags: payload[0], or the renegotiate operation (§2.2). */
export const subFlags = {
  broadcast: 0x00,
  compression: 0x01,
  whisper: 0x02,
  handshake: 0x05,
  notify: 0x06,
  peers: 0x07,
  request: 0x08,
  resend: 0x09,
  response: 0x0a,
  store: 0x0b,
  retrieve: 0x0c,
  retrieved: 0x0d,
  forward: 0x0e,
  new_paths: 0x0f,
  revoke_paths: 0x10,
  delta: 0x11,
} as const;

/** Compression methods, as they appear in compression lists (§2.3); most are named only. */
export const compressionFlags = {
  bz2: 0x10,
  gzip: 0x11,
  lzma: 0x12,
  zlib: 0x13,
  bwtc: 0x14,
  context1: 0x15,
  defsum: 0x16,
  dmc: 0x17,
  fenwick: 0x18,
  huffman: 0x19,
  lzjb: 0x1a,
  lzjbr: 0x1b,
  lzp3: 0x1c,
  mtf: 0x1d,
  ppmd: 0x1e,
  simple: 0x1f,
  snappy: 0x20,
} as const;

/** All flags under one roof (names never collide with different values). */
export const flags = { ...msgTypes, ...subFlags, ...compressionFlags } as const;

/** Flags 0x00–0x2F are reserved for the protocol; user sub-flags should lie above. */
export const RESERVED_FLAG_MAX = 0x2f;
