/** Prometheus 2.42 head chunk cuts and query trimming (head-chunk-cuts.ts). */
import { describe, it, expect } from 'vitest';
import {
  DEFAULT_CHUNK_RANGE_MS, headChunkStarts, prometheusXorChunks, rangeStart,
} from '../../src/read/head-chunk-cuts.js';
import { decodeXorChunk, encodeXorChunk } from '../../src/protocol/index.js';

const H2 = DEFAULT_CHUNK_RANGE_MS;
const BASE = 1_795_608_000_000; // a multiple of 2 h
const every = (start: number, step: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i * step);

describe('head chunk cuts', () => {
  it('cuts a 15 s series into 120-sample, 30-minute chunks on the 2 h grid', () => {
    expect(BASE % H2).toBe(0);
    expect(headChunkStarts(every(BASE, 15_000, 960))).toEqual([0, 120, 240, 360, 480, 600, 720, 840]);
  });

  it('starts a series born mid-window with chunks ending on the estimated and the window end', () => {
    const ts = every(BASE + 3_600_000, 15_000, 300);
    // n = 3 600 000 / (435 001 * 4) = 2 → first end at +30 min; then n = 1 → the window end.
    expect(headChunkStarts(ts)).toEqual([0, 120, 240]);
  });

  it('cuts at 240 samples when the rate rises after the estimate', () => {
    const slow = every(BASE, 60_000, 31); // estimate from 30 samples a minute apart: one chunk for 2 h
    const fast = every(BASE + 31 * 60_000, 100, 500);
    const starts = headChunkStarts([...slow, ...fast]);
    expect(starts.slice(0, 3)).toEqual([0, 240, starts[2]]);
    expect(starts[2]).toBeGreaterThan(240);
  });

  it('always cuts at the first sample of a 2 h window', () => {
    const ts = every(BASE - 7 * 60_000 + 3, 60_000, 20);
    const starts = headChunkStarts(ts);
    expect(starts).toEqual([0, ts.findIndex((t) => t >= BASE)]);
    expect(rangeStart(BASE + 5)).toBe(BASE);
    expect(rangeStart(BASE - 5)).toBe(BASE - H2);
  });

  it('refuses timestamps that do not increase', () => {
    expect(() => headChunkStarts([1, 1])).toThrow(RangeError);
  });
});

describe('chunks for a query', () => {
  const ts = every(BASE, 15_000, 480);
  const vs = ts.map((_, i) => i % 5);

  it('keeps chunks inside the query whole and trims the ones reaching outside', () => {
    const mint = ts[100] + 1;
    const maxt = ts[300];
    const chunks = prometheusXorChunks(ts, vs, mint, maxt);
    expect(chunks.map((c) => [c.minTimeMs, c.maxTimeMs])).toEqual([[ts[101], ts[119]], [ts[120], ts[239]], [ts[240], ts[300]]]);
    expect(chunks[1].data).toEqual(encodeXorChunk(ts.slice(120, 240), vs.slice(120, 240)));
    expect(chunks.flatMap((c) => decodeXorChunk(c.data).timestamps)).toEqual(ts.slice(101, 301));
    expect(chunks.every((c) => c.type === 'XOR')).toBe(true);
  });

  it('returns nothing outside the data', () => {
    expect(prometheusXorChunks(ts, vs, ts[479] + 1, ts[479] + 10)).toEqual([]);
  });
});
