/**
 * A read's samples as PostgreSQL sends them: binary COPY tuples cut anywhere between chunks,
 * and `array_agg(time)` / `array_agg(value)` in binary form unpacked into columns.
 */
import { describe, expect, it } from 'vitest';
import { CopyTupleReader } from '../../src/storage/binary-copy-reader.js';
import { ColumnScratch, unpackSampleArrays } from '../../src/storage/packed-samples.js';

const PG_EPOCH_MS = 946_684_800_000;

/** array_send of a one-dimensional array of 8-byte elements (OID 1184 timestamptz or 701 float8). */
function arrayOf(oid: number, elements: bigint[]): Buffer {
  const b = Buffer.alloc(20 + elements.length * 12);
  b.writeInt32BE(elements.length === 0 ? 0 : 1, 0);
  b.writeInt32BE(0, 4);
  b.writeInt32BE(oid, 8);
  b.writeInt32BE(elements.length, 12);
  b.writeInt32BE(1, 16);
  elements.forEach((e, i) => {
    b.writeInt32BE(8, 20 + i * 12);
    b.writeBigUInt64BE(BigInt.asUintN(64, e), 24 + i * 12);
  });
  return elements.length === 0 ? b.subarray(0, 12) : b;
}

const times = (ms: number[]): Buffer => arrayOf(1184, ms.map((t) => BigInt(t - PG_EPOCH_MS) * 1000n));
const values = (bits: bigint[]): Buffer => arrayOf(701, bits);

function bitsOf(values: Float64Array, i: number): bigint {
  return new BigUint64Array(values.buffer, values.byteOffset + i * 8, 1)[0];
}

/** COPY … (FORMAT binary) output of these tuples. */
function copyOutput(tuples: (Buffer | null)[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 4, 9, 9, 9, 9])];
  for (const t of tuples) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(t.length);
    parts.push(count);
    for (const f of t) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(f === null ? -1 : f.length);
      parts.push(len);
      if (f !== null) parts.push(f);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

describe('unpackSampleArrays', () => {
  it('gives Unix milliseconds and the exact value bits, stale marker and other NaNs included', () => {
    const rows: [number, bigint][] = [
      [-1_000, 0x3ff0000000000000n], // before 1970: 1.0
      [0, 0x0000000000000001n], // the smallest subnormal
      [946_684_799_999, 0x8000000000000000n], // -0, just before PostgreSQL's epoch
      [1_700_000_000_123, 0x7ff0000000000002n], // the stale marker
      [1_700_000_000_124, 0xfff0000000000000n], // -Inf
      [8_000_000_000_000, 0x7ff8000000000001n], // a NaN with another payload
    ];
    const out = unpackSampleArrays(times(rows.map(([ms]) => ms)), values(rows.map(([, b]) => b)));
    expect([...out.times]).toEqual(rows.map(([ms]) => ms));
    expect(rows.map((_, i) => bitsOf(out.values, i))).toEqual(rows.map(([, b]) => b));
  });

  it('puts samples in time order should PostgreSQL ever aggregate them otherwise', () => {
    const out = unpackSampleArrays(times([3_000, 1_000, 2_000]), values([3n, 0x7ff0000000000002n, 2n]));
    expect([...out.times]).toEqual([1_000, 2_000, 3_000]);
    expect([0, 1, 2].map((i) => bitsOf(out.values, i))).toEqual([0x7ff0000000000002n, 2n, 3n]);
  });

  it('unpacks into reused scratch columns, grown when a series is longer', () => {
    const scratch = new ColumnScratch();
    const a = unpackSampleArrays(times([1, 2]), values([0x7ff0000000000002n, 5n]), scratch);
    expect([...a.times]).toEqual([1, 2]);
    expect([bitsOf(a.values, 0), bitsOf(a.values, 1)]).toEqual([0x7ff0000000000002n, 5n]);
    const long = Array.from({ length: 3000 }, (_, i) => i);
    const b = unpackSampleArrays(times(long), values(long.map(BigInt)), scratch);
    expect([...b.times]).toEqual(long);
    expect(bitsOf(b.values, 2999)).toBe(2999n);
    const c = unpackSampleArrays(times([7]), values([0xfff0000000000000n]), scratch);
    expect(c.times.buffer).toBe(b.times.buffer);
    expect([[...c.times], bitsOf(c.values, 0)]).toEqual([[7], 0xfff0000000000000n]);
  });

  it('takes an empty array, and refuses arrays that do not match', () => {
    expect(unpackSampleArrays(times([]), values([])).times).toHaveLength(0);
    expect(() => unpackSampleArrays(times([1, 2]), values([1n]))).toThrow(/packed samples/);
    expect(() => unpackSampleArrays(times([1]).subarray(0, 30), values([1n]))).toThrow(/packed samples/);
  });
});

describe('CopyTupleReader', () => {
  const tuples: (Buffer | null)[][] = [
    [Buffer.from('0000000000000007', 'hex'), times([1, 2]), values([1n, 2n])],
    [null, Buffer.alloc(0), Buffer.from('abc')],
    [Buffer.alloc(70_000, 7)],
    [],
    [null],
  ];
  const whole = copyOutput(tuples);

  it('hands over every tuple whole, however the output is cut into chunks', () => {
    for (const size of [1, 2, 3, 7, 19, 20, 23, 64, 1000, 65_536, whole.length]) {
      const got: (string | null)[][] = [];
      const r = new CopyTupleReader((fields) => got.push(fields.map((f) => (f === null ? null : f.toString('hex')))));
      for (let at = 0; at < whole.length; at += size) r.push(whole.subarray(at, at + size));
      r.end();
      expect(got, `chunks of ${size}`).toEqual(tuples.map((t) => t.map((f) => (f === null ? null : f.toString('hex')))));
    }
  });

  it('refuses a bad signature, a missing trailer and bytes after it', () => {
    expect(() => new CopyTupleReader(() => {}).push(Buffer.alloc(40))).toThrow(/signature/);
    const cut = new CopyTupleReader(() => {});
    cut.push(whole.subarray(0, whole.length - 2));
    expect(() => cut.end()).toThrow(/trailer/);
    const extra = new CopyTupleReader(() => {});
    expect(() => extra.push(Buffer.concat([whole, Buffer.from([0])]))).toThrow(/after the trailer/);
  });
});
