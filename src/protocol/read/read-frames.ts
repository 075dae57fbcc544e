/**
 * STREAMED_XOR_CHUNKS remote-read responses (Content-Type
 * `application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse`): a sequence of
 * frames, each `uvarint(message size) | CRC-32C of the message, 4 bytes big-endian | message`,
 * the message a `prometheus.ChunkedReadResponse`
 * `{1 repeated ChunkedSeries {1 repeated Label, 2 repeated Chunk {1 min_time_ms, 2 max_time_ms,
 * 3 type, 4 data}}, 2 query_index}`, as Prometheus's storage/remote ChunkedWriter writes them.
 */
import protobuf from 'protobufjs/minimal.js';
import type { Writer } from 'protobufjs/minimal.js';
import { PromfleetError } from '../../errors.js';
import { crc32c } from '../wire/crc32c.js';
import { CHUNK_ENCODINGS } from './remote-read-types.js';
import type { Chunk, ChunkedReadResponse, ChunkedSeries } from './remote-read-types.js';
import type { Label } from '../write/types.js';
import { type ByteReader, createReader, enter, leave, readLength, readStringOrNull, skipUnexpected } from '../wire/pb-reader.js';
import { readInt64, readUint64 } from '../wire/varint.js';
import { cutXorChunks } from './xor-chunk.js';

const RESPONSE_FIELDS: readonly string[] = ['', 'chunked_series', 'query_index'];
const SERIES_FIELDS: readonly string[] = ['', 'labels', 'chunks'];
const LABEL_FIELDS: readonly string[] = ['', 'name', 'value'];
const CHUNK_FIELDS: readonly string[] = ['', 'min_time_ms', 'max_time_ms', 'type', 'data'];

function checkInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be a safe integer, got ${v}`);
  return v;
}

function writeSeries(w: Writer, s: ChunkedSeries): void {
  w.uint32(0x0a).fork();
  for (const l of s.labels) {
    w.uint32(0x0a).fork();
    if (l.name !== '') w.uint32(0x0a).string(l.name);
    if (l.value !== '') w.uint32(0x12).string(l.value);
    w.ldelim();
  }
  for (const c of s.chunks) {
    w.uint32(0x12).fork();
    if (c.minTimeMs !== 0) w.uint32(0x08).int64(checkInt(c.minTimeMs, 'chunk min_time_ms'));
    if (c.maxTimeMs !== 0) w.uint32(0x10).int64(checkInt(c.maxTimeMs, 'chunk max_time_ms'));
    const type = CHUNK_ENCODINGS.indexOf(c.type);
    if (type > 0) w.uint32(0x18).int32(type);
    if (c.data.length > 0) w.uint32(0x22).bytes(c.data);
    w.ldelim();
  }
  w.ldelim();
}

/** Encodes a ChunkedReadResponse message (no frame). */
export function encodeChunkedReadResponse(msg: ChunkedReadResponse): Uint8Array {
  const w = protobuf.Writer.create();
  for (const s of msg.series) writeSeries(w, s);
  if (msg.queryIndex !== 0) w.uint32(0x10).int64(checkInt(msg.queryIndex, 'query_index'));
  return w.finish();
}

/** Wraps a message in a frame: uvarint size, big-endian CRC-32C, message. */
export function frame(message: Uint8Array): Uint8Array {
  let size = message.length;
  let n = 1;
  for (let v = size; v >= 0x80; v = Math.floor(v / 128)) n++;
  const out = new Uint8Array(n + 4 + message.length);
  let pos = 0;
  while (size >= 0x80) {
    out[pos++] = (size % 128) | 0x80;
    size = Math.floor(size / 128);
  }
  out[pos++] = size;
  const crc = crc32c(message);
  out[pos++] = crc >>> 24;
  out[pos++] = (crc >>> 16) & 0xff;
  out[pos++] = (crc >>> 8) & 0xff;
  out[pos++] = crc & 0xff;
  out.set(message, pos);
  return out;
}

/** Encodes one ChunkedReadResponse as a complete frame. */
export function encodeChunkedFrame(msg: ChunkedReadResponse): Uint8Array {
  return frame(encodeChunkedReadResponse(msg));
}

/**
 * A series' float samples as XOR chunks of at most 120 samples (Prometheus's cut), ready for
 * a ChunkedSeries.
 */
export function xorChunkedSeries(labels: Label[], timestampsMs: ArrayLike<number>, values: ArrayLike<number>): ChunkedSeries {
  return { labels, chunks: cutXorChunks(timestampsMs, values).map((c): Chunk => ({ ...c, type: 'XOR' })) };
}

function readString(r: ByteReader, what: string): string {
  const s = readStringOrNull(r, what);
  if (s === null) throw new RangeError(`${what} is not valid UTF-8`);
  return s;
}

function readLabel(r: ByteReader): Label {
  const outer = enter(r, 'Label');
  const l: Label = { name: '', value: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x0a) l.name = readString(r, 'label name');
    else if (tag === 0x12) l.value = readString(r, 'label value');
    else skipUnexpected(r, tag, 'Label', LABEL_FIELDS);
  }
  leave(r, outer);
  return l;
}

function readChunk(r: ByteReader): Chunk {
  const outer = enter(r, 'Chunk');
  const c: Chunk = { minTimeMs: 0, maxTimeMs: 0, type: 'UNKNOWN', data: new Uint8Array(0) };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x08) c.minTimeMs = readInt64(r);
    else if (tag === 0x10) c.maxTimeMs = readInt64(r);
    else if (tag === 0x18) {
      const n = readInt64(r);
      const t = CHUNK_ENCODINGS[n];
      if (t === undefined) throw new RangeError(`chunk type ${n} is unknown`);
      c.type = t;
    } else if (tag === 0x22) {
      const len = readLength(r, 'chunk data');
      c.data = r.buf.subarray(r.pos, r.pos + len);
      r.pos += len;
    } else skipUnexpected(r, tag, 'Chunk', CHUNK_FIELDS);
  }
  leave(r, outer);
  return c;
}

function readSeries(r: ByteReader): ChunkedSeries {
  const outer = enter(r, 'ChunkedSeries');
  const s: ChunkedSeries = { labels: [], chunks: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x0a) s.labels.push(readLabel(r));
    else if (tag === 0x12) s.chunks.push(readChunk(r));
    else skipUnexpected(r, tag, 'ChunkedSeries', SERIES_FIELDS);
  }
  leave(r, outer);
  return s;
}

/**
 * Decodes one ChunkedReadResponse message (chunk data are views into `buf`).
 *
 * @throws PromfleetError BAD_PROTOBUF.
 */
export function decodeChunkedReadResponse(buf: Uint8Array): ChunkedReadResponse {
  const r = createReader(buf);
  const msg: ChunkedReadResponse = { series: [], queryIndex: 0 };
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 0x0a) msg.series.push(readSeries(r));
      else if (tag === 0x10) msg.queryIndex = readInt64(r);
      else skipUnexpected(r, tag, 'ChunkedReadResponse', RESPONSE_FIELDS);
    }
  } catch (err) {
    if (err instanceof PromfleetError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new PromfleetError('BAD_PROTOBUF', `ChunkedReadResponse series ${msg.series.length}: ${reason.split('\n')[0]}`, { cause: err });
  }
  return msg;
}

/**
 * Splits a whole streamed body into its frames and decodes each, checking sizes and CRCs
 * (for tests and clients).
 *
 * @throws PromfleetError BAD_PROTOBUF on a truncated frame, a size over `maxFrameBytes`, or a CRC mismatch.
 */
export function readChunkedFrames(body: Uint8Array, maxFrameBytes = 50 * 1024 * 1024): ChunkedReadResponse[] {
  const r = createReader(body);
  const out: ChunkedReadResponse[] = [];
  while (r.pos < r.len) {
    const at = r.pos;
    let size: number;
    try {
      size = readUint64(r);
    } catch (err) {
      throw new PromfleetError('BAD_PROTOBUF', `frame ${out.length} at byte ${at}: size ${String(err instanceof Error ? err.message : err)}`);
    }
    if (size > maxFrameBytes) throw new PromfleetError('BAD_PROTOBUF', `frame ${out.length} at byte ${at}: size ${size} exceeds ${maxFrameBytes}`);
    if (r.len - r.pos < 4 + size) throw new PromfleetError('BAD_PROTOBUF', `frame ${out.length} at byte ${at}: truncated (${size} bytes announced, ${Math.max(0, r.len - r.pos - 4)} present)`);
    const b = r.buf;
    const crc = ((b[r.pos] << 24) | (b[r.pos + 1] << 16) | (b[r.pos + 2] << 8) | b[r.pos + 3]) >>> 0;
    const start = r.pos + 4;
    const actual = crc32c(b, start, start + size);
    if (actual !== crc) {
      throw new PromfleetError('BAD_PROTOBUF', `frame ${out.length} at byte ${at}: CRC-32C ${actual.toString(16)} does not match ${crc.toString(16)}`);
    }
    out.push(decodeChunkedReadResponse(b.subarray(start, start + size)));
    r.pos = start + size;
  }
  return out;
}
