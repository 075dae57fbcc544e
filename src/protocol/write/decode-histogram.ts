/**
 * Decoder for `prometheus.Histogram` (native histograms, prompb/types.proto) and its
 * BucketSpans. Repeated scalars are accepted packed and unpacked, as protobuf requires.
 */
import type { Reader } from 'protobufjs/minimal.js';
import type { BucketSpan, Histogram } from './types.js';
import { enter, leave, skipUnexpected } from '../wire/pb-reader.js';
import { readInt64, readSint64, readUint64 } from '../wire/varint.js';
import { tooManyPoints, type DecodeContext } from './decode-limits.js';

/** Every span and bucket counts against the request's point budget (--web.max-samples-per-request). */
function spend(ctx: DecodeContext): void {
  if (--ctx.points < 0) tooManyPoints(ctx);
}

const HISTOGRAM_FIELDS: readonly string[] = [
  '', 'count_int', 'count_float', 'sum', 'schema', 'zero_threshold', 'zero_count_int', 'zero_count_float',
  'negative_spans', 'negative_deltas', 'negative_counts', 'positive_spans', 'positive_deltas', 'positive_counts',
  'reset_hint', 'timestamp', 'custom_values', 'start_timestamp',
];
const SPAN_FIELDS: readonly string[] = ['', 'offset', 'length'];

function readSpan(r: Reader, ctx: DecodeContext): BucketSpan {
  spend(ctx);
  const outer = enter(r, 'BucketSpan');
  let offset = 0;
  let length = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x08) offset = r.sint32();
    else if (tag === 0x10) length = r.uint32();
    else skipUnexpected(r, tag, 'BucketSpan', SPAN_FIELDS);
  }
  leave(r, outer);
  return { offset, length };
}

function readPackedSint64(r: Reader, ctx: DecodeContext, into: number[]): void {
  const outer = enter(r, 'packed sint64');
  while (r.pos < r.len) {
    spend(ctx);
    into.push(readSint64(r));
  }
  leave(r, outer);
}

function readPackedDouble(r: Reader, ctx: DecodeContext, into: number[]): void {
  const outer = enter(r, 'packed double');
  if ((r.len - r.pos) % 8 !== 0) throw new RangeError(`packed double of ${r.len - r.pos} bytes is not a multiple of 8`);
  while (r.pos < r.len) {
    spend(ctx);
    into.push(r.double());
  }
  leave(r, outer);
}

/**
 * Reads one length-delimited Histogram at r.pos. Field 17 (remote-write 2.0's start_timestamp)
 * is handed to `onStart` when non-zero; other unknown fields are skipped.
 */
export function readHistogram(r: Reader, ctx: DecodeContext, onStart?: (ms: number) => void): Histogram {
  const outer = enter(r, 'Histogram');
  const h: Histogram = {
    countInt: undefined,
    countFloat: undefined,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCountInt: undefined,
    zeroCountFloat: undefined,
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
    positiveSpans: [],
    positiveDeltas: [],
    positiveCounts: [],
    resetHint: 0,
    timestamp: 0,
  };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      // count and zero_count are oneofs: the last member seen wins and clears the other.
      case 0x08: h.countInt = readUint64(r); h.countFloat = undefined; break;
      case 0x11: h.countFloat = r.double(); h.countInt = undefined; break;
      case 0x19: h.sum = r.double(); break;
      case 0x20: h.schema = r.sint32(); break;
      case 0x29: h.zeroThreshold = r.double(); break;
      case 0x30: h.zeroCountInt = readUint64(r); h.zeroCountFloat = undefined; break;
      case 0x39: h.zeroCountFloat = r.double(); h.zeroCountInt = undefined; break;
      case 0x42: h.negativeSpans.push(readSpan(r, ctx)); break;
      case 0x4a: readPackedSint64(r, ctx, h.negativeDeltas); break;
      case 0x48: spend(ctx); h.negativeDeltas.push(readSint64(r)); break;
      case 0x52: readPackedDouble(r, ctx, h.negativeCounts); break;
      case 0x51: spend(ctx); h.negativeCounts.push(r.double()); break;
      case 0x5a: h.positiveSpans.push(readSpan(r, ctx)); break;
      case 0x62: readPackedSint64(r, ctx, h.positiveDeltas); break;
      case 0x60: spend(ctx); h.positiveDeltas.push(readSint64(r)); break;
      case 0x6a: readPackedDouble(r, ctx, h.positiveCounts); break;
      case 0x69: spend(ctx); h.positiveCounts.push(r.double()); break;
      case 0x70: h.resetHint = r.int32(); break;
      case 0x78: h.timestamp = readInt64(r); break;
      case 0x82: readPackedDouble(r, ctx, (h.customValues ??= [])); break; // field 16, packed
      case 0x81: (h.customValues ??= []).push(r.double()); break; // field 16, unpacked
      case 0x88: { // field 17
        const start = readInt64(r);
        if (start !== 0 && onStart) onStart(start);
        break;
      }
      default: skipUnexpected(r, tag, 'Histogram', HISTOGRAM_FIELDS);
    }
  }
  leave(r, outer);
  return h;
}
