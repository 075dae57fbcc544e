/**
 * Hand-written decoder of remote-write 2.0 `io.prometheus.write.v2.Request`
 * (prometheus/prompb/io/prometheus/write/v2/types.proto) on protobufjs's low-level Reader, into
 * the same WriteRequest shape remote-write 1.0 decodes to.
 *
 * Request { 4 repeated string symbols; 5 repeated TimeSeries timeseries }
 * TimeSeries { 1 repeated uint32 labels_refs; 2 Sample samples; 3 Histogram histograms;
 *   4 Exemplar exemplars; 5 Metadata metadata; 6 int64 created_timestamp }
 * Sample { 1 double value; 2 int64 timestamp; 3 int64 start_timestamp }
 * Exemplar { 1 repeated uint32 labels_refs; 2 double value; 3 int64 timestamp }
 * Metadata { 1 MetricType type; 3 uint32 help_ref; 4 uint32 unit_ref }
 * Histogram is 1.0's message plus 16 custom_values and 17 start_timestamp (decode-histogram.ts).
 *
 * Symbols may come after the series that reference them (protobuf does not order fields), so
 * the top level is read in two passes: symbols first, series second. Labels are sorted by name
 * here (the specification says "should be sorted", and senders building them from maps do not);
 * duplicates are left for validation. Per-series metadata becomes per-family metadata, keyed by
 * the series' metric name (the last one of a family wins). Unknown fields are skipped.
 */
import { PromfleetError } from '../../errors.js';
import { METRIC_TYPES } from './types.js';
import type { Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest } from './types.js';
import { readHistogram } from './decode-histogram.js';
import { DecodeContext, NO_DECODE_LIMITS } from './decode-limits.js';
import {
  type ByteReader, createReader, decodeUtf8, enter, leave, readLength, showInvalid, skipUnexpected, toDecodeError,
} from '../wire/pb-reader.js';
import { readInt64 } from '../wire/varint.js';

const REQUEST_FIELDS: readonly string[] = ['', '', '', '', 'symbols', 'timeseries'];
const TIMESERIES_FIELDS: readonly string[] = ['', 'labels_refs', 'samples', 'histograms', 'exemplars', 'metadata', 'created_timestamp'];
const SAMPLE_FIELDS: readonly string[] = ['', 'value', 'timestamp', 'start_timestamp'];
const EXEMPLAR_FIELDS: readonly string[] = ['', 'labels_refs', 'value', 'timestamp'];
const METADATA_FIELDS: readonly string[] = ['', 'type', '', 'help_ref', 'unit_ref'];

interface V2Metadata {
  type: number;
  helpRef: number;
  unitRef: number;
}

/** Reads a labels_refs field (packed or one unpacked element) into `into`. */
function readRefs(r: ByteReader, tag: number, into: number[]): void {
  if ((tag & 7) === 2) {
    const outer = enter(r, 'labels_refs');
    while (r.pos < r.len) into.push(r.uint32());
    leave(r, outer);
  } else {
    into.push(r.uint32());
  }
}

function symbol(symbols: readonly string[], ref: number, what: string): string {
  const s = symbols[ref];
  if (s === undefined) throw new RangeError(`${what} references symbol ${ref} but the request has ${symbols.length} symbols`);
  return s;
}

/** The label pairs of labels_refs, sorted by name. */
function toLabels(symbols: readonly string[], refs: readonly number[], what: string): Label[] {
  if (refs.length % 2 !== 0) throw new RangeError(`${what} has an odd number (${refs.length}) of references`);
  const labels: Label[] = [];
  let sorted = true;
  for (let i = 0; i < refs.length; i += 2) {
    const name = symbol(symbols, refs[i], what);
    if (labels.length > 0 && name < labels[labels.length - 1].name) sorted = false;
    labels.push({ name, value: symbol(symbols, refs[i + 1], what) });
  }
  if (!sorted) labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return labels;
}

function readSample(r: ByteReader, onStart: (ms: number) => void): Sample {
  const outer = enter(r, 'Sample');
  let value = 0;
  let timestamp = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x09) value = r.double();
    else if (tag === 0x10) timestamp = readInt64(r);
    else if (tag === 0x18) {
      const start = readInt64(r);
      if (start !== 0) onStart(start);
    } else skipUnexpected(r, tag, 'Sample', SAMPLE_FIELDS);
  }
  leave(r, outer);
  return { value, timestamp };
}

function readExemplar(r: ByteReader, symbols: readonly string[]): Exemplar {
  const outer = enter(r, 'Exemplar');
  const refs: number[] = [];
  let value = 0;
  let timestamp = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x0a || tag === 0x08) readRefs(r, tag, refs);
    else if (tag === 0x11) value = r.double();
    else if (tag === 0x18) timestamp = readInt64(r);
    else skipUnexpected(r, tag, 'Exemplar', EXEMPLAR_FIELDS);
  }
  leave(r, outer);
  return { labels: toLabels(symbols, refs, 'exemplar labels_refs'), value, timestamp };
}

function readMetadata(r: ByteReader): V2Metadata {
  const outer = enter(r, 'Metadata');
  const m: V2Metadata = { type: 0, helpRef: 0, unitRef: 0 };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x08) m.type = r.int32();
    else if (tag === 0x18) m.helpRef = r.uint32();
    else if (tag === 0x20) m.unitRef = r.uint32();
    else skipUnexpected(r, tag, 'Metadata', METADATA_FIELDS);
  }
  leave(r, outer);
  return m;
}

function readTimeSeries(r: ByteReader, ctx: DecodeContext, symbols: readonly string[], families: Map<string, MetricMetadata>): TimeSeries {
  const refs: number[] = [];
  const samples: Sample[] = [];
  const exemplars: Exemplar[] = [];
  const histograms: Histogram[] = [];
  let metadata: V2Metadata | undefined;
  let created = 0;
  const onStart = (ms: number): void => {
    created = ms;
  };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
      case 0x08:
        ctx.field = 'labels_refs';
        ctx.index = refs.length;
        readRefs(r, tag, refs);
        break;
      case 0x12:
        ctx.field = 'samples';
        ctx.index = samples.length;
        samples.push(readSample(r, onStart));
        break;
      case 0x1a:
        ctx.field = 'histograms';
        ctx.index = histograms.length;
        histograms.push(readHistogram(r, ctx, onStart));
        break;
      case 0x22:
        ctx.field = 'exemplars';
        ctx.index = exemplars.length;
        exemplars.push(readExemplar(r, symbols));
        break;
      case 0x2a:
        ctx.field = 'metadata';
        ctx.index = 0;
        metadata = readMetadata(r);
        break;
      case 0x30:
        ctx.field = 'created_timestamp';
        ctx.index = 0;
        created = readInt64(r);
        break;
      default:
        ctx.field = '';
        skipUnexpected(r, tag, 'TimeSeries', TIMESERIES_FIELDS);
    }
  }
  ctx.field = 'labels_refs';
  ctx.index = 0;
  const labels = toLabels(symbols, refs, 'labels_refs');
  ctx.field = '';
  const ts: TimeSeries = { labels, samples, exemplars, histograms };
  if (created !== 0) ts.createdTimestamp = created;
  if (metadata !== undefined && (metadata.type !== 0 || metadata.helpRef !== 0 || metadata.unitRef !== 0)) {
    const name = labels.find((l) => l.name === '__name__')?.value;
    const help = symbol(symbols, metadata.helpRef, 'metadata help_ref');
    const unit = symbol(symbols, metadata.unitRef, 'metadata unit_ref');
    // An enum value newer than this decoder is kept as 'unknown' rather than refused.
    const type = metadata.type >= 0 && metadata.type < METRIC_TYPES.length ? METRIC_TYPES[metadata.type] : 'unknown';
    if (name !== undefined && name !== '') {
      families.delete(name); // re-inserted last: the order is the order of last appearance
      families.set(name, { type, metricFamilyName: name, help, unit });
    }
  }
  return ts;
}

/** First pass: the symbols table, and where each TimeSeries message lies. */
function scan(r: ByteReader): { symbols: string[]; series: number[] } {
  const symbols: string[] = [];
  const series: number[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x22) {
      const len = readLength(r, 'symbol');
      const start = r.pos;
      r.pos = start + len;
      const s = decodeUtf8(r.buf, start, start + len);
      if (s === null) {
        throw new PromfleetError('INVALID_LABELS', `symbol ${symbols.length} is not valid UTF-8: ${showInvalid(r.buf, start, start + len)}`);
      }
      symbols.push(s);
    } else if (tag === 0x2a) {
      const len = readLength(r, 'TimeSeries');
      series.push(r.pos, r.pos + len);
      r.pos += len;
    } else {
      skipUnexpected(r, tag, 'Request', REQUEST_FIELDS);
    }
  }
  return { symbols, series };
}

/**
 * Decodes an uncompressed remote-write 2.0 body.
 *
 * @throws PromfleetError `BAD_PROTOBUF` (malformed, truncated, wrong wire type, symbols[0] not
 *   empty, a reference outside the symbols table, an odd number of label references) or
 *   `INVALID_LABELS` (a symbol that is not UTF-8). The message is one line and names the series.
 */
export function decodeWriteRequestV2(buf: Uint8Array): WriteRequest {
  const r = createReader(buf);
  // No limits while decoding: the caller holds the decoded request to them (checkDecodedLimits).
  const ctx = new DecodeContext(NO_DECODE_LIMITS);
  try {
    const { symbols, series } = scan(r);
    if (symbols.length > 0 && symbols[0] !== '') {
      throw new PromfleetError('BAD_PROTOBUF', `Request: symbols[0] must be the empty string, got ${JSON.stringify(symbols[0].slice(0, 80))}`);
    }
    const timeseries: TimeSeries[] = [];
    const families = new Map<string, MetricMetadata>();
    for (let i = 0; i < series.length; i += 2) {
      ctx.series = timeseries.length;
      r.pos = series[i];
      r.len = series[i + 1];
      timeseries.push(readTimeSeries(r, ctx, symbols, families));
    }
    ctx.series = -1;
    return { timeseries, metadata: [...families.values()] };
  } catch (err) {
    throw toDecodeError(err, ctx);
  }
}
