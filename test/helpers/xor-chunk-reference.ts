/**
 * The first, bit-at-a-time XOR chunk encoder, kept as the reference the fast encoder in
 * src/protocol/xor-chunk.ts is checked against byte for byte.
 *
 * Prometheus's XOR float chunk (tsdb/chunkenc/xor.go, after Facebook's Gorilla paper), bit for
 * bit, so a chunk built here from the same samples equals the chunk Prometheus 2.42 serves.
 *
 * Layout: a 2-byte big-endian sample count, then a bit stream (most significant bit first):
 * - sample 0: timestamp as a zig-zag varint, value as its raw 64 bits;
 * - sample 1: timestamp delta as an unsigned varint, value XOR-encoded;
 * - sample n: delta-of-delta in the buckets '0' | '10'+14 bits | '110'+17 bits | '1110'+20 bits
 *   | '1111'+64 bits, value XOR-encoded.
 * XOR encoding: '0' when the bits equal the previous value's; else '1' then either '0' and the
 * meaningful bits inside the previous leading/trailing-zero window, or '1', 5 bits of leading
 * zeros (capped at 31), 6 bits of meaningful-bit count (64 written as 0) and those bits.
 * The last byte is zero-padded. Prometheus's bit stream writes whole bytes by appending the next
 * byte at once, so a chunk whose last write was a whole number of bytes ending on a byte boundary
 * (a varint, a raw value, meaningful bits a multiple of 8) carries one more, empty, byte; this
 * writer does the same, or the bytes would differ.
 *
 * Values are handled as their float64 bits (two uint32 halves), so NaN payloads such as the
 * stale marker 0x7ff0000000000002 survive; no BigInt on the per-sample path.
 */

const TWO_32 = 4294967296;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word of a float64 in u32 on this machine.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

class BitWriter {
  buf: Uint8Array;
  /** Index of the byte being filled. */
  pos: number;
  /** Bits already used in buf[pos] (0..7). */
  used = 0;
  /** The last logical write was whole bytes ending on a byte boundary: Prometheus holds an empty byte after it. */
  private emptyTail = false;

  constructor(capacity: number, start: number) {
    this.buf = new Uint8Array(capacity);
    this.pos = start;
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the low `n` (0..32) bits of `v`, most significant first: one logical write. */
  bits(v: number, n: number): void {
    this.put(v, n);
    this.emptyTail = n % 8 === 0 && this.used === 0;
  }

  private put(v: number, n: number): void {
    while (n > 0) {
      if (this.pos >= this.buf.length) this.grow();
      const free = 8 - this.used;
      const take = free < n ? free : n;
      const chunk = (v >>> (n - take)) & ((1 << take) - 1);
      this.buf[this.pos] |= chunk << (free - take);
      this.used += take;
      n -= take;
      if (this.used === 8) {
        this.used = 0;
        this.pos++;
      }
    }
  }

  /** Writes the 64-bit pattern hi:lo, keeping its low `n` (0..64) bits. */
  bits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.put(hi, n - 32);
      this.put(lo, 32);
    } else {
      this.put(lo, n);
    }
    this.emptyTail = n % 8 === 0 && this.used === 0;
  }

  /** Bytes written so far: a partial last byte included, and the empty byte Prometheus keeps. */
  finish(): Uint8Array {
    const end = this.used === 0 ? this.pos : this.pos + 1;
    if (this.emptyTail && end >= this.buf.length) this.grow();
    return this.buf.subarray(0, this.emptyTail ? end + 1 : end);
  }
}

function checkTimestamp(t: number, i: number): void {
  if (!Number.isSafeInteger(t)) throw new RangeError(`sample ${i}: timestamp ${t} is not a safe integer`);
}

/** Go's binary.PutUvarint of a non-negative safe integer. */
function writeUvarint(w: BitWriter, v: number): void {
  while (v >= 0x80) {
    w.bits((v % 128) | 0x80, 8);
    v = Math.floor(v / 128);
  }
  w.bits(v, 8);
}

/** Go's binary.PutVarint (zig-zag); BigInt keeps 2|v|+1 exact, and it runs once per chunk. */
function writeVarint(w: BitWriter, v: number): void {
  const b = BigInt(v);
  let z = b >= 0n ? b << 1n : (-b << 1n) - 1n;
  while (z >= 0x80n) {
    w.bits(Number(z & 0x7fn) | 0x80, 8);
    z >>= 7n;
  }
  w.bits(Number(z), 8);
}

/** -(2^(n-1) - 1) <= x <= 2^(n-1), Prometheus's bitRange. */
function inRange(x: number, nbits: number): boolean {
  const half = 2 ** (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

/** Low 32 bits of a (possibly negative) safe integer in two's complement. */
function low32(x: number): number {
  return (x - Math.floor(x / TWO_32) * TWO_32) >>> 0;
}

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/**
 * Encodes samples (timestamps ascending, at most 65535) as one XOR chunk, header included.
 *
 * @throws RangeError when a timestamp is not a safe integer, goes backwards, or there are too many samples.
 */
export function encodeXorChunk(timestampsMs: ArrayLike<number>, values: ArrayLike<number>): Uint8Array {
  const n = timestampsMs.length;
  if (values.length !== n) throw new RangeError(`${n} timestamps but ${values.length} values`);
  if (n > 0xffff) throw new RangeError(`${n} samples do not fit one chunk (at most 65535)`);
  const w = new BitWriter(16 + n * 4, 2);
  w.buf[0] = n >>> 8;
  w.buf[1] = n & 0xff;
  let prevT = 0;
  let prevDelta = 0;
  let prevHi = 0;
  let prevLo = 0;
  let leading = 0xff;
  let trailing = 0;
  for (let i = 0; i < n; i++) {
    const t = timestampsMs[i];
    checkTimestamp(t, i);
    f64[0] = values[i];
    const hi = u32[HI];
    const lo = u32[LO];
    if (i === 0) {
      writeVarint(w, t);
      w.bits64(hi, lo, 64);
    } else {
      const delta = t - prevT;
      if (delta < 0) throw new RangeError(`sample ${i}: timestamp ${t} is before ${prevT}`);
      if (i === 1) {
        writeUvarint(w, delta);
      } else {
        const dod = delta - prevDelta;
        if (dod === 0) w.bits(0, 1);
        else if (inRange(dod, 14)) { w.bits(0b10, 2); w.bits(low32(dod), 14); }
        else if (inRange(dod, 17)) { w.bits(0b110, 3); w.bits(low32(dod), 17); }
        else if (inRange(dod, 20)) { w.bits(0b1110, 4); w.bits(low32(dod), 20); }
        else { w.bits(0b1111, 4); w.bits64(Math.floor(dod / TWO_32) >>> 0, low32(dod), 64); }
      }
      prevDelta = delta;
      // XOR of the value bits with the previous value's.
      const xhi = (hi ^ prevHi) >>> 0;
      const xlo = (lo ^ prevLo) >>> 0;
      if (xhi === 0 && xlo === 0) {
        w.bits(0, 1);
      } else {
        w.bits(1, 1);
        let lead = clz64(xhi, xlo);
        const trail = ctz64(xhi, xlo);
        if (lead >= 32) lead = 31;
        if (leading !== 0xff && lead >= leading && trail >= trailing) {
          w.bits(0, 1);
          writeShifted(w, xhi, xlo, trailing, 64 - leading - trailing);
        } else {
          leading = lead;
          trailing = trail;
          const sig = 64 - lead - trail;
          w.bits(1, 1);
          w.bits(lead, 5);
          w.bits(sig & 0x3f, 6);
          writeShifted(w, xhi, xlo, trail, sig);
        }
      }
    }
    prevT = t;
    prevHi = hi;
    prevLo = lo;
  }
  return w.finish().slice();
}

/** Writes the low `n` bits of (hi:lo) >> shift. */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  let h = hi;
  let l = lo;
  if (shift >= 32) {
    l = hi >>> (shift - 32);
    h = 0;
  } else if (shift > 0) {
    l = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    h = hi >>> shift;
  }
  w.bits64(h, l, n);
}
