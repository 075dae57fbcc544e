/** Unpacking a series' samples as PostgreSQL packs them for a read (timestamptz_send, float8send). */
import { describe, expect, it } from 'vitest';
import { unpackSamples } from '../../src/storage/packed-samples.js';

function packed(samples: [ms: number, valueBits: bigint][]): { t: Buffer; v: Buffer } {
  const t = Buffer.alloc(samples.length * 8);
  const v = Buffer.alloc(samples.length * 8);
  samples.forEach(([ms, bits], i) => {
    t.writeBigInt64BE(BigInt(ms - 946_684_800_000) * 1000n, i * 8);
    v.writeBigUInt64BE(bits, i * 8);
  });
  return { t, v };
}

function bitsOf(values: Float64Array, i: number): bigint {
  return new BigUint64Array(values.buffer, values.byteOffset + i * 8, 1)[0];
}

describe('unpackSamples', () => {
  it('gives Unix milliseconds and the exact value bits, stale marker and other NaNs included', () => {
    const rows: [number, bigint][] = [
      [-1_000, 0x3ff0000000000000n], // before 1970: 1.0
      [0, 0x0000000000000001n], // the smallest subnormal
      [946_684_799_999, 0x8000000000000000n], // -0, just before PostgreSQL's epoch
      [1_700_000_000_123, 0x7ff0000000000002n], // the stale marker
      [8_000_000_000_000, 0x7ff8000000000001n], // a NaN with another payload
      [1_700_000_000_124, 0xfff0000000000000n], // -Inf
    ];
    const { t, v } = packed(rows);
    const out = unpackSamples(t, v);
    expect([...out.times]).toEqual(rows.map(([ms]) => ms));
    expect(rows.map((_, i) => bitsOf(out.values, i))).toEqual(rows.map(([, b]) => b));
  });

  it('refuses columns of different lengths or a partial sample', () => {
    expect(() => unpackSamples(Buffer.alloc(16), Buffer.alloc(8))).toThrow(/packed samples/);
    expect(() => unpackSamples(Buffer.alloc(12), Buffer.alloc(12))).toThrow(/packed samples/);
  });
});
