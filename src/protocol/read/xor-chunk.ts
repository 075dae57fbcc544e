/**
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
 * Values are handled as their float64 bits (two uint32 halves, read from a Float64Array's
 * memory), so NaN payloads such as the stale marker 0x7ff0000000000002 survive; no BigInt on the
 * per-sample path. Bits are gathered in a small accumulator and stored a byte at a time into a
 * scratch buffer sized for the worst case, so the loop neither grows nor re-checks a buffer.
 */

/** Prometheus cuts head chunks at this many samples; remote read serves them as they are. */
export const MAX_SAMPLES_PER_CHUNK = 120;

const TWO_32 = 4294967296;
// Index of the high word of a float64 in a Uint32Array on this machine.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;
/** Most bytes one sample can take: a '1111' + 64-bit delta of delta and a '11' + 5 + 6 + 64-bit value. */
const MAX_SAMPLE_BYTES = 19;

/** A bit stream written most significant bit first into `buf`, the pending bits (fewer than 8) in `acc`. */
class BitWriter {
  buf = new Uint8Array(4096);
  pos = 0;
  acc = 0;
  nacc = 0;

  reset(capacity: number): void {
    if (this.buf.length < capacity) this.buf = new Uint8Array(Math.max(capacity, 2 * this.buf.length));
    this.pos = 0;
    this.acc = 0;
    this.nacc = 0;
  }

  /** The low `n` (0..16) bits of `v`. */
  put(v: number, n: number): void {
    let acc = (this.acc << n) | (v & ((1 << n) - 1));
    let nacc = this.nacc + n;
    while (nacc >= 8) {
      nacc -= 8;
      this.buf[this.pos++] = acc >>> nacc;
    }
    this.acc = acc & ((1 << nacc) - 1);
    this.nacc = nacc;
  }

  /** The low `n` (0..32) bits of `v`. */
  put32(v: number, n: number): void {
    if (n > 16) {
      this.put(v >>> 16, n - 16);
      this.put(v, 16);
    } else {
      this.put(v, n);
    }
  }

  /** The low `n` (0..64) bits of the pattern hi:lo. */
  put64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.put32(hi, n - 32);
      this.put32(lo, 32);
    } else {
      this.put32(lo, n);
    }
  }

  /** Bytes written: a partial last byte included, and the empty byte Prometheus keeps after an aligned whole-byte write. */
  finish(emptyTail: boolean): Uint8Array {
    if (this.nacc > 0) this.buf[this.pos++] = this.acc << (8 - this.nacc);
    else if (emptyTail) this.buf[this.pos++] = 0;
    return this.buf.slice(0, this.pos);
  }
}

const writer = new BitWriter();

function checkTimestamp(t: number, i: number): void {
  if (!Number.isSafeInteger(t)) throw new RangeError(`sample ${i}: timestamp ${t} is not a safe integer`);
}

/** Go's binary.PutUvarint of the non-negative 64-bit pattern hi:lo, a whole byte at a time. */
function writeUvarint64(w: BitWriter, hi: number, lo: number): void {
  while (hi !== 0 || lo >= 0x80) {
    w.put((lo & 0x7f) | 0x80, 8);
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  w.put(lo, 8);
}

/** Go's binary.PutVarint (zig-zag) of a safe integer; BigInt keeps 2|v|+1 exact, once per chunk. */
function writeVarint(w: BitWriter, v: number): void {
  const b = BigInt(v);
  const z = b >= 0n ? b << 1n : (-b << 1n) - 1n;
  writeUvarint64(w, Number(z >> 32n), Number(z & 0xffffffffn));
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
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
  const f64 = values instanceof Float64Array ? values : Float64Array.from(values);
  const words = new Uint32Array(f64.buffer, f64.byteOffset, 2 * n);
  const w = writer;
  w.reset(2 + 10 + 8 + n * MAX_SAMPLE_BYTES + 1);
  w.put(n >>> 8, 8);
  w.put(n, 8);
  // Prometheus keeps an empty byte after a chunk whose last write was whole bytes, aligned.
  let emptyTail = false;
  let prevT = 0;
  let prevDelta = 0;
  let prevHi = 0;
  let prevLo = 0;
  let leading = 0xff;
  let trailing = 0;
  for (let i = 0; i < n; i++) {
    const t = timestampsMs[i];
    checkTimestamp(t, i);
    const hi = words[2 * i + HI];
    const lo = words[2 * i + LO];
    if (i === 0) {
      writeVarint(w, t);
      w.put64(hi, lo, 64);
      emptyTail = true;
      prevT = t;
      prevHi = hi;
      prevLo = lo;
      continue;
    }
    const delta = t - prevT;
    if (delta < 0) throw new RangeError(`sample ${i}: timestamp ${t} is before ${prevT}`);
    if (i === 1) {
      writeUvarint64(w, Math.floor(delta / TWO_32), delta >>> 0);
    } else {
      const dod = delta - prevDelta;
      // Buckets: -(2^(b-1) - 1) <= dod <= 2^(b-1), Prometheus's bitRange.
      if (dod === 0) w.put(0, 1);
      else if (dod > -8192 && dod <= 8192) { w.put(0b10, 2); w.put(dod, 14); }
      else if (dod > -65536 && dod <= 65536) { w.put(0b110, 3); w.put32(dod, 17); }
      else if (dod > -524288 && dod <= 524288) { w.put(0b1110, 4); w.put32(dod, 20); }
      else { w.put(0b1111, 4); w.put64(Math.floor(dod / TWO_32) >>> 0, dod >>> 0, 64); }
    }
    prevDelta = delta;
    prevT = t;
    // XOR of the value bits with the previous value's.
    const xhi = (hi ^ prevHi) >>> 0;
    const xlo = (lo ^ prevLo) >>> 0;
    prevHi = hi;
    prevLo = lo;
    if (xhi === 0 && xlo === 0) {
      w.put(0, 1);
      emptyTail = false;
      continue;
    }
    let lead = xhi !== 0 ? Math.clz32(xhi) : 32 + Math.clz32(xlo);
    const trail = xlo !== 0 ? ctz32(xlo) : 32 + ctz32(xhi);
    if (lead >= 32) lead = 31;
    let shift: number;
    let sig: number;
    if (leading !== 0xff && lead >= leading && trail >= trailing) {
      w.put(0b10, 2);
      shift = trailing;
      sig = 64 - leading - trailing;
    } else {
      leading = lead;
      trailing = trail;
      sig = 64 - lead - trail;
      shift = trail;
      w.put(0b11, 2);
      w.put(lead, 5);
      w.put(sig & 0x3f, 6);
    }
    // The meaningful bits: (xhi:xlo) >> shift, the low `sig` of them.
    if (shift >= 32) w.put32(xhi >>> (shift - 32), sig);
    else if (shift > 0) w.put64(xhi >>> shift, ((xlo >>> shift) | (xhi << (32 - shift))) >>> 0, sig);
    else w.put64(xhi, xlo, sig);
    emptyTail = sig % 8 === 0;
  }
  return w.finish(emptyTail && w.nacc === 0);
}

/**
 * Splits samples into chunks of at most `max` samples (the last one possibly shorter), each with
 * its min/max time, as a remote-read response carries them.
 */
export function cutXorChunks(
  timestampsMs: ArrayLike<number>, values: ArrayLike<number>, max = MAX_SAMPLES_PER_CHUNK,
): { minTimeMs: number; maxTimeMs: number; data: Uint8Array }[] {
  const out: { minTimeMs: number; maxTimeMs: number; data: Uint8Array }[] = [];
  const ts = Array.from(timestampsMs);
  const vs = Array.from(values);
  for (let start = 0; start < ts.length; start += max) {
    const end = Math.min(ts.length, start + max);
    out.push({ minTimeMs: ts[start], maxTimeMs: ts[end - 1], data: encodeXorChunk(ts.slice(start, end), vs.slice(start, end)) });
  }
  return out;
}
