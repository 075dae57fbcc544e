/**
 * A SAMPLES `prometheus.ReadResponse` written straight from a read's columns: each series is
 * one `QueryResult.timeseries` field (tag, length, `prometheus.TimeSeries`) written into one
 * buffer of its exact size, without an object per sample; the response is those fields wrapped
 * in their QueryResults. The bytes are the ones encodeReadResponse writes for the same series
 * (zero timestamps and +0 values omitted as proto3 does, -0 written), and each value is written
 * from its 64 bits as two integers, so NaN payloads (the stale marker) survive.
 */
import protobuf from 'protobufjs/minimal.js';
import {
  high32, labelBodySize, snappyBlock, snappyFragment, snappyLiteral, varint64Size, varintSize, writeLabelField, writeTimeSeries, writeVarint,
  writeVarint64, type Label, type TimeSeries,
} from '../protocol/index.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = 1 - HI;

/**
 * One series as a complete `QueryResult.timeseries` field: its labels (sorted) and its float
 * samples as columns.
 *
 * @throws RangeError when a timestamp is not a safe integer (a caller bug).
 */
export function encodeSeriesColumns(labels: readonly Label[], times: Float64Array, values: Float64Array): Uint8Array {
  const n = times.length;
  if (values.length !== n) throw new RangeError(`${n} timestamps but ${values.length} values`);
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  const names: Buffer[] = [];
  let size = 0;
  for (const l of labels) {
    const name = Buffer.from(l.name);
    const value = Buffer.from(l.value);
    names.push(name, value);
    const len = labelBodySize(name, value);
    size += 1 + varintSize(len) + len;
  }
  for (let i = 0; i < n; i++) {
    const t = times[i];
    if (!Number.isSafeInteger(t)) throw new RangeError(`sample timestamp must be a safe integer, got ${t}`);
    // A Sample message is at most 9 + 11 bytes: its length is one byte.
    size += 2 + ((words[2 * i + HI] | words[2 * i + LO]) !== 0 ? 9 : 0) + (t !== 0 ? 1 + varint64Size(high32(t), t >>> 0) : 0);
  }
  const out = Buffer.allocUnsafe(1 + varintSize(size) + size);
  out[0] = 0x0a;
  let pos = writeVarint(out, 1, size);
  for (let k = 0; k < names.length; k += 2) {
    const name = names[k];
    const value = names[k + 1];
    pos = writeLabelField(out, pos, name, value, labelBodySize(name, value));
  }
  for (let i = 0; i < n; i++) {
    const t = times[i];
    const hi = words[2 * i + HI];
    const lo = words[2 * i + LO];
    const withValue = (hi | lo) !== 0;
    const tHi = high32(t);
    const tLo = t >>> 0;
    out[pos++] = 0x12;
    out[pos++] = (withValue ? 9 : 0) + (t !== 0 ? 1 + varint64Size(tHi, tLo) : 0);
    if (withValue) {
      // fixed64, little-endian.
      out[pos] = 0x09;
      out[pos + 1] = lo;
      out[pos + 2] = lo >>> 8;
      out[pos + 3] = lo >>> 16;
      out[pos + 4] = lo >>> 24;
      out[pos + 5] = hi;
      out[pos + 6] = hi >>> 8;
      out[pos + 7] = hi >>> 16;
      out[pos + 8] = hi >>> 24;
      pos += 9;
    }
    if (t !== 0) {
      out[pos++] = 0x10;
      pos = writeVarint64(out, pos, tHi, tLo);
    }
  }
  if (pos !== out.length) throw new Error(`encodeSeriesColumns: wrote ${pos} of ${out.length} bytes`);
  return out;
}

/** One series with native histograms or exemplars as a complete `QueryResult.timeseries` field (through the write encoder). */
export function encodeSeriesObject(ts: TimeSeries): Uint8Array {
  const w = protobuf.Writer.create();
  writeTimeSeries(w, ts);
  return w.finish();
}

/**
 * A SAMPLES ReadResponse from each query's encoded series fields, in order: one QueryResult
 * per query (uncompressed; the HTTP answer is snappy-compressed).
 */
export function encodeReadResponseFromSeries(results: readonly (readonly Uint8Array[])[]): Uint8Array {
  const sizes = results.map((parts) => parts.reduce((sum, p) => sum + p.length, 0));
  const total = sizes.reduce((sum, s) => sum + 1 + varintSize(s) + s, 0);
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  results.forEach((parts, i) => {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, sizes[i]);
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
  });
  return out;
}

/** One series field compressed on its own (snappyFragment), with its uncompressed size. */
export interface CompressedSeries {
  readonly length: number;
  readonly fragment: Uint8Array;
}

/** A series field (from encodeSeriesColumns or encodeSeriesObject) compressed as a Snappy fragment. */
export function compressSeries(field: Uint8Array): CompressedSeries {
  return { length: field.length, fragment: snappyFragment(field) };
}

/**
 * The snappy-compressed SAMPLES ReadResponse (the HTTP body) from each query's compressed
 * series, in order: the bytes encodeReadResponseFromSeries writes, compressed, with the
 * compression done series by series beforehand.
 */
export function compressedReadResponse(results: readonly (readonly CompressedSeries[])[]): Uint8Array {
  const fragments: Uint8Array[] = [];
  let length = 0;
  for (const parts of results) {
    const size = parts.reduce((sum, p) => sum + p.length, 0);
    const head = Buffer.allocUnsafe(1 + varintSize(size));
    head[0] = 0x0a;
    writeVarint(head, 1, size);
    fragments.push(snappyLiteral(head));
    for (const p of parts) fragments.push(p.fragment);
    length += head.length + size;
  }
  return snappyBlock(length, fragments);
}
