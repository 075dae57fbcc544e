/**
 * XOR chunks (Prometheus tsdb/chunkenc layout): exact round trips over random and edge data,
 * a hand-checked byte layout, and CRC-32C known vectors.
 */
import { describe, it, expect } from 'vitest';
import { encodeXorChunk, cutXorChunks, MAX_SAMPLES_PER_CHUNK } from '../../src/protocol/read/xor-chunk.js';
import { decodeXorChunk } from '../../src/protocol/read/xor-chunk-decode.js';
import { crc32c } from '../../src/protocol/wire/crc32c.js';
import { encodeXorChunk as referenceXorChunk } from '../helpers/xor-chunk-reference.js';

const STALE_NAN = 0x7ff0000000000002n;

function fromBits(b: bigint): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, b);
  return v.getFloat64(0);
}
function bits(v: number): bigint {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v);
  return d.getBigUint64(0);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function roundTrip(ts: number[], vs: number[]): void {
  const bytes = encodeXorChunk(ts, Float64Array.from(vs));
  expect((bytes[0] << 8) | bytes[1]).toBe(ts.length);
  const back = decodeXorChunk(bytes);
  expect(back.timestamps).toEqual(ts);
  expect(Array.from(back.values, bits)).toEqual(vs.map(bits));
}

describe('XOR chunk', () => {
  it('lays out a small chunk bit for bit', () => {
    // t0=1000 (zig-zag varint 2000 = d0 0f), v0=1 (3ff0000000000000);
    // t1=1015: uvarint 15 (0f), v1=1: '0'; t2=1030: dod 0 '0', v2=1: '0' → 0000 padded.
    expect(Array.from(encodeXorChunk([1000, 1015, 1030], [1, 1, 1]))).toEqual([
      0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0f, 0x00,
    ]);
    expect(Array.from(encodeXorChunk([], []))).toEqual([0, 0]);
  });

  it('round-trips edge values and timings', () => {
    const stale = fromBits(STALE_NAN);
    const vs = [0, -0, 1, 1, Infinity, -Infinity, stale, NaN, stale, 5e-324, -1.7976931348623157e308, 42, 42, 0.1, 0.2];
    const ts = [-5000, -4985, 0, 1, 15_001, 15_001, 15_001 + 8192, 15_001 + 8192 * 2 + 1, 10_000_000,
      10_000_001, 2 ** 40, 2 ** 40 + 131_072, 2 ** 40 + 2 * 131_072 + 524_288, 2 ** 52, 2 ** 53 - 1];
    roundTrip(ts, vs);
    roundTrip([7], [stale]);
  });

  it('round-trips every delta-of-delta bucket boundary', () => {
    for (const n of [14, 17, 20]) {
      for (const dod of [2 ** (n - 1), -(2 ** (n - 1) - 1), 2 ** (n - 1) + 1, -(2 ** (n - 1))]) {
        const base = 10_000_000;
        const ts = [1_000, 1_000 + base, 1_000 + 2 * base + dod, 1_000 + 3 * base + dod];
        roundTrip(ts, [1, 2, 3, 4]);
      }
    }
  });

  it('round-trips random data at 1, 119, 120, 121 and more samples', () => {
    const r = rng(7);
    for (const n of [1, 2, 3, 119, 120, 121, 500]) {
      for (let k = 0; k < 20; k++) {
        const ts: number[] = [];
        const vs: number[] = [];
        let t = Math.floor(r() * 2e12);
        for (let i = 0; i < n; i++) {
          const mode = r();
          t += mode < 0.5 ? 15_000 : mode < 0.8 ? Math.floor(r() * 30_000) : Math.floor(r() * 1e9);
          ts.push(t);
          const vm = r();
          vs.push(vm < 0.3 ? (vs[i - 1] ?? 0) : vm < 0.6 ? Math.floor(r() * 1000) : vm < 0.9 ? r() * 1e6 : fromBits(BigInt(Math.floor(r() * 2 ** 32)) << 32n | BigInt(Math.floor(r() * 2 ** 32))));
        }
        roundTrip(ts, vs);
      }
    }
  });

  it('cuts at 120 samples', () => {
    const ts = Array.from({ length: 241 }, (_, i) => 1_000 + i * 15_000);
    const chunks = cutXorChunks(ts, ts.map((t) => t / 7));
    expect(MAX_SAMPLES_PER_CHUNK).toBe(120);
    expect(chunks.map((c) => decodeXorChunk(c.data).timestamps.length)).toEqual([120, 120, 1]);
    expect(chunks[1].minTimeMs).toBe(ts[120]);
    expect(chunks[1].maxTimeMs).toBe(ts[239]);
    expect(chunks.flatMap((c) => decodeXorChunk(c.data).timestamps)).toEqual(ts);
  });

  it('refuses timestamps going backwards or unsafe', () => {
    expect(() => encodeXorChunk([2, 1], [0, 0])).toThrow(RangeError);
    expect(() => encodeXorChunk([2 ** 53], [0])).toThrow(RangeError);
  });
});

describe('CRC-32C', () => {
  it('matches known vectors', () => {
    const enc = new TextEncoder();
    expect(crc32c(enc.encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it('keeps the empty byte Prometheus holds after a whole-byte write that ends on a byte boundary', () => {
    // One sample: count, varint(1000) = d0 0f, the raw value 1.0, then the byte Prometheus's
    // bit stream already appended for the next write.
    expect(Buffer.from(encodeXorChunk([1000], [1])).toString('hex')).toBe('0001d00f3ff0000000000000' + '00');
    // Two samples, same value: the delta (one varint byte) then a single '0' bit, which ends
    // inside a byte: no extra byte.
    expect(Buffer.from(encodeXorChunk([1000, 2000], [1, 1])).toString('hex')).toBe('0002d00f3ff0000000000000e807' + '00');
  });
});

describe('XOR chunk encoder against the bit-at-a-time reference', () => {
  it('writes the same bytes for random series, every bucket, NaN payloads and empty tails', () => {
    const r = rng(11);
    const stale = fromBits(STALE_NAN);
    for (let k = 0; k < 400; k++) {
      const n = k < 10 ? k : 1 + Math.floor(r() * 300);
      const ts: number[] = [];
      const vs: number[] = [];
      let t = Math.floor((r() - 0.3) * 2e12);
      for (let i = 0; i < n; i++) {
        const mode = r();
        t += mode < 0.4 ? 15_000 : mode < 0.6 ? 15_000 + Math.floor((r() - 0.5) * 30) : mode < 0.8 ? Math.floor(r() * 2_000_000) : Math.floor(r() * 1e12);
        ts.push(t);
        const vm = r();
        vs.push(vm < 0.2 ? (vs[i - 1] ?? 0) : vm < 0.3 ? stale : vm < 0.5 ? Math.floor(r() * 1e6) : vm < 0.6 ? 2 ** Math.floor(r() * 60)
          : vm < 0.8 ? r() * 1e6 : fromBits(BigInt(Math.floor(r() * 2 ** 32)) << 32n | BigInt(Math.floor(r() * 2 ** 32))));
      }
      const values = Float64Array.from(vs);
      expect(Buffer.from(encodeXorChunk(ts, values)).toString('hex'), `series ${k}`).toBe(Buffer.from(referenceXorChunk(ts, values)).toString('hex'));
      expect(Buffer.from(encodeXorChunk(ts, vs)).toString('hex')).toBe(Buffer.from(referenceXorChunk(ts, vs)).toString('hex'));
    }
  });
});
