/**
 * The columnar SAMPLES encoder: byte for byte what the object encoder (encodeReadResponse)
 * writes for the same series, and decoded back to the same samples with every value's bits:
 * stale markers and other NaNs, -0, +0 (omitted), zero, negative and large timestamps, series
 * without samples, many series and several queries.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeReadResponse, encodeReadResponse, snappyDecompress, snappyLiteral, type Label, type QueryResult, type TimeSeries,
} from '../../src/protocol/index.js';
import {
  compressSeries, compressedReadResponse, encodeReadResponseFromSeries, encodeSeriesColumns, encodeSeriesObject,
} from '../../src/read/samples-answer.js';

/** Columns holding exactly these value bits (set as integers, never through a double). */
function columns(samples: readonly [ms: number, bits: bigint][]): { times: Float64Array; values: Float64Array } {
  const times = Float64Array.from(samples.map(([ms]) => ms));
  const values = new Float64Array(samples.length);
  const words = new BigUint64Array(values.buffer);
  samples.forEach(([, b], i) => { words[i] = b; });
  return { times, values };
}

function bitsOf(v: number): bigint {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v, true);
  return d.getBigUint64(0, true);
}

function fromBits(b: bigint): number {
  const d = new DataView(new ArrayBuffer(8));
  d.setBigUint64(0, b, true);
  return d.getFloat64(0, true);
}

function objectSeries(labels: Label[], samples: readonly [number, bigint][]): TimeSeries {
  return { labels, samples: samples.map(([timestamp, b]) => ({ timestamp, value: fromBits(b) })), exemplars: [], histograms: [] };
}

const LABELS: Label[] = [
  { name: '__name__', value: 'node_cpu_seconds_total' }, { name: 'cpu', value: '0' }, { name: 'empty', value: '' },
  { name: 'job', value: 'héllo ✓' }, { name: 'long', value: 'x'.repeat(200) },
];

const ODD: [number, bigint][] = [
  [-1_000, 0x3ff0000000000000n], // before 1970: 1.0
  [-(2 ** 53) + 1, 0x0000000000000001n], // the earliest safe timestamp, the smallest subnormal
  [0, 0x0000000000000000n], // zero timestamp, +0: an empty Sample message
  [1, 0x8000000000000000n], // -0 is written
  [1_700_000_000_123, 0x7ff0000000000002n], // the stale marker
  [2 ** 32, 0x7ff8000000000001n], // a NaN with another payload
  [2 ** 53 - 1, 0xfff0000000000000n], // the latest safe timestamp, -Inf
  [127, 0x7ff0000000000000n],
  [128, 0xffffffffffffffffn],
];

describe('encodeSeriesColumns', () => {
  it('writes what the object encoder writes, odd timestamps and value bits included', () => {
    const { times, values } = columns(ODD);
    const ours = encodeReadResponseFromSeries([[encodeSeriesColumns(LABELS, times, values)]]);
    expect(Buffer.from(ours).equals(Buffer.from(encodeReadResponse([{ timeseries: [objectSeries(LABELS, ODD)] }])))).toBe(true);
    const [result] = decodeReadResponse(ours);
    expect(result.timeseries).toHaveLength(1);
    expect(result.timeseries[0].labels).toEqual(LABELS);
    expect(result.timeseries[0].samples.map((s) => s.timestamp)).toEqual(ODD.map(([ms]) => ms));
    expect(result.timeseries[0].samples.map((s) => bitsOf(s.value))).toEqual(ODD.map(([, b]) => b));
  });

  it('writes a series without samples, and no labels, as the object encoder does', () => {
    const none = columns([]);
    for (const labels of [LABELS, []]) {
      const ours = encodeReadResponseFromSeries([[encodeSeriesColumns(labels, none.times, none.values)]]);
      expect(Buffer.from(ours).equals(Buffer.from(encodeReadResponse([{ timeseries: [objectSeries(labels, [])] }])))).toBe(true);
    }
    expect(Buffer.from(encodeReadResponseFromSeries([[], []])).equals(Buffer.from(encodeReadResponse([{ timeseries: [] }, { timeseries: [] }])))).toBe(true);
  });

  it('refuses a timestamp that is not a safe integer', () => {
    for (const t of [2 ** 53, 1.5, Number.NaN]) {
      const c = columns([[0, 1n]]);
      c.times[0] = t;
      expect(() => encodeSeriesColumns(LABELS, c.times, c.values)).toThrow(RangeError);
    }
  });

  it('writes many series and several queries, mixed with object-encoded series, as encodeReadResponse does', () => {
    const sample = fc.tuple(
      fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 45 }), fc.constantFrom(0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1)),
      fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 0x8000000000000000n, 0x7ff0000000000002n)),
    );
    const label = fc.record({ name: fc.string({ maxLength: 20 }), value: fc.string({ maxLength: 200 }) });
    const series = fc.record({ labels: fc.array(label, { maxLength: 6 }), samples: fc.array(sample, { maxLength: 300 }), asObject: fc.boolean() });
    fc.assert(fc.property(fc.array(fc.array(series, { maxLength: 12 }), { maxLength: 3 }), (queries) => {
      const parts = queries.map((q) => q.map((s) => {
        if (s.asObject) return encodeSeriesObject(objectSeries(s.labels, s.samples));
        const c = columns(s.samples);
        return encodeSeriesColumns(s.labels, c.times, c.values);
      }));
      const results: QueryResult[] = queries.map((q) => ({ timeseries: q.map((s) => objectSeries(s.labels, s.samples)) }));
      const ours = encodeReadResponseFromSeries(parts);
      expect(Buffer.from(ours).equals(Buffer.from(encodeReadResponse(results)))).toBe(true);
      const compressed = compressedReadResponse(parts.map((q) => q.map(compressSeries)));
      expect(Buffer.from(snappyDecompress(compressed, 1 << 26)).equals(Buffer.from(ours))).toBe(true);
      const decoded = decodeReadResponse(ours);
      expect(decoded.map((r) => r.timeseries.map((ts) => ts.samples.map((x) => [x.timestamp, bitsOf(x.value)]))))
        .toEqual(queries.map((q) => q.map((s) => s.samples.map(([t, b]) => [t, b]))));
    }), { numRuns: 200 });
  });
});

describe('compressedReadResponse', () => {
  it('is one Snappy block of the response, series compressed apart, large series and long QueryResult heads included', () => {
    const big = columns(Array.from({ length: 20_000 }, (_, i): [number, bigint] => [1_700_000_000_000 + i * 15_000, BigInt(i % 7) << 52n]));
    const parts = [[encodeSeriesColumns(LABELS, big.times, big.values), encodeSeriesColumns([], new Float64Array(0), new Float64Array(0))], [], [
      encodeSeriesObject(objectSeries(LABELS, ODD))]];
    const body = compressedReadResponse(parts.map((q) => q.map(compressSeries)));
    expect(Buffer.from(snappyDecompress(body, 1 << 26)).equals(Buffer.from(encodeReadResponseFromSeries(parts)))).toBe(true);
    expect([...compressedReadResponse([])]).toEqual([0]);
  });

  it('writes literals of 1 to 256 bytes', () => {
    for (const n of [1, 60, 61, 256]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => i);
      const block = Buffer.concat([Buffer.from([n]).subarray(0, n < 128 ? 1 : 0), n >= 128 ? Buffer.from([(n % 128) | 0x80, n >> 7]) : Buffer.alloc(0), snappyLiteral(bytes)]);
      expect(Buffer.from(snappyDecompress(block, 1000)).equals(Buffer.from(bytes)), `${n} bytes`).toBe(true);
    }
    expect(() => snappyLiteral(new Uint8Array(257))).toThrow(RangeError);
  });
});
