/**
 * Protobuf varints written straight into a byte array, for the hand-written encoders of read
 * answers. Numbers are split into two 32-bit halves, so negative int64 values take their
 * ten-byte two's-complement form as protobufjs and Go write them.
 */

const TWO_32 = 4_294_967_296;

/** Bytes of the varint of the 64-bit pattern hi:lo. */
export function varint64Size(hi: number, lo: number): number {
  if (hi === 0) return lo < 0x80 ? 1 : lo < 0x4000 ? 2 : lo < 0x200000 ? 3 : lo < 0x10000000 ? 4 : 5;
  return hi < 0x8 ? 5 : hi < 0x400 ? 6 : hi < 0x20000 ? 7 : hi < 0x1000000 ? 8 : hi < 0x80000000 ? 9 : 10;
}

/** Writes the varint of the 64-bit pattern hi:lo at `pos`; returns the position after it. */
export function writeVarint64(out: Uint8Array, pos: number, hi: number, lo: number): number {
  while (hi !== 0 || lo >= 0x80) {
    out[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[pos++] = lo;
  return pos;
}

/** The high half of a safe integer's 64-bit two's complement. */
export function high32(v: number): number {
  return Math.floor(v / TWO_32) >>> 0;
}

/** Bytes of the varint of a safe integer (int64 semantics: ten for a negative one). */
export function varintSize(v: number): number {
  return varint64Size(high32(v), v >>> 0);
}

/** Writes the varint of a safe integer (int64 semantics) at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, v: number): number {
  return writeVarint64(out, pos, high32(v), v >>> 0);
}

/** Bytes of a non-empty bytes/string field (tag, length, body); an empty one is left out (proto3). */
export function bytesFieldSize(len: number): number {
  return len > 0 ? 1 + varintSize(len) + len : 0;
}

/** Bytes of a Label message's body: its name (field 1) and value (field 2), each left out when empty. */
export function labelBodySize(name: Uint8Array, value: Uint8Array): number {
  return bytesFieldSize(name.length) + bytesFieldSize(value.length);
}

/**
 * Writes a Label as field 1 of its parent (tag 0x0a, length, name, value) at `pos`; returns the
 * position after it. `len` is its labelBodySize.
 */
export function writeLabelField(out: Buffer, pos: number, name: Buffer, value: Buffer, len: number): number {
  out[pos++] = 0x0a;
  pos = writeVarint(out, pos, len);
  if (name.length > 0) {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, name.length);
    pos += name.copy(out, pos);
  }
  if (value.length > 0) {
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, value.length);
    pos += value.copy(out, pos);
  }
  return pos;
}
