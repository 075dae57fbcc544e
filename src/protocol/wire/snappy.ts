/**
 * Snappy *block* format, as remote write uses it (`Content-Encoding: snappy`).
 *
 * The block is checked element by element before `snappyjs` copies a single byte, because
 * `snappyjs` trusts its input: it neither checks that the output length matches the header nor
 * that a one-byte-offset copy has its offset byte, and it writes past nothing only because
 * typed arrays drop out-of-range stores. The check walks the compressed bytes once (no output
 * is produced) so a malformed or hostile body is refused before any large allocation.
 */
import snappy from 'snappyjs';
import { PromfleetError } from '../../errors.js';

/** The stream identifier chunk that starts every *framed* Snappy stream. */
const FRAMED_STREAM_IDENTIFIER = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59] as const;

/** True when `buf` starts with the framed-format stream identifier. */
export function isFramedSnappy(buf: Uint8Array): boolean {
  if (buf.length < FRAMED_STREAM_IDENTIFIER.length) return false;
  for (let i = 0; i < FRAMED_STREAM_IDENTIFIER.length; i++) {
    if (buf[i] !== FRAMED_STREAM_IDENTIFIER[i]) return false;
  }
  return true;
}

/** The block's length header: the decompressed size and how many bytes the header took. */
export interface SnappyHeader {
  decodedLength: number;
  headerBytes: number;
}

/**
 * Reads the uvarint length header of a Snappy block (at most 5 bytes, at most 2^32 - 1, as the
 * format defines it). Allocates nothing.
 */
export function readSnappyHeader(buf: Uint8Array): SnappyHeader {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= buf.length) {
      throw new PromfleetError('BAD_SNAPPY', buf.length === 0 ? 'snappy: empty body' : 'snappy: length header is truncated');
    }
    const b = buf[i];
    // Multiplication, not shifts: the fifth byte would overflow a 32-bit shift.
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (value > 0xffffffff) throw new PromfleetError('BAD_SNAPPY', 'snappy: length header exceeds 2^32-1');
      return { decodedLength: value, headerBytes: i + 1 };
    }
  }
  throw new PromfleetError('BAD_SNAPPY', 'snappy: length header is longer than 5 bytes');
}

function corrupt(reason: string, pos: number): PromfleetError {
  return new PromfleetError('BAD_SNAPPY', `snappy: ${reason} at byte ${pos}`);
}

/**
 * Walks every element of the block after its header and checks that it fits: literals lie
 * inside the input, copies point back into bytes already produced (offset 1..produced), nothing
 * overflows the declared length, and the elements produce exactly the declared length.
 */
function checkBlock(buf: Uint8Array, start: number, decodedLength: number): void {
  const n = buf.length;
  let pos = start;
  let out = 0;
  while (pos < n) {
    const tagPos = pos;
    const tag = buf[pos++];
    const kind = tag & 0x03;
    let len: number;
    if (kind === 0) {
      len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59; // 1..4 little-endian bytes hold length - 1
        if (pos + extra > n) throw corrupt('literal length is truncated', tagPos);
        len = 0;
        for (let i = 0; i < extra; i++) len += buf[pos + i] * 2 ** (8 * i);
        pos += extra;
      }
      len += 1;
      if (len > n - pos) throw corrupt(`literal of ${len} bytes runs past the end of the body`, tagPos);
      if (len > decodedLength - out) throw corrupt('literal overflows the declared length', tagPos);
      pos += len;
      out += len;
      continue;
    }
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > n) throw corrupt('copy offset is truncated', tagPos);
      len = ((tag >>> 2) & 0x07) + 4;
      offset = ((tag >>> 5) << 8) | buf[pos];
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > n) throw corrupt('copy offset is truncated', tagPos);
      len = (tag >>> 2) + 1;
      offset = buf[pos] | (buf[pos + 1] << 8);
      pos += 2;
    } else {
      if (pos + 4 > n) throw corrupt('copy offset is truncated', tagPos);
      len = (tag >>> 2) + 1;
      offset = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16)) + buf[pos + 3] * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > out) throw corrupt(`copy offset ${offset} points outside the ${out} bytes decoded so far`, tagPos);
    if (len > decodedLength - out) throw corrupt('copy overflows the declared length', tagPos);
    out += len;
  }
  if (out !== decodedLength) {
    throw new PromfleetError('BAD_SNAPPY', `snappy: block decodes to ${out} bytes but its header declares ${decodedLength}`);
  }
}

/**
 * Decompresses one Snappy block.
 *
 * @param buf the compressed body (block format; framed format is refused).
 * @param maxBytes the largest decompressed size accepted, in bytes. A larger length header is
 *   refused with `DECOMPRESSED_TOO_LARGE` before anything is allocated.
 * @throws PromfleetError `BAD_SNAPPY` for framed or malformed input, `DECOMPRESSED_TOO_LARGE`.
 */
export function snappyDecompress(buf: Uint8Array, maxBytes: number): Uint8Array {
  if (isFramedSnappy(buf)) {
    throw new PromfleetError('BAD_SNAPPY', 'snappy: framed format is not accepted; remote write bodies use the block format');
  }
  const { decodedLength, headerBytes } = readSnappyHeader(buf);
  if (decodedLength > maxBytes) {
    throw new PromfleetError(
      'DECOMPRESSED_TOO_LARGE',
      `snappy: length header claims ${decodedLength} bytes, more than the limit of ${maxBytes}`,
    );
  }
  checkBlock(buf, headerBytes, decodedLength);
  try {
    return snappy.uncompress(buf, decodedLength);
  } catch (err) {
    // Unreachable after checkBlock unless snappyjs disagrees with the format; still one line.
    const reason = err instanceof Error ? err.message : String(err);
    throw new PromfleetError('BAD_SNAPPY', `snappy: ${reason.split('\n')[0]}`, { cause: err });
  }
}

/** Compresses `buf` into one Snappy block (the format remote write senders use). */
export function snappyCompress(buf: Uint8Array): Uint8Array {
  return snappy.compress(buf);
}

/**
 * `buf` compressed on its own as Snappy elements, without a block's length header. Elements only
 * refer back into the bytes of their own fragment, so fragments compressed apart (each series of
 * an answer, while the rest is still being read) concatenate, in any order, into one block: see
 * snappyBlock.
 */
export function snappyFragment(buf: Uint8Array): Uint8Array {
  const block = snappy.compress(buf);
  let i = 0;
  while (block[i] >= 0x80) i++;
  return block.subarray(i + 1);
}

/** `bytes` (at most 256) as one Snappy literal element, to glue short bytes between fragments. */
export function snappyLiteral(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n === 0) return new Uint8Array(0);
  if (n > 256) throw new RangeError(`a ${n}-byte literal is longer than 256 bytes`);
  const head = n <= 60 ? [(n - 1) << 2] : [60 << 2, n - 1];
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

/**
 * One Snappy block of fragments (from snappyFragment or snappyLiteral), decompressing to their
 * inputs concatenated in the order given, `length` bytes in all.
 */
export function snappyBlock(length: number, fragments: readonly Uint8Array[]): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new RangeError(`snappy block of ${length} bytes`);
  const header: number[] = [];
  let v = length;
  while (v >= 0x80) {
    header.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  header.push(v);
  let size = header.length;
  for (const f of fragments) size += f.length;
  const out = Buffer.allocUnsafe(size);
  out.set(header);
  let pos = header.length;
  for (const f of fragments) {
    out.set(f, pos);
    pos += f.length;
  }
  return out;
}
