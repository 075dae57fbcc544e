/**
 * Encoder of remote-write 2.0 `io.prometheus.write.v2.Request`: the inverse of
 * remote-write-v2-decode.ts. Used to re-encode part of a 2.0 request (one HA group of a mixed
 * request, or the valid series of a partly invalid one) and by tests.
 *
 * Strings are interned into the symbols table, which starts with "" as the specification
 * requires. Family metadata is attached to every series of that metric name; a family without
 * a series of its name travels on a series of its own that has only a `__name__` label.
 * The created timestamp is written as TimeSeries.created_timestamp (field 6).
 */
import protobuf from 'protobufjs/minimal.js';
import type { Writer } from 'protobufjs/minimal.js';
import { METRIC_TYPES } from './types.js';
import type { Label, MetricMetadata, TimeSeries, WriteRequest } from './types.js';
import { writeHistogram } from './remote-write-encode.js';

class Symbols {
  readonly list: string[] = [''];
  private readonly refs = new Map<string, number>([['', 0]]);

  ref(s: string): number {
    let r = this.refs.get(s);
    if (r === undefined) {
      r = this.list.length;
      this.list.push(s);
      this.refs.set(s, r);
    }
    return r;
  }
}

function checkInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be a safe integer, got ${v}`);
  return v;
}

function nonDefault(v: number): boolean {
  return v !== 0 || Object.is(v, -0);
}

function writeRefs(w: Writer, symbols: Symbols, labels: readonly Label[]): void {
  if (labels.length === 0) return;
  w.uint32(0x0a).fork();
  for (const l of labels) w.uint32(symbols.ref(l.name)).uint32(symbols.ref(l.value));
  w.ldelim();
}

function writeSeries(w: Writer, symbols: Symbols, ts: TimeSeries, meta: MetricMetadata | undefined): void {
  w.uint32(0x2a).fork();
  writeRefs(w, symbols, ts.labels);
  for (const s of ts.samples) {
    w.uint32(0x12).fork();
    if (nonDefault(s.value)) w.uint32(0x09).double(s.value);
    if (s.timestamp !== 0) w.uint32(0x10).int64(checkInt(s.timestamp, 'sample timestamp'));
    w.ldelim();
  }
  for (const h of ts.histograms) writeHistogram(w, h, 0x1a);
  for (const e of ts.exemplars) {
    w.uint32(0x22).fork();
    writeRefs(w, symbols, e.labels);
    if (nonDefault(e.value)) w.uint32(0x11).double(e.value);
    if (e.timestamp !== 0) w.uint32(0x18).int64(checkInt(e.timestamp, 'exemplar timestamp'));
    w.ldelim();
  }
  if (meta !== undefined) {
    w.uint32(0x2a).fork();
    const type = METRIC_TYPES.indexOf(meta.type);
    if (type > 0) w.uint32(0x08).int32(type);
    const help = symbols.ref(meta.help);
    const unit = symbols.ref(meta.unit);
    if (help !== 0) w.uint32(0x18).uint32(help);
    if (unit !== 0) w.uint32(0x20).uint32(unit);
    w.ldelim();
  }
  if (ts.createdTimestamp !== undefined && ts.createdTimestamp !== 0) {
    w.uint32(0x30).int64(checkInt(ts.createdTimestamp, 'created timestamp'));
  }
  w.ldelim();
}

/**
 * Encodes a WriteRequest as a remote-write 2.0 Request (uncompressed protobuf; compress with
 * `snappyCompress` to send).
 *
 * @throws RangeError when a timestamp, count or delta is not a safe integer (a caller bug).
 */
export function encodeWriteRequestV2(req: WriteRequest): Uint8Array {
  const families = new Map<string, MetricMetadata>();
  for (const m of req.metadata) families.set(m.metricFamilyName, m);
  const symbols = new Symbols();
  // Series first into their own writer: the symbols table they fill must precede them.
  const body = protobuf.Writer.create();
  const named = new Set<string>();
  for (const ts of req.timeseries) {
    const name = ts.labels.find((l) => l.name === '__name__')?.value;
    if (name !== undefined) named.add(name);
    writeSeries(body, symbols, ts, name === undefined ? undefined : families.get(name));
  }
  for (const m of families.values()) {
    if (named.has(m.metricFamilyName)) continue;
    const carrier: TimeSeries = { labels: [{ name: '__name__', value: m.metricFamilyName }], samples: [], exemplars: [], histograms: [] };
    writeSeries(body, symbols, carrier, m);
  }
  const series = body.finish();
  const w = protobuf.Writer.create();
  for (const s of symbols.list) w.uint32(0x22).string(s);
  const head = w.finish();
  const out = new Uint8Array(head.length + series.length);
  out.set(head, 0);
  out.set(series, head.length);
  return out;
}
