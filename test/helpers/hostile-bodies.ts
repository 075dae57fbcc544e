/**
 * Hostile remote-write bodies, shared by the decoder's unit tests and the ingress's HTTP tests:
 * a byte-level protobuf writer, the named attacks of the hardening checklist, and fast-check
 * arbitraries for valid requests and their mutations.
 */
import fc from 'fast-check';
import {
  decodeWriteRequest, encodeWriteRequest, snappyCompress, snappyDecompress, validateWriteRequest, withoutLabel,
} from '../../src/protocol/index.js';
import type { Histogram, Label, MetricMetadata, TimeSeries, WriteRequest } from '../../src/protocol/index.js';
import { tagRequest } from '../../src/ingress/tag.js';
import { DEFAULT_DECODE_LIMITS, DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_FUTURE_MS } from './limits.js';

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Field `fieldNo`, wire type 2, holding `payload`. */
export function delimited(fieldNo: number, payload: Uint8Array | number[]): Buffer {
  return Buffer.concat([Buffer.from(varint((fieldNo << 3) | 2)), Buffer.from(varint(payload.length)), Buffer.from(payload)]);
}

export function pbLabel(name: string, value: string): Buffer {
  return delimited(1, Buffer.concat([delimited(1, Buffer.from(name)), delimited(2, Buffer.from(value))]));
}

export function pbSample(value: number, ts: number): Buffer {
  const b = Buffer.alloc(18);
  b[0] = 0x09;
  b.writeDoubleLE(value, 1);
  b[9] = 0x10;
  const v = Buffer.from(varint(ts));
  return delimited(2, Buffer.concat([b.subarray(0, 10), v]));
}

/** A TimeSeries (field 1 of WriteRequest) from already encoded label and sample fields. */
export function pbSeries(...fields: Buffer[]): Buffer {
  return delimited(1, Buffer.concat(fields));
}

export const NOW = Date.now();

/** The named attacks, each with the code the ingress must answer with the default limits. */
export function namedAttacks(): { name: string; body: Buffer; status: number; code: string }[] {
  const manyLabels: Buffer[] = [pbLabel('__name__', 'up')];
  for (let i = 0; i < 100_000; i++) manyLabels.push(pbLabel(`l${String(i).padStart(6, '0')}`, 'v'));
  // 4 MiB of two-byte empty samples ("deeply repeated fields"): millions of elements if unchecked.
  const emptySamples = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < emptySamples.length; i += 2) emptySamples[i] = 0x12;
  const manySeries = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < manySeries.length; i += 2) manySeries[i] = 0x0a;
  const longValue = pbSeries(pbLabel('__name__', 'up'), pbLabel('job', 'x'.repeat(DEFAULT_DECODE_LIMITS.maxLabelValueBytes + 1)), pbSample(1, NOW));
  const longName = pbSeries(pbLabel('__name__', 'up'), pbLabel('j'.repeat(DEFAULT_DECODE_LIMITS.maxLabelNameBytes + 1), 'x'), pbSample(1, NOW));
  // Packed histogram buckets: 0x62 = positive_deltas, 2 MiB of one-byte zigzag varints.
  const buckets = Buffer.alloc(2 * 1024 * 1024);
  const histogram = delimited(4, delimited(12, buckets));
  return [
    {
      name: 'a snappy header claiming 4 GiB',
      body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]), status: 413, code: 'DECOMPRESSED_TOO_LARGE',
    },
    {
      name: 'a protobuf length prefix pointing past the end',
      body: Buffer.from(snappyCompress(Buffer.concat([Buffer.from([0x0a]), Buffer.from(varint(1_000_000)), pbLabel('__name__', 'up')]))),
      status: 400, code: 'BAD_PROTOBUF',
    },
    { name: '100k labels on one series', body: Buffer.from(snappyCompress(pbSeries(...manyLabels))), status: 400, code: 'LIMIT_LABELS_PER_SERIES' },
    { name: 'two million empty samples in one series', body: Buffer.from(snappyCompress(delimited(1, emptySamples))), status: 400, code: 'LIMIT_SAMPLES_PER_SERIES' },
    { name: 'two million empty series', body: Buffer.from(snappyCompress(manySeries)), status: 413, code: 'LIMIT_SERIES_PER_REQUEST' },
    { name: 'two million histogram buckets', body: Buffer.from(snappyCompress(delimited(1, Buffer.concat([pbLabel('__name__', 'h'), histogram])))), status: 413, code: 'LIMIT_SAMPLES_PER_REQUEST' },
    { name: 'a label value over the length limit', body: Buffer.from(snappyCompress(longValue)), status: 400, code: 'LIMIT_LABEL_VALUE_LENGTH' },
    { name: 'a label name over the length limit', body: Buffer.from(snappyCompress(longName)), status: 400, code: 'LIMIT_LABEL_NAME_LENGTH' },
    {
      name: 'a sample a day in the future',
      body: Buffer.from(snappyCompress(pbSeries(pbLabel('__name__', 'up'), pbSample(1, NOW + 86_400_000)))), status: 400, code: 'INVALID_SAMPLE',
    },
  ];
}

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
/** Values a Prometheus may send (anything but NUL, which PostgreSQL cannot store and the ingress refuses). */
const labelValue = fc.oneof(fc.string({ maxLength: 16 }), fc.string({ unit: 'binary', maxLength: 16 }), fc.constantFrom("'; DROP TABLE x; --", '$$', '\\'))
  .map((v) => v.replace(/\0/g, ''));

const labelsArb = fc.uniqueArray(fc.tuple(labelName, labelValue), { selector: ([n]) => n, maxLength: 6 }).map((pairs): Label[] => {
  const labels = pairs.filter(([n]) => n !== '__name__').map(([name, value]) => ({ name, value }));
  labels.push({ name: '__name__', value: 'm' });
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
});

/** Valid integer histograms: spans that cover the buckets sent, a count equal to what they hold. */
const histogramArb = fc.record({
  sum: fc.double({ noNaN: true }), schema: fc.integer({ min: -4, max: 8 }), zeroThreshold: fc.double({ min: 0, max: 1, noNaN: true }),
  zeroCountInt: fc.nat(10), firstOffset: fc.integer({ min: -5, max: 5 }),
  spans: fc.array(fc.record({ gap: fc.nat(3), counts: fc.array(fc.nat(50), { minLength: 1, maxLength: 4 }) }), { maxLength: 3 }),
  timestamp: fc.integer({ min: NOW - 3_600_000, max: NOW }),
}).map((h): Histogram => {
  const counts = h.spans.flatMap((s) => s.counts);
  const positiveDeltas = counts.map((c, i) => (i === 0 ? c : c - counts[i - 1]));
  const positiveSpans = h.spans.map((s, i) => ({ offset: i === 0 ? h.firstOffset : s.gap, length: s.counts.length }));
  return {
    countInt: counts.reduce((x, y) => x + y, 0) + h.zeroCountInt, sum: h.sum, schema: h.schema, zeroThreshold: h.zeroThreshold,
    zeroCountInt: h.zeroCountInt, positiveSpans, positiveDeltas, timestamp: h.timestamp,
    countFloat: undefined, zeroCountFloat: undefined, negativeSpans: [], negativeDeltas: [], negativeCounts: [], positiveCounts: [], resetHint: 0,
  };
});

const seriesArb = fc.record({
  labels: labelsArb,
  samples: fc.array(fc.record({ value: fc.double(), timestamp: fc.integer({ min: NOW - 3_600_000, max: NOW + 60_000 }) }), { maxLength: 5 }),
  exemplars: fc.array(fc.record({ labels: labelsArb, value: fc.double(), timestamp: fc.integer({ min: 0, max: NOW }) }), { maxLength: 1 }),
  histograms: fc.array(histogramArb, { maxLength: 1 }),
}).map((s): TimeSeries => s);

const metadataArb = fc.record({
  type: fc.constantFrom('counter', 'gauge', 'unknown' as const), metricFamilyName: labelName, help: fc.string({ maxLength: 20 }).map((h) => h.replace(/\0/g, '')), unit: fc.constant(''),
}).map((m): MetricMetadata => m);

/** A valid remote-write request (what a Prometheus could send). */
export const writeRequestArb: fc.Arbitrary<WriteRequest> = fc.record({
  timeseries: fc.array(seriesArb, { maxLength: 4 }),
  metadata: fc.array(metadataArb, { maxLength: 2 }),
});

/** One mutation of a byte string: flip, overwrite, insert, delete, truncate, duplicate a slice, or splice a varint. */
export const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x0a, 0x12, 0x80, 0xff, 0x7f, 0x1a, 0x22, 0x09, 0x10) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 2, max: 64 }) }),
  fc.record({ kind: fc.constant('varint' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 35, Number.MAX_SAFE_INTEGER) }),
);
export type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'flip': if (at < b.length) b[at] ^= 1 << m.bit; break;
      case 'set': if (at < b.length) b[at] = m.byte; break;
      case 'insert': b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]); break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'repeat': {
        const slice = b.subarray(at, at + m.n);
        b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: m.times }, () => slice), b.subarray(at + m.n)]);
        break;
      }
      case 'varint': b = Buffer.concat([b.subarray(0, at), Buffer.from(varint(m.value)), b.subarray(at)]); break;
    }
  }
  return b;
}

/** Where a body is mutated: in its protobuf (then compressed, so the decoder sees it) or in its snappy bytes. */
export const hostileBodyArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(writeRequestArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([req, ms]) => Buffer.from(snappyCompress(mutate(encodeWriteRequest(req), ms)))) },
  { weight: 3, arbitrary: fc.tuple(writeRequestArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([req, ms]) => mutate(snappyCompress(encodeWriteRequest(req)), ms)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(snappyCompress(b))) },
);

/** What the ingress does with a body before it enqueues: decompress, decode within limits, validate, tag, re-encode. */
export function ingest(body: Uint8Array, limits = DEFAULT_DECODE_LIMITS): WriteRequest {
  const req = decodeWriteRequest(snappyDecompress(body, DEFAULT_MAX_DECOMPRESSED_BYTES), limits);
  validateWriteRequest(req, { nowMs: Date.now(), maxAgeMs: 0, maxFutureMs: DEFAULT_MAX_FUTURE_MS });
  for (const b of tagRequest(req, { clusterLabel: 'cluster', replicaLabel: '__replica__', defaultGroup: undefined, defaultReplica: undefined }).batches) {
    encodeWriteRequest({ timeseries: withoutLabel(b.series, '__replica__'), metadata: b.metadata });
  }
  return req;
}
