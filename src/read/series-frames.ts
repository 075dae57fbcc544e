/**
 * The STREAMED_XOR_CHUNKS frames of one series, written straight into each frame's bytes: no
 * protobuf writer, no copy of the message into the frame. Byte for byte what
 * `encodeChunkedFrame({ series: [{ labels, chunks }], queryIndex })` writes for each frame's
 * chunks (gogo-protobuf's field order, zero values omitted).
 */
import {
  CHUNK_ENCODINGS, bytesFieldSize, crc32c, labelBodySize, varintSize, writeLabelField, writeVarint, type Chunk, type ChunkedSeries, type Label,
} from '../protocol/index.js';

/** Prometheus's default --storage.remote.read-max-bytes-in-frame. */
export const DEFAULT_MAX_BYTES_IN_FRAME = 1024 * 1024;

function checkInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be a safe integer, got ${v}`);
  return v;
}

/** gogo-protobuf's Chunk.Size(): the message without its own tag and length. */
function chunkSize(c: Chunk): number {
  return (c.minTimeMs !== 0 ? 1 + varintSize(checkInt(c.minTimeMs, 'chunk min_time_ms')) : 0)
    + (c.maxTimeMs !== 0 ? 1 + varintSize(checkInt(c.maxTimeMs, 'chunk max_time_ms')) : 0)
    + (CHUNK_ENCODINGS.indexOf(c.type) > 0 ? 2 : 0) + bytesFieldSize(c.data.length);
}

/** The series' label fields (ChunkedSeries.labels), encoded once for all its frames. */
function labelFields(labels: readonly Label[]): { bytes: Buffer; sizes: number[] } {
  const parts: Buffer[] = [];
  const sizes: number[] = [];
  for (const l of labels) {
    const name = Buffer.from(l.name);
    const value = Buffer.from(l.value);
    const len = labelBodySize(name, value);
    const field = Buffer.allocUnsafe(1 + varintSize(len) + len);
    writeLabelField(field, 0, name, value, len);
    parts.push(field);
    sizes.push(len);
  }
  return { bytes: Buffer.concat(parts), sizes };
}

/** One frame: `uvarint(size) | CRC-32C big-endian | ChunkedReadResponse { series { labels, chunks }, query_index }`. */
function writeFrame(labels: Buffer, chunks: readonly Chunk[], sizes: readonly number[], queryIndex: number): Uint8Array {
  let seriesLen = labels.length;
  for (const size of sizes) seriesLen += 1 + varintSize(size) + size;
  const msgLen = 1 + varintSize(seriesLen) + seriesLen + (queryIndex !== 0 ? 1 + varintSize(queryIndex) : 0);
  const out = Buffer.allocUnsafe(varintSize(msgLen) + 4 + msgLen);
  const start = writeVarint(out, 0, msgLen) + 4;
  out[start] = 0x0a;
  let pos = writeVarint(out, start + 1, seriesLen);
  pos += labels.copy(out, pos);
  chunks.forEach((c, i) => {
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, sizes[i]);
    if (c.minTimeMs !== 0) {
      out[pos++] = 0x08;
      pos = writeVarint(out, pos, c.minTimeMs);
    }
    if (c.maxTimeMs !== 0) {
      out[pos++] = 0x10;
      pos = writeVarint(out, pos, c.maxTimeMs);
    }
    const type = CHUNK_ENCODINGS.indexOf(c.type);
    if (type > 0) {
      out[pos++] = 0x18;
      out[pos++] = type;
    }
    if (c.data.length > 0) {
      out[pos++] = 0x22;
      pos = writeVarint(out, pos, c.data.length);
      out.set(c.data, pos);
      pos += c.data.length;
    }
  });
  if (queryIndex !== 0) {
    out[pos++] = 0x10;
    pos = writeVarint(out, pos, queryIndex);
  }
  if (pos !== out.length) throw new Error(`seriesFrames: wrote ${pos} of ${out.length} bytes`);
  const crc = crc32c(out, start, pos);
  out.writeUInt32BE(crc, start - 4);
  return out;
}

/**
 * The frames Prometheus's StreamChunkedReadResponses writes for one series: one series per
 * frame, chunks added until the frame's budget (maxBytesInFrame minus the labels' sizes) is
 * spent, so a frame may exceed it by one chunk; a series without chunks writes nothing.
 */
export function seriesFrames(
  series: ChunkedSeries, queryIndex: number, maxBytesInFrame = DEFAULT_MAX_BYTES_IN_FRAME,
): Uint8Array[] {
  checkInt(queryIndex, 'query_index');
  const labels = labelFields(series.labels);
  let budget = maxBytesInFrame;
  for (const size of labels.sizes) budget -= size;
  const frames: Uint8Array[] = [];
  let from = 0;
  let sizes: number[] = [];
  let left = budget;
  for (let i = 0; i < series.chunks.length; i++) {
    const size = chunkSize(series.chunks[i]);
    sizes.push(size);
    left -= size;
    if (left > 0 && i + 1 < series.chunks.length) continue;
    frames.push(writeFrame(labels.bytes, series.chunks.slice(from, i + 1), sizes, queryIndex));
    from = i + 1;
    sizes = [];
    left = budget;
  }
  return frames;
}
