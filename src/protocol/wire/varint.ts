/**
 * 64-bit protobuf varints read straight into JavaScript numbers.
 *
 * protobufjs's `Reader.int64()` allocates a LongBits and a Long per value and, near the end of
 * a buffer, returns a 4-byte prefix of a longer varint instead of failing. Timestamps are read
 * once per sample, so these readers work on the Reader's own `buf`/`pos`/`len`, allocate
 * nothing, check every byte against `len`, and refuse values that are not safe integers
 * (|v| > 2^53 - 1) instead of rounding them.
 */
import type { Reader } from 'protobufjs/minimal.js';

const TWO_32 = 4294967296;
/** hi words above this make |value| >= 2^53. */
const MAX_SAFE_HI = 0x1fffff;

function truncated(r: Reader): RangeError {
  return new RangeError(`varint truncated at byte ${r.pos} of ${r.len}`);
}

function unsafe(kind: string, at: number): RangeError {
  return new RangeError(`${kind} value at byte ${at} is beyond ±2^53 and cannot be represented exactly`);
}

// Result registers of readBits: module-level so the slow path allocates nothing.
let bitsLo = 0;
let bitsHi = 0;

/** Reads a full 64-bit varint at r.pos into bitsLo/bitsHi (unsigned 32-bit halves). */
function readBits(r: Reader): void {
  const buf = r.buf;
  const len = r.len;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= len) throw truncated(r);
    b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.pos = pos;
      bitsLo = lo >>> 0;
      bitsHi = 0;
      return;
    }
  }
  // Fifth byte: four bits finish lo, three start hi.
  if (pos >= len) throw truncated(r);
  b = buf[pos++];
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >>> 4;
  if (b >= 0x80) {
    for (let shift = 3; ; shift += 7) {
      if (pos >= len) throw truncated(r);
      b = buf[pos++];
      if (shift === 31) {
        // Tenth byte: only its lowest bit fits in 64 bits.
        if (b > 1) throw new RangeError(`varint at byte ${r.pos} overflows 64 bits`);
        hi |= b << 31;
        break;
      }
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
  }
  r.pos = pos;
  bitsLo = lo >>> 0;
  bitsHi = hi >>> 0;
}

/**
 * Fast path shared by the three readers: a varint of at most 7 bytes (< 2^49) is summed with
 * exact float arithmetic. Returns -1 when the varint is longer, leaving r.pos untouched.
 */
function readShort(r: Reader): number {
  const buf = r.buf;
  const len = r.len;
  let pos = r.pos;
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= len) throw truncated(r);
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    mul *= 128;
  }
  return -1;
}

/** protobuf `int64` (two's complement, negative values take 10 bytes) as a safe integer. */
export function readInt64(r: Reader): number {
  const v = readShort(r);
  if (v >= 0) return v;
  const at = r.pos;
  readBits(r);
  if (bitsHi >>> 31 === 0) {
    if (bitsHi > MAX_SAFE_HI) throw unsafe('int64', at);
    return bitsHi * TWO_32 + bitsLo;
  }
  // Negative: magnitude is the two's complement of the 64-bit pattern.
  let lo = (~bitsLo + 1) >>> 0;
  let hi = ~bitsHi >>> 0;
  if (lo === 0) hi = (hi + 1) >>> 0;
  if (hi > MAX_SAFE_HI) throw unsafe('int64', at);
  lo = hi * TWO_32 + lo;
  return -lo;
}

/** protobuf `uint64` as a safe integer. */
export function readUint64(r: Reader): number {
  const v = readShort(r);
  if (v >= 0) return v;
  const at = r.pos;
  readBits(r);
  if (bitsHi > MAX_SAFE_HI) throw unsafe('uint64', at);
  return bitsHi * TWO_32 + bitsLo;
}

/** protobuf `sint64` (zig-zag) as a safe integer. */
export function readSint64(r: Reader): number {
  const v = readShort(r);
  if (v >= 0) return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  const at = r.pos;
  readBits(r);
  const negative = (bitsLo & 1) === 1;
  const lo = ((bitsLo >>> 1) | (bitsHi << 31)) >>> 0;
  const hi = bitsHi >>> 1;
  // Largest magnitude allowed: 2^53 - 1 for positives, 2^53 - 2 (+1) for negatives.
  if (hi > MAX_SAFE_HI || (negative && hi === MAX_SAFE_HI && lo === 0xffffffff)) throw unsafe('sint64', at);
  const m = hi * TWO_32 + lo;
  return negative ? -m - 1 : m;
}
