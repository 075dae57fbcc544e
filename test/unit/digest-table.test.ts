import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestCache, DigestTable } from '../../src/protocol/write/digest-table.js';
import { RawSeriesCache } from '../../src/storage/raw-series-cache.js';

/** A digest as the caches get it: SHA-256 as a 32-character latin1 string. */
const digest = (s: string): string => createHash('sha256').update(s).digest('binary');

/** A 32-character key from 8 words (little-endian bytes), to place keys in chosen slots. */
function keyOf(...words: number[]): string {
  const b = Buffer.alloc(32);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 * i));
  return b.toString('latin1');
}

describe('DigestTable', () => {
  it('stores, finds, replaces, and answers -1 for what it does not hold', () => {
    const t = new DigestTable();
    expect(t.get(digest('a'))).toBe(-1);
    t.set(digest('a'), 0);
    t.set(digest('b'), 7);
    expect(t.get(digest('a'))).toBe(0);
    expect(t.get(digest('b'))).toBe(7);
    t.set(digest('a'), 9);
    expect(t.get(digest('a'))).toBe(9);
    expect(t.size).toBe(2);
    expect(t.get(digest('c'))).toBe(-1);
  });

  it('keeps ids up to 2^53 - 2 exactly and refuses what it cannot store', () => {
    const t = new DigestTable();
    t.set(digest('big'), Number.MAX_SAFE_INTEGER - 1);
    expect(t.get(digest('big'))).toBe(Number.MAX_SAFE_INTEGER - 1);
    t.set(digest('2^32'), 2 ** 32 + 5);
    expect(t.get(digest('2^32'))).toBe(2 ** 32 + 5);
    for (const bad of [-1, 0.5, NaN, Number.MAX_SAFE_INTEGER]) expect(() => t.set(digest('x'), bad)).toThrow(RangeError);
  });

  it('tells apart keys that start in the same slot, and keys that differ only in their last kept word', () => {
    const t = new DigestTable();
    // Same first word: same starting slot, so each probe walks past the others.
    const keys = [keyOf(5, 1, 1, 1), keyOf(5, 1, 1, 2), keyOf(5, 2, 1, 1), keyOf(5, 1, 2, 1), keyOf(5 + 1024, 1, 1, 1)];
    keys.forEach((k, i) => t.set(k, i));
    keys.forEach((k, i) => expect(t.get(k)).toBe(i));
    expect(t.get(keyOf(5, 9, 9, 9))).toBe(-1);
    expect(t.size).toBe(keys.length);
  });

  it('wraps its probing around the end of the slots', () => {
    const t = new DigestTable();
    const last = 1023; // the first table has 1024 slots
    const keys = [0, 1, 2, 3].map((i) => keyOf(last, i));
    keys.forEach((k, i) => t.set(k, 100 + i));
    keys.forEach((k, i) => expect(t.get(k)).toBe(100 + i));
    expect(t.get(keyOf(0, 0))).toBe(-1);
  });

  it('compares only the first 16 bytes of a digest (a 128-bit prefix collision is taken as the same key)', () => {
    const t = new DigestTable();
    t.set(keyOf(1, 2, 3, 4, 5, 6, 7, 8), 1);
    expect(t.get(keyOf(1, 2, 3, 4, 0, 0, 0, 0))).toBe(1);
  });

  it('grows past 3/4 full and agrees with a Map over many keys', () => {
    const t = new DigestTable();
    const m = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const k = digest(`series ${i}`);
      t.set(k, i * 3);
      m.set(k, i * 3);
    }
    expect(t.size).toBe(m.size);
    for (const [k, v] of m) expect(t.get(k)).toBe(v);
    for (let i = 0; i < 1000; i++) expect(t.get(digest(`absent ${i}`))).toBe(-1);
    // 50,000 entries need 2^17 slots at most 3/4 full: 24 bytes a slot.
    expect(t.bytes).toBe(2 ** 17 * 24);
  });

  it('clear forgets everything and gives its memory back', () => {
    const t = new DigestTable();
    for (let i = 0; i < 5000; i++) t.set(digest(String(i)), i);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(digest('1'))).toBe(-1);
    expect(t.bytes).toBe(1024 * 24);
  });
});

describe('DigestCache', () => {
  it('drops the older generation once the current one holds half the bound', () => {
    const c = new DigestCache(10); // generations of 5
    for (let i = 0; i < 5; i++) c.set(digest(`a${i}`), i);
    // The fifth entry filled the generation: it became the previous one, still answered.
    expect(c.size).toBe(5);
    for (let i = 0; i < 5; i++) c.set(digest(`b${i}`), 10 + i);
    // Again: the a's are gone, the b's are the previous generation.
    for (let i = 0; i < 5; i++) expect(c.get(digest(`a${i}`))).toBe(-1);
    expect(c.size).toBeLessThanOrEqual(10);
  });

  it('keeps what is still used: a hit in the previous generation moves it forward', () => {
    const c = new DigestCache(10);
    for (let i = 0; i < 5; i++) c.set(digest(`a${i}`), i);
    expect(c.get(digest('a0'))).toBe(0); // moved into the current generation
    for (let i = 0; i < 3; i++) c.set(digest(`b${i}`), 10 + i);
    // a0 and b0..b2 fill the current generation (4), then b3 turns it over.
    c.set(digest('b3'), 13);
    for (let i = 0; i < 5; i++) c.set(digest(`c${i}`), 20 + i);
    expect(c.get(digest('a1'))).toBe(-1);
    expect(c.get(digest('c4'))).toBe(24);
    // a0 went with the generation it was moved to, two turns ago: only use keeps an entry.
    expect(c.get(digest('a0'))).toBe(-1);
  });

  it('never holds more than its bound, and always the most recent half', () => {
    const c = new DigestCache(1000);
    for (let i = 0; i < 10_000; i++) {
      c.set(digest(`s${i}`), i);
      expect(c.size).toBeLessThanOrEqual(1000);
    }
    for (let i = 10_000 - 500; i < 10_000; i++) expect(c.get(digest(`s${i}`))).toBe(i);
  });

  it('refuses a bound below 2', () => {
    expect(() => new DigestCache(1)).toThrow(RangeError);
  });
});

describe('RawSeriesCache', () => {
  it('answers undefined for unknown series and keeps id 0', () => {
    const c = new RawSeriesCache(100);
    expect(c.get(digest('x'))).toBeUndefined();
    c.set(digest('x'), 0);
    expect(c.get(digest('x'))).toBe(0);
    c.clear();
    expect(c.size).toBe(0);
  });
});
