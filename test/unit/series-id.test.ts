import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { hashSeriesId } from '../../src/storage/index.js';

describe('hash series ids', () => {
  it('take 52 bits of the hash above 2^52: safe integers, clear of identity values', () => {
    expect(hashSeriesId(Buffer.alloc(32, 0).toString('latin1'))).toBe(2 ** 52);
    expect(hashSeriesId(Buffer.alloc(32, 0xff).toString('latin1'))).toBe(2 ** 53 - 1);
    const key = Buffer.from([0xab, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, ...Array<number>(24).fill(0)]);
    expect(hashSeriesId(key.toString('latin1'))).toBe(2 ** 52 + 0xb1234 * 2 ** 32 + 0x56789abc);
    for (let i = 0; i < 1000; i++) {
      const id = hashSeriesId(createHash('sha256').update(String(i)).digest().toString('latin1'));
      expect(Number.isSafeInteger(id) && id >= 2 ** 52).toBe(true);
    }
  });
});
