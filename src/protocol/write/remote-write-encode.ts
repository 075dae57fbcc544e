/**
 * Encoder of remote-write 1.0 `prometheus.WriteRequest` on protobufjs's Writer: the inverse of
 * remote-write-decode.ts, including metadata, exemplars and native histograms. Used to re-encode
 * a batch (e.g. without the replica label) and by tests and load generators.
 *
 * Zero scalars are omitted as proto3 does, except where omission would change what decodes:
 * -0 is written (only +0 is the default), and the members of the count / zero_count oneofs are
 * written whenever set, so an integer histogram with count 0 stays an integer histogram.
 * Doubles are written from their float64 bits, so NaN payloads (the stale marker
 * 0x7ff0000000000002) survive.
 */
import protobuf from 'protobufjs/minimal.js';
import type { Writer } from 'protobufjs/minimal.js';
import { METRIC_TYPES } from './types.js';
import type { BucketSpan, Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest } from './types.js';

/** True for every double except +0, the proto3 default. */
function nonDefault(v: number): boolean {
  return v !== 0 || Object.is(v, -0);
}

function checkInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be a safe integer, got ${v}`);
  return v;
}

/** Bytes of the varint encoding of a non-negative safe integer, or 10 for a negative one. */
function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeLabels(w: Writer, tag: number, labels: readonly Label[]): void {
  for (const l of labels) {
    w.uint32(tag).fork();
    if (l.name !== '') w.uint32(0x0a).string(l.name);
    if (l.value !== '') w.uint32(0x12).string(l.value);
    w.ldelim();
  }
}

function writeSample(w: Writer, s: Sample): void {
  const ts = checkInt(s.timestamp, 'sample timestamp');
  const withValue = nonDefault(s.value);
  // The size is known up front, which spares the fork/ldelim bookkeeping on the hottest path.
  const len = (withValue ? 9 : 0) + (ts !== 0 ? 1 + varintSize(ts) : 0);
  w.uint32(0x12).uint32(len);
  if (withValue) w.uint32(0x09).double(s.value);
  if (ts !== 0) w.uint32(0x10).int64(ts);
}

function writeExemplar(w: Writer, e: Exemplar): void {
  w.uint32(0x1a).fork();
  writeLabels(w, 0x0a, e.labels);
  if (nonDefault(e.value)) w.uint32(0x11).double(e.value);
  if (e.timestamp !== 0) w.uint32(0x18).int64(checkInt(e.timestamp, 'exemplar timestamp'));
  w.ldelim();
}

function writeSpans(w: Writer, tag: number, spans: readonly BucketSpan[]): void {
  for (const s of spans) {
    w.uint32(tag).fork();
    if (s.offset !== 0) w.uint32(0x08).sint32(s.offset);
    if (s.length !== 0) w.uint32(0x10).uint32(s.length);
    w.ldelim();
  }
}

function writeDeltas(w: Writer, tag: number, deltas: readonly number[]): void {
  if (deltas.length === 0) return;
  w.uint32(tag).fork();
  for (const d of deltas) w.sint64(checkInt(d, 'histogram bucket delta'));
  w.ldelim();
}

function writeCounts(w: Writer, tag: number, counts: readonly number[]): void {
  if (counts.length === 0) return;
  w.uint32(tag).uint32(counts.length * 8);
  for (const c of counts) w.double(c);
}

/**
 * Writes one Histogram as the field `tag` (0x22: RW 1.0 TimeSeries.histograms, 0x1a: RW 2.0).
 * The message is the same in both versions; 2.0 adds start_timestamp (17), written when given.
 */
export function writeHistogram(w: Writer, h: Histogram, tag = 0x22, startTimestamp = 0): void {
  w.uint32(tag).fork();
  if (h.countInt !== undefined) w.uint32(0x08).uint64(checkInt(h.countInt, 'histogram count'));
  else if (h.countFloat !== undefined) w.uint32(0x11).double(h.countFloat);
  if (nonDefault(h.sum)) w.uint32(0x19).double(h.sum);
  if (h.schema !== 0) w.uint32(0x20).sint32(h.schema);
  if (nonDefault(h.zeroThreshold)) w.uint32(0x29).double(h.zeroThreshold);
  if (h.zeroCountInt !== undefined) w.uint32(0x30).uint64(checkInt(h.zeroCountInt, 'histogram zero count'));
  else if (h.zeroCountFloat !== undefined) w.uint32(0x39).double(h.zeroCountFloat);
  writeSpans(w, 0x42, h.negativeSpans);
  writeDeltas(w, 0x4a, h.negativeDeltas);
  writeCounts(w, 0x52, h.negativeCounts);
  writeSpans(w, 0x5a, h.positiveSpans);
  writeDeltas(w, 0x62, h.positiveDeltas);
  writeCounts(w, 0x6a, h.positiveCounts);
  if (h.resetHint !== 0) w.uint32(0x70).int32(h.resetHint);
  if (h.timestamp !== 0) w.uint32(0x78).int64(checkInt(h.timestamp, 'histogram timestamp'));
  if (h.customValues !== undefined) writeCounts(w, 0x82, h.customValues);
  if (startTimestamp !== 0) w.uint32(0x88).int64(checkInt(startTimestamp, 'histogram start timestamp'));
  w.ldelim();
}

/** Writes one TimeSeries as field 1 (WriteRequest.timeseries, and QueryResult.timeseries in remote read). */
export function writeTimeSeries(w: Writer, ts: TimeSeries): void {
  w.uint32(0x0a).fork();
  writeLabels(w, 0x0a, ts.labels);
  for (const s of ts.samples) writeSample(w, s);
  for (const e of ts.exemplars) writeExemplar(w, e);
  for (const h of ts.histograms) writeHistogram(w, h);
  w.ldelim();
}

function writeMetadata(w: Writer, m: MetricMetadata): void {
  w.uint32(0x1a).fork();
  const type = METRIC_TYPES.indexOf(m.type);
  if (type > 0) w.uint32(0x08).int32(type);
  if (m.metricFamilyName !== '') w.uint32(0x12).string(m.metricFamilyName);
  if (m.help !== '') w.uint32(0x22).string(m.help);
  if (m.unit !== '') w.uint32(0x2a).string(m.unit);
  w.ldelim();
}

/**
 * Encodes a WriteRequest (uncompressed protobuf; compress with `snappyCompress` to send).
 *
 * @throws RangeError when a timestamp, count or delta is not a safe integer (a caller bug).
 */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  const w = protobuf.Writer.create();
  for (const ts of req.timeseries) writeTimeSeries(w, ts);
  for (const m of req.metadata) writeMetadata(w, m);
  return w.finish();
}
