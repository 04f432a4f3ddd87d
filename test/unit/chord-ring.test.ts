// Ring geometry: the §9.5 key vectors, distance, and the refusal of bad key58 text.
import { createHash } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { nodeCapabilities } from '../../src/shell/caps.js';
import {
  distance,
  isTableName,
  KEY58_CHARS_MAX,
  key58Of,
  keyPositions58,
  keyPositionsOf,
  nodePosition,
  onRing,
  positionOf,
  RING_SIZE,
  TABLES,
} from '../../src/core/chord/ring.js';

const caps = nodeCapabilities;

describe('chord ring', () => {
  it('places "test" exactly where js2p and py2p do (§9.5)', () => {
    expect(keyPositions58(caps, 'test')).toEqual({
      sha1: '7DBXKb5TYkrd5skvuyqPy83p2TG6zyudMemvR7cDum4H3QWsU9wPoSm4B9b3A6opST',
      sha224: '6JjbxX3LAiCtTQz1wowsSdWUjZbEQqgAwUd1P4g9fPtKA2U8gPStvvuKqu4wC1bqPM',
      sha256: '6rQZuc7TUsJisSjiJG1VSAS9yyu6T1x7ESqijmwdadWW3h2hd8P2B4LqXb14WjTsVH',
      sha384: '5M9rGWWh3UmHpU4bGXf47Bxav14ZWfFJJvLroxrk2XgJAzW2P5sGzWpRSkWywbjazk',
      sha512: '5mAN4LS8t6YxHNJ9MkxEKivJXv287BsXEdPd8UBgsReG1ALx5RfqaRQLRP3Jpr5xsHAcYhixyVFggBKcaucdPq6E',
    });
  });

  it('hashes a string key as its UTF-8 bytes', () => {
    expect(keyPositionsOf(caps, 'ключ')).toEqual(keyPositionsOf(caps, new TextEncoder().encode('ключ')));
  });

  it('shifts each digest as §5 says, leaving sha512 above the ring', () => {
    const p = keyPositionsOf(caps, 'test');
    const asInt = (name: string) => BigInt('0x' + createHash(name).update('test').digest('hex'));
    expect(p.sha1).toBe(asInt('sha1') << 224n);
    expect(p.sha224).toBe(asInt('sha224') << 160n);
    expect(p.sha256).toBe(asInt('sha256') << 128n);
    expect(p.sha384).toBe(asInt('sha384'));
    expect(p.sha512).toBe(asInt('sha512'));
    expect(p.sha512 >= RING_SIZE).toBe(true);
  });

  it('measures clockwise distance modulo 2^384', () => {
    expect(distance(5n, 3n)).toBe(2n ** 384n - 2n);
    expect(distance(3n, 5n)).toBe(2n);
    expect(distance(7n, 7n)).toBe(0n);
    expect(distance(0n, RING_SIZE + 9n)).toBe(9n);
    expect(onRing(RING_SIZE * 3n + 1n)).toBe(1n);
  });

  it('reads node ids as positions (§3.3 vectors are below 2^384)', () => {
    for (const id of [
      '7g4Ru6i6ZExWJpFnD47FUyEjtBks32BzfKjrTZbmaT5Huw1GUuHBjVRTrhGamexqbp',
      'A9fCGxhKhZrLvRo9KBfHCa12uQ7EhxmYzR1YFL4AWmFC86VCio7nPM9zkQ4orqomCH',
    ]) {
      const p = nodePosition(id);
      expect(E.isRight(p) && p.right < RING_SIZE && key58Of(p.right) === id).toBe(true);
    }
    expect(nodePosition('21')).toEqual(E.right(58n));
  });

  it('refuses malformed, overlong and oversized key58 text with a typed error', () => {
    expect(positionOf('0OIl')).toMatchObject(E.left({ _tag: 'BadBase58', input: '0OIl' }));
    expect(positionOf('')).toMatchObject(E.left({ _tag: 'BadBase58' }));
    expect(positionOf('2'.repeat(KEY58_CHARS_MAX + 1))).toEqual(
      E.left({ _tag: 'TooLong', chars: KEY58_CHARS_MAX + 1, max: KEY58_CHARS_MAX }),
    );
    expect(positionOf('z'.repeat(KEY58_CHARS_MAX))).toEqual(E.left({ _tag: 'TooLarge', input: 'z'.repeat(KEY58_CHARS_MAX) }));
    expect(positionOf(key58Of(2n ** 512n - 1n))).toEqual(E.right(2n ** 512n - 1n));
  });

  it('knows the five table names and nothing else', () => {
    expect(TABLES).toEqual(['sha1', 'sha224', 'sha256', 'sha384', 'sha512']);
    expect(TABLES.every(isTableName)).toBe(true);
    expect(isTableName('md5')).toBe(false);
    expect(isTableName('SHA1')).toBe(false);
  });
});
