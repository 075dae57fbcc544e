/**
 * Hand-written decoder of remote-write 1.0 `prometheus.WriteRequest` (prometheus/prompb
 * remote.proto + types.proto) on protobufjs's low-level Reader.
 *
 * Generated code would allocate a Long per timestamp and decode every label string anew; this
 * reads timestamps straight into numbers (varint.ts) and reuses the strings of labels repeated
 * within the body (label-cache.ts). Unknown fields are skipped; a known field with the wrong
 * wire type, a truncation, or a length running past its message is BAD_PROTOBUF; a label that
 * is not valid UTF-8 is INVALID_LABELS.
 */
import { PromfleetError } from '../../errors.js';
import { METRIC_TYPES } from './types.js';
import type { Exemplar, Histogram, Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest } from './types.js';
import { readHistogram } from './decode-histogram.js';
import { LabelCache } from './label-cache.js';
import {
  type ByteReader, createReader, decodeUtf8, enter, leave, readLength, readStringOrNull, showInvalid, skipUnexpected, toDecodeError,
} from '../wire/pb-reader.js';
import { readInt64 } from '../wire/varint.js';
import {
  DecodeContext, NO_DECODE_LIMITS, labelTooLong, tooManyLabels, tooManyPoints, tooManySamplesInSeries, tooManySeries,
  type DecodeLimits,
} from './decode-limits.js';

const WRITE_REQUEST_FIELDS: readonly string[] = ['', 'timeseries', '', 'metadata'];
const TIMESERIES_FIELDS: readonly string[] = ['', 'labels', 'samples', 'exemplars', 'histograms'];
const LABEL_FIELDS: readonly string[] = ['', 'name', 'value'];
const SAMPLE_FIELDS: readonly string[] = ['', 'value', 'timestamp'];
const EXEMPLAR_FIELDS: readonly string[] = ['', 'labels', 'value', 'timestamp'];
const METADATA_FIELDS: readonly string[] = ['', 'type', 'metric_family_name', '', 'help', 'unit'];

// decodeWriteRequest is synchronous, so one cache serves every call without interleaving.
const labelCache = new LabelCache();

function invalidLabelString(r: ByteReader, ctx: DecodeContext, start: number, end: number, what: string): PromfleetError {
  return new PromfleetError('INVALID_LABELS', `${ctx.describe()}: ${what} is not valid UTF-8: ${showInvalid(r.buf, start, end)}`);
}

/** Reads one string field of a Label; INVALID_LABELS when it is not UTF-8. */
function readLabelString(r: ByteReader, ctx: DecodeContext, isName: boolean, name: string): string {
  const len = readLength(r, isName ? 'label name' : 'label value');
  if (len > (isName ? ctx.limits.maxLabelNameBytes : ctx.limits.maxLabelValueBytes)) labelTooLong(ctx, ctx.describe(), isName, len);
  const start = r.pos;
  const end = start + len;
  r.pos = end;
  const s = decodeUtf8(r.buf, start, end);
  if (s === null) {
    throw invalidLabelString(r, ctx, start, end, isName ? 'label name' : name === '' ? 'label value' : `value of label ${JSON.stringify(name)}`);
  }
  return s;
}

/** Reads one length-delimited Label, reusing the strings of an identical Label seen earlier. */
function readLabel(r: ByteReader, ctx: DecodeContext): Label {
  const len = readLength(r, 'Label');
  const start = r.pos;
  const end = start + len;
  const slot = labelCache.find(start, end);
  if (slot >= 0) {
    r.pos = end;
    return { name: labelCache.name(slot), value: labelCache.value(slot) };
  }
  const outer = r.len;
  r.len = end;
  let name = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 0x0a) name = readLabelString(r, ctx, true, '');
    else if (tag === 0x12) value = readLabelString(r, ctx, false, name);
    else skipUnexpected(r, tag, 'Label', LABEL_FIELDS);
  }
  r.len = outer;
  labelCache.store(start, end, name, value);
  return { name, value };
}

function readSample(r: ByteReader): Sample {
  const outer = enter(r, 'Sample');
  let value = 0;
  let timestamp = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x09) value = r.double();
    else if (tag === 0x10) timestamp = readInt64(r);
    else skipUnexpected(r, tag, 'Sample', SAMPLE_FIELDS);
  }
  leave(r, outer);
  return { value, timestamp };
}

function readExemplar(r: ByteReader, ctx: DecodeContext): Exemplar {
  const outer = enter(r, 'Exemplar');
  const labels: Label[] = [];
  let value = 0;
  let timestamp = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x0a) {
      if (labels.push(readLabel(r, ctx)) > ctx.limits.maxLabelsPerSeries) tooManyLabels(ctx, ctx.describe());
    } else if (tag === 0x11) value = r.double();
    else if (tag === 0x18) timestamp = readInt64(r);
    else skipUnexpected(r, tag, 'Exemplar', EXEMPLAR_FIELDS);
  }
  leave(r, outer);
  return { labels, value, timestamp };
}

function readTimeSeries(r: ByteReader, ctx: DecodeContext): TimeSeries {
  const outer = enter(r, 'TimeSeries');
  const labels: Label[] = [];
  const samples: Sample[] = [];
  const exemplars: Exemplar[] = [];
  const histograms: Histogram[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        ctx.field = 'labels';
        ctx.index = labels.length;
        if (labels.push(readLabel(r, ctx)) > ctx.limits.maxLabelsPerSeries) tooManyLabels(ctx, `series ${ctx.series}`);
        break;
      case 0x12:
        ctx.field = 'samples';
        ctx.index = samples.length;
        if (samples.push(readSample(r)) + histograms.length > ctx.limits.maxSamplesPerSeries) tooManySamplesInSeries(ctx, ctx.series);
        if (--ctx.points < 0) tooManyPoints(ctx);
        break;
      case 0x1a:
        ctx.field = 'exemplars';
        ctx.index = exemplars.length;
        exemplars.push(readExemplar(r, ctx));
        if (--ctx.points < 0) tooManyPoints(ctx);
        break;
      case 0x22:
        ctx.field = 'histograms';
        ctx.index = histograms.length;
        if (histograms.push(readHistogram(r, ctx)) + samples.length > ctx.limits.maxSamplesPerSeries) tooManySamplesInSeries(ctx, ctx.series);
        if (--ctx.points < 0) tooManyPoints(ctx);
        break;
      default:
        ctx.field = '';
        skipUnexpected(r, tag, 'TimeSeries', TIMESERIES_FIELDS);
    }
  }
  leave(r, outer);
  ctx.field = '';
  return { labels, samples, exemplars, histograms };
}

function readMetadataString(r: ByteReader, ctx: DecodeContext, field: string): string {
  const s = readStringOrNull(r, field);
  if (s === null) throw new PromfleetError('BAD_PROTOBUF', `${ctx.describe()}: ${field} is not valid UTF-8`);
  return s;
}

function readMetadata(r: ByteReader, ctx: DecodeContext): MetricMetadata {
  const outer = enter(r, 'MetricMetadata');
  let type: MetricType = 'unknown';
  let metricFamilyName = '';
  let help = '';
  let unit = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08: {
        // An enum value newer than this decoder is kept as 'unknown' rather than refused.
        const t = r.int32();
        type = t >= 0 && t < METRIC_TYPES.length ? METRIC_TYPES[t] : 'unknown';
        break;
      }
      case 0x12: metricFamilyName = readMetadataString(r, ctx, 'metric_family_name'); break;
      case 0x22: help = readMetadataString(r, ctx, 'help'); break;
      case 0x2a: unit = readMetadataString(r, ctx, 'unit'); break;
      default: skipUnexpected(r, tag, 'MetricMetadata', METADATA_FIELDS);
    }
  }
  leave(r, outer);
  return { type, metricFamilyName, help, unit };
}

/**
 * Decodes a run of Label messages (each with its field-1 tag) in buf[start, end), strictly, as
 * decodeWriteRequest decodes a series' labels: the worker's fast path asks for the labels of the
 * series it has not seen before.
 */
export function decodeLabelRun(buf: Uint8Array, start: number, end: number): Label[] {
  const r = createReader(buf);
  r.pos = start;
  r.len = end;
  const ctx = new DecodeContext(NO_DECODE_LIMITS);
  ctx.field = 'labels';
  const labels: Label[] = [];
  labelCache.begin(r.buf);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag !== 0x0a) throw new RangeError(`TimeSeries field ${tag >>> 3} where labels were expected`);
      ctx.index = labels.length;
      labels.push(readLabel(r, ctx));
    }
  } catch (err) {
    throw toDecodeError(err, ctx);
  } finally {
    labelCache.end();
  }
  return labels;
}

/**
 * Decodes an uncompressed remote-write 1.0 body.
 *
 * @param limits counts and lengths refused while reading (default: none), each with its
 *   `LIMIT_*` code, before more than one element past the limit is allocated.
 * @throws PromfleetError `BAD_PROTOBUF` (malformed, truncated, wrong wire type, timestamp
 *   beyond ±2^53 ms, metadata string not UTF-8), `INVALID_LABELS` (label not UTF-8) or a
 *   `LIMIT_*` code. The message is one line and names the series or metadata entry.
 */
export function decodeWriteRequest(buf: Uint8Array, limits: DecodeLimits = NO_DECODE_LIMITS): WriteRequest {
  const timeseries: TimeSeries[] = [];
  const metadata: MetricMetadata[] = [];
  const r = createReader(buf);
  const ctx = new DecodeContext(limits);
  labelCache.begin(r.buf);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 0x0a) {
        if (timeseries.length >= limits.maxSeriesPerRequest) tooManySeries(ctx, 'series');
        ctx.series = timeseries.length;
        timeseries.push(readTimeSeries(r, ctx));
        ctx.series = -1;
      } else if (tag === 0x1a) {
        if (metadata.length >= limits.maxSeriesPerRequest) tooManySeries(ctx, 'metadata entries');
        ctx.metadata = metadata.length;
        metadata.push(readMetadata(r, ctx));
        ctx.metadata = -1;
      } else {
        skipUnexpected(r, tag, 'WriteRequest', WRITE_REQUEST_FIELDS);
      }
    }
  } catch (err) {
    throw toDecodeError(err, ctx);
  } finally {
    labelCache.end();
  }
  return { timeseries, metadata };
}
