/**
 * The worker's decoder of remote-write 1.0 bodies: samples straight into columns, and each
 * series' labels left as the raw bytes of its Label messages.
 *
 * A worker sees the same series in body after body; decoding, validating and hashing their
 * labels again every time was most of its CPU. Here a series is identified by the SHA-256 of its
 * encoded labels (as the series table is by the SHA-256 of its canonical labels: no collision
 * to fear), 32 bytes whatever the labels' length, so a cache of a million keys stays small; the
 * caller asks for decoded labels only for the series its cache does not know (`labelsOf`).
 *
 * Only the plain shape is handled: TimeSeries with at least one sample, labels all before samples, and
 * nothing else (no exemplars, histograms, metadata or unknown fields). Anything else, and any
 * malformed byte, returns undefined: the caller then uses decodeWriteRequest, which handles
 * every shape and says precisely what is wrong.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { Label } from './types.js';
import { decodeLabelRun } from './remote-write-decode.js';

export interface ColumnarWriteRequest {
  /**
   * Per series: SHA-256 of its Label messages' bytes (tags included), as a latin1 string; the
   * same labels encoded alike give the same key. Empty when the caller asked for no keys.
   */
  readonly keys: string[];
  /** Series in the request. */
  readonly series: number;
  /** Per series: where its Label messages start and end in the body. */
  readonly labelStarts: readonly number[];
  readonly labelEnds: readonly number[];
  /** Per sample row. Values keep their bits (the stale-marker NaN included). */
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  /** Index into `keys` for every row. */
  readonly seriesOfRow: Uint32Array;
  /** Oldest and newest sample time, Unix ms; NaN when there are none. */
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
  /** Decodes (strictly: UTF-8, structure) the labels of series `i`; throws as decodeWriteRequest would. */
  labelsOf(i: number): Label[];
}

const TWO_32 = 4294967296;

/** SHA-256 of bytes as a 32-character latin1 string; one call, no Hash object (Node 20.12+; older: the Hash object). */
const sha256Latin1: (b: Buffer) => string = typeof oneShotHash === 'function'
  ? (b) => oneShotHash('sha256', b, 'binary')
  : (b) => createHash('sha256').update(b).digest('binary');
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Cursor state of the scan (module-level: the scan is synchronous and allocates nothing for it).
let pos = 0;
let bad = false;

/** Reads a varint of at most 32 bits at `pos` below `end`; sets `bad` and returns 0 when it is not one. */
function uvarint32(buf: Buffer, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) break;
    const b = buf[pos++];
    if (shift === 28 && b > 0x0f) break;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return v;
  }
  bad = true;
  return 0;
}

/** Reads an int64 varint as a safe integer number; sets `bad` when truncated or beyond ±2^53. */
function int64(buf: Buffer, end: number): number {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (; shift < 28; shift += 7) {
    if (pos >= end) { bad = true; return 0; }
    const b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return lo >>> 0;
  }
  if (pos >= end) { bad = true; return 0; }
  let b = buf[pos++];
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >>> 4;
  for (shift = 3; b >= 0x80 && shift < 32; shift += 7) {
    if (pos >= end) { bad = true; return 0; }
    b = buf[pos++];
    if (shift === 31 && b > 1) { bad = true; return 0; }
    hi |= (b & 0x7f) << shift;
  }
  if (b >= 0x80) { bad = true; return 0; }
  lo >>>= 0;
  hi >>>= 0;
  if (hi & 0x80000000) {
    // Negative: two's complement of the 64 bits.
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    if (nhi > 0x1fffff) { bad = true; return 0; }
    return -(nhi * TWO_32 + nlo);
  }
  if (hi > 0x1fffff) { bad = true; return 0; }
  return hi * TWO_32 + lo;
}

/**
 * Scans an uncompressed WriteRequest (`withKeys` false: without hashing label sets). Returns
 * undefined for any body outside the plain shape or not well formed (decode it with
 * decodeWriteRequest then).
 */
export function decodeColumnar(body: Uint8Array, withKeys = true): ColumnarWriteRequest | undefined {
  // Always a Buffer view (no copy), so element loads see one kind of array.
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const end = buf.length;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const keys: string[] = [];
  const labelStarts: number[] = [];
  const labelEnds: number[] = [];
  // Grown by doubling; a Prometheus sample takes about 20 bytes of the body.
  let cap = Math.max(64, Math.ceil(end / 20));
  let timestampsMs = new Float64Array(cap);
  let values = new Float64Array(cap);
  let seriesOfRow = new Uint32Array(cap);
  let words = new Uint32Array(values.buffer);
  let rows = 0;
  let min = Infinity;
  let max = -Infinity;
  pos = 0;
  bad = false;
  while (pos < end) {
    if (buf[pos++] !== 0x0a) return undefined; // only timeseries (field 1, length-delimited)
    const len = uvarint32(buf, end);
    if (bad || len > end - pos) return undefined;
    const tsEnd = pos + len;
    const labelsFrom = pos;
    // Labels: field 1, each a length-delimited message, all before the first sample.
    while (pos < tsEnd && buf[pos] === 0x0a) {
      pos++;
      // Labels are short: a one-byte length is the rule.
      const b = pos < tsEnd ? buf[pos] : 0x80;
      const l = b < 0x80 ? (pos++, b) : uvarint32(buf, tsEnd);
      if (bad || l > tsEnd - pos) return undefined;
      pos += l;
    }
    const labelsTo = pos;
    if (labelsTo === labelsFrom) return undefined;
    const series = keys.length;
    let samplesHere = 0;
    while (pos < tsEnd) {
      if (buf[pos++] !== 0x12) return undefined; // samples only after the labels
      const b = pos < tsEnd ? buf[pos] : 0x80;
      const l = b < 0x80 ? (pos++, b) : uvarint32(buf, tsEnd);
      if (bad || l > tsEnd - pos) return undefined;
      const sEnd = pos + l;
      let t = 0;
      let vAt = -1;
      while (pos < sEnd) {
        const tag = buf[pos++];
        if (tag === 0x09) {
          if (sEnd - pos < 8) return undefined;
          vAt = pos;
          pos += 8;
        } else if (tag === 0x10) {
          t = int64(buf, sEnd);
          if (bad) return undefined;
        } else {
          return undefined;
        }
      }
      if (rows === cap) {
        cap *= 2;
        const t2 = new Float64Array(cap);
        t2.set(timestampsMs);
        timestampsMs = t2;
        const v2 = new Float64Array(cap);
        // Byte copy (typed array to typed array of the same type): NaN payloads survive.
        v2.set(values);
        values = v2;
        words = new Uint32Array(values.buffer);
        const s2 = new Uint32Array(cap);
        s2.set(seriesOfRow);
        seriesOfRow = s2;
      }
      timestampsMs[rows] = t;
      // The value's 8 bytes copied as two words, never through a double register, so a
      // signalling NaN (the stale marker) keeps its exact bits.
      if (vAt < 0) {
        words[2 * rows] = 0;
        words[2 * rows + 1] = 0;
      } else if (LITTLE_ENDIAN) {
        words[2 * rows] = dv.getUint32(vAt, true);
        words[2 * rows + 1] = dv.getUint32(vAt + 4, true);
      } else {
        words[2 * rows] = dv.getUint32(vAt + 4, true);
        words[2 * rows + 1] = dv.getUint32(vAt, true);
      }
      seriesOfRow[rows] = series;
      if (t < min) min = t;
      if (t > max) max = t;
      rows++;
      samplesHere++;
    }
    // A series without samples: rare; the full decoder handles (and validates) it.
    if (samplesHere === 0) return undefined;
    if (withKeys) keys.push(sha256Latin1(buf.subarray(labelsFrom, labelsTo)));
    labelStarts.push(labelsFrom);
    labelEnds.push(labelsTo);
  }
  return {
    keys,
    series: labelStarts.length,
    labelStarts,
    labelEnds,
    timestampsMs: timestampsMs.subarray(0, rows),
    values: values.subarray(0, rows),
    seriesOfRow: seriesOfRow.subarray(0, rows),
    minTimeMs: rows ? min : NaN,
    maxTimeMs: rows ? max : NaN,
    labelsOf: (i) => decodeLabelRun(body, labelStarts[i], labelEnds[i]),
  };
}
