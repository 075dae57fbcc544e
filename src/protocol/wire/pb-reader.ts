/**
 * Small helpers over protobufjs's low-level Reader shared by the hand-written decoders:
 * bounded sub-messages, strict wire-type checks, strict UTF-8 strings, and the "where am I"
 * context that turns a RangeError deep inside a message into a one-line reason an operator can
 * act on ("series 12 samples: ...").
 */
import protobuf from 'protobufjs/minimal.js';
import type { Reader } from 'protobufjs/minimal.js';
import { PromfleetError } from '../../errors.js';

/** A protobufjs Reader whose bytes are known to be a Buffer (see createReader). */
export type ByteReader = Reader & { buf: Buffer };

/**
 * A Reader over a Buffer view of `buf` (no copy). Decoders always see a Buffer, so element
 * loads stay monomorphic and strings can be sliced natively.
 */
export function createReader(buf: Uint8Array): ByteReader {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return protobuf.Reader.create(bytes) as ByteReader;
}

/**
 * Where one decode is; updated with plain stores as it descends so that an error raised by any
 * read can be prefixed without the hot path building strings. One per decode call.
 */
export class DecodePosition {
  /** Index of the current TimeSeries, or -1 outside timeseries. */
  series = -1;
  /** Index of the current MetricMetadata, or -1 outside metadata. */
  metadata = -1;
  /** The TimeSeries field being read (labels, samples, exemplars, histograms), or ''. */
  field = '';
  /** Index of the element of `field` being read. */
  index = -1;

  /** "series 3 samples[0]", "metadata 2" or "WriteRequest". */
  describe(): string {
    if (this.metadata >= 0) return `metadata ${this.metadata}`;
    if (this.series < 0) return 'WriteRequest';
    return this.field === '' ? `series ${this.series}` : `series ${this.series} ${this.field}[${this.index}]`;
  }
}

/** Converts anything thrown while decoding into BAD_PROTOBUF with its location; keeps PromfleetErrors. */
export function toDecodeError(err: unknown, at: DecodePosition): PromfleetError {
  if (err instanceof PromfleetError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new PromfleetError('BAD_PROTOBUF', `${at.describe()}: ${reason.split('\n')[0]}`, { cause: err });
}

/**
 * Reads the length prefix of a length-delimited field and checks it fits in what remains of
 * the current message. protobufjs's uint32 silently drops the bits of a longer varint, which
 * would misalign everything after it, so a prefix of more than 32 bits is refused here.
 */
export function readLength(r: Reader, what: string): number {
  const at = r.pos;
  const len = r.uint32();
  const used = r.pos - at;
  if (used > 5 || (used === 5 && r.buf[at + 4] > 0x0f)) {
    throw new RangeError(`${what} at byte ${at} has a length prefix beyond 32 bits`);
  }
  if (len > r.len - r.pos) {
    throw new RangeError(`${what} at byte ${at} declares ${len} bytes but only ${r.len - r.pos} remain`);
  }
  return len;
}

/**
 * Reads a length prefix and narrows the reader to the sub-message it announces, so every read
 * inside (protobufjs's included) is bounds-checked against the sub-message, not the whole body.
 * Returns the outer limit, to be handed back to `leave`.
 */
export function enter(r: Reader, what: string): number {
  const len = readLength(r, what);
  const outer = r.len;
  r.len = r.pos + len;
  return outer;
}

/** Restores the limit saved by `enter`; the sub-message was read to its end. */
export function leave(r: Reader, outer: number): void {
  r.len = outer;
}

/**
 * Handles a tag the caller did not expect: a known field number with the wrong wire type is an
 * error (naming the field); an unknown field is skipped, as protobuf requires.
 *
 * @param fields names of the message's fields by number ('' for numbers it does not define).
 */
export function skipUnexpected(r: Reader, tag: number, message: string, fields: readonly string[]): void {
  const fieldNo = tag >>> 3;
  const wireType = tag & 7;
  if (fieldNo === 0) throw new RangeError(`${message}: invalid field number 0 before byte ${r.pos}`);
  const name = fields[fieldNo];
  if (name !== undefined && name !== '') {
    throw new RangeError(`${message}.${name} (field ${fieldNo}) has wire type ${wireType}, which its type does not allow`);
  }
  if (wireType === 4) throw new RangeError(`${message}: unexpected end-group marker before byte ${r.pos}`);
  r.skipType(wireType);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Decodes buf[start, end) as strict UTF-8 (no lone surrogates, no overlongs, no truncated
 * sequences). Returns null when the bytes are not valid UTF-8. A leading BOM is kept as data.
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string | null {
  let i = start;
  while (i < end && buf[i] < 0x80) i++;
  if (i === end) {
    // ASCII, the common case: up to 12 characters, char codes beat a call into native code
    // (and V8 keeps such short results flat); beyond, latin1 equals ASCII and is the fastest
    // native decoder that needs no copy of the bytes.
    if (end - start <= 12) {
      let s = '';
      for (let j = start; j < end; j++) s += String.fromCharCode(buf[j]);
      return s;
    }
    return buf.toString('latin1', start, end);
  }
  try {
    return strictUtf8.decode(buf.subarray(start, end));
  } catch {
    return null;
  }
}

/** A printable, quoted rendering of bytes that failed UTF-8 decoding, for error messages. */
export function showInvalid(buf: Buffer, start: number, end: number): string {
  const shown = Math.min(end, start + 64);
  return JSON.stringify(lossyUtf8.decode(buf.subarray(start, shown))) + (shown < end ? '…' : '');
}

/** Reads a length-delimited string field; `null` when it is not valid UTF-8 (r.pos is past it). */
export function readStringOrNull(r: ByteReader, what: string): string | null {
  const len = readLength(r, what);
  const start = r.pos;
  r.pos = start + len;
  return decodeUtf8(r.buf, start, start + len);
}
