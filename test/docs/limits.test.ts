/**
 * README.md's Limits tables give each bound's default: this test reads them and checks each default
 * against the constant the code uses, and that every limit a user can set (`limits`, `chord`) has
 * a row. A bound whose default changes, or a new one, fails here until the README says so.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultChordLimits } from '../../src/core/chord/config.js';
import { defaultLimits } from '../../src/core/config.js';
import { RESEND_BYTES_MAX } from '../../src/core/mesh/send.js';
import { COMPRESSION_LIST_MAX, HOST_CHARS_MAX, NODE_ID_CHARS_MAX } from '../../src/core/wire/codecs.js';
import { MSGPACK_DEPTH_MAX, MSGPACK_MAPS_MAX, MSGPACK_VALUES_MAX } from '../../src/core/wire/msgpack.js';
import { OBJECT_OVERHEAD_BYTES, VALUE_OVERHEAD_BYTES } from '../../src/core/wire/footprint.js';
import { RECV_QUEUE_BYTES_MAX, RECV_QUEUE_MAX } from '../../src/shell/api/socket.js';
import { SEND_QUEUE_BYTES_MAX, TLS_HANDSHAKE_TIMEOUT_MS, TLS_HANDSHAKES_MAX } from '../../src/shell/net/transport.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const limitsSection = readme.slice(readme.indexOf('\n## Limits'), readme.indexOf('\n## ', readme.indexOf('\n## Limits') + 1) >>> 0);

/** What each name in a table's name column stands for. */
const values: Readonly<Record<string, number>> = {
  ...defaultLimits,
  ...defaultChordLimits,
  MSGPACK_DEPTH_MAX,
  MSGPACK_VALUES_MAX,
  MSGPACK_MAPS_MAX,
  NODE_ID_CHARS_MAX,
  HOST_CHARS_MAX,
  COMPRESSION_LIST_MAX,
  RESEND_BYTES_MAX,
  RECV_QUEUE_MAX,
  recvQueueBytesMax: RECV_QUEUE_BYTES_MAX,
  VALUE_OVERHEAD_BYTES,
  OBJECT_OVERHEAD_BYTES,
  sendQueueBytesMax: SEND_QUEUE_BYTES_MAX,
  tlsHandshakesMax: TLS_HANDSHAKES_MAX,
  TLS_HANDSHAKE_TIMEOUT_MS,
};

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, KiB: 1024, MiB: 1024 * 1024 };

/** The quantities a default cell states, in order: "60 s before jitter (at most 90 s)" → 60000, 90000. */
const quantities = (cell: string): number[] =>
  [...cell.matchAll(/(\d[\d,]*)(?:\s*(ms|s|min|h|KiB|MiB)\b)?/g)].map((m) => Number(m[1]!.replaceAll(',', '')) * (UNITS[m[2] ?? ''] ?? 1));

/** Each row of the section's tables: the default cell and the names its name cell gives. */
const rows = [...limitsSection.matchAll(/^\|([^|\n]*)\|([^|\n]*)\|([^|\n]*)\|[^\n]*\|$/gm)]
  .map((m) => ({ what: m[1]!.trim(), cell: m[2]!.trim(), names: [...m[3]!.matchAll(/`(\w+)`/g)].map((n) => n[1]!).filter((n) => n in values) }))
  .filter((r) => r.names.length > 0);

describe('README.md Limits tables', () => {
  it('give a row to every limit a user can set', () => {
    const documented = new Set(rows.flatMap((r) => r.names));
    // compressMinBytes is not a bound on what a peer can make us hold: the interop table gives it.
    expect(readme).toContain(`\`compressMinBytes\` (${defaultLimits.compressMinBytes} bytes)`);
    const settable = [...Object.keys(defaultLimits), ...Object.keys(defaultChordLimits)].filter((k) => k !== 'compressMinBytes');
    expect(settable.filter((k) => !documented.has(k))).toEqual([]);
  });

  it.each(rows)('$what: the default stated is the one the code uses', ({ cell, names }) => {
    const stated = quantities(cell);
    // A default given in words ("the frame size") is checked by the row that names its value.
    if (stated.length === 0) return;
    expect(stated.length).toBeGreaterThanOrEqual(names.length);
    expect(stated.slice(0, names.length)).toEqual(names.map((n) => values[n]));
  });
});
