/**
 * Encoders of remote-read messages: the SAMPLES `prometheus.ReadResponse` a server sends, and
 * the `prometheus.ReadRequest` a client (or a test) sends. Zero scalars and empty strings are
 * omitted as proto3 (and Prometheus's gogo-protobuf) does; TimeSeries go through the write
 * encoder, so sample values are written from their float64 bits and stale markers survive.
 */
import protobuf from 'protobufjs/minimal.js';
import type { Writer } from 'protobufjs/minimal.js';
import { MATCHER_TYPES, RESPONSE_TYPES } from './remote-read-types.js';
import type { LabelMatcher, Query, QueryResult, ReadHints, ReadRequest } from './remote-read-types.js';
import { writeTimeSeries } from '../write/remote-write-encode.js';

function checkInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be a safe integer, got ${v}`);
  return v;
}

function writeMatcher(w: Writer, m: LabelMatcher): void {
  w.uint32(0x1a).fork();
  const type = MATCHER_TYPES.indexOf(m.type);
  if (type > 0) w.uint32(0x08).int32(type);
  if (m.name !== '') w.uint32(0x12).string(m.name);
  if (m.value !== '') w.uint32(0x1a).string(m.value);
  w.ldelim();
}

function writeHints(w: Writer, h: ReadHints): void {
  w.uint32(0x22).fork();
  if (h.stepMs !== 0) w.uint32(0x08).int64(checkInt(h.stepMs, 'hints step_ms'));
  if (h.func !== '') w.uint32(0x12).string(h.func);
  if (h.startMs !== 0) w.uint32(0x18).int64(checkInt(h.startMs, 'hints start_ms'));
  if (h.endMs !== 0) w.uint32(0x20).int64(checkInt(h.endMs, 'hints end_ms'));
  for (const g of h.grouping) w.uint32(0x2a).string(g);
  if (h.by) w.uint32(0x30).bool(true);
  if (h.rangeMs !== 0) w.uint32(0x38).int64(checkInt(h.rangeMs, 'hints range_ms'));
  w.ldelim();
}

function writeQuery(w: Writer, q: Query): void {
  w.uint32(0x0a).fork();
  if (q.startTimestampMs !== 0) w.uint32(0x08).int64(checkInt(q.startTimestampMs, 'query start_timestamp_ms'));
  if (q.endTimestampMs !== 0) w.uint32(0x10).int64(checkInt(q.endTimestampMs, 'query end_timestamp_ms'));
  for (const m of q.matchers) writeMatcher(w, m);
  if (q.hints !== undefined) writeHints(w, q.hints);
  w.ldelim();
}

/**
 * Encodes a ReadRequest (uncompressed; compress with `snappyCompress` to send). Accepted
 * response types are written packed, as Prometheus does.
 *
 * @throws RangeError when a timestamp is not a safe integer (a caller bug).
 */
export function encodeReadRequest(req: ReadRequest): Uint8Array {
  const w = protobuf.Writer.create();
  for (const q of req.queries) writeQuery(w, q);
  if (req.acceptedResponseTypes.length > 0) {
    w.uint32(0x12).fork();
    for (const t of req.acceptedResponseTypes) w.int32(RESPONSE_TYPES.indexOf(t));
    w.ldelim();
  }
  return w.finish();
}

/**
 * Encodes a SAMPLES ReadResponse: one QueryResult per query, in order (uncompressed; the
 * HTTP answer is snappy-compressed).
 *
 * @throws RangeError when a sample timestamp is not a safe integer (a caller bug).
 */
export function encodeReadResponse(results: readonly QueryResult[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const result of results) {
    w.uint32(0x0a).fork();
    for (const ts of result.timeseries) writeTimeSeries(w, ts);
    w.ldelim();
  }
  return w.finish();
}
