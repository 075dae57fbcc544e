/**
 * Decoder of Prometheus XOR chunks (see xor-chunk.ts for the layout); used by tests and by
 * clients of STREAMED_XOR_CHUNKS responses. Value bits are reassembled exactly (NaN payloads
 * included).
 */

const TWO_32 = 4294967296;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

class BitReader {
  private pos: number;
  private used = 0;

  constructor(private readonly buf: Uint8Array, start: number) {
    this.pos = start;
  }

  /** Reads `n` (0..32) bits as an unsigned number. */
  bits(n: number): number {
    let v = 0;
    while (n > 0) {
      if (this.pos >= this.buf.length) throw new RangeError(`XOR chunk truncated at byte ${this.pos}`);
      const free = 8 - this.used;
      const take = free < n ? free : n;
      const chunk = (this.buf[this.pos] >>> (free - take)) & ((1 << take) - 1);
      v = v * (1 << take) + chunk;
      this.used += take;
      n -= take;
      if (this.used === 8) {
        this.used = 0;
        this.pos++;
      }
    }
    return v;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.bits(8);
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new RangeError('XOR chunk varint longer than 10 bytes');
  }

  varint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
}

/** Two's complement `n`-bit field → signed, with Prometheus's asymmetric range (2^(n-1) stays positive). */
function signed(bits: number, n: number): number {
  return bits > 2 ** (n - 1) ? bits - 2 ** n : bits;
}

/** Decodes a whole XOR chunk (2-byte count header included). */
export function decodeXorChunk(bytes: Uint8Array): { timestamps: number[]; values: Float64Array } {
  if (bytes.length < 2) throw new RangeError('XOR chunk shorter than its 2-byte header');
  const n = (bytes[0] << 8) | bytes[1];
  const r = new BitReader(bytes, 2);
  const timestamps: number[] = new Array<number>(n);
  const values = new Float64Array(n);
  let t = 0;
  let delta = 0;
  let hi = 0;
  let lo = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) {
      t = r.varint();
      hi = r.bits(32);
      lo = r.bits(32);
    } else {
      if (i === 1) {
        delta = r.uvarint();
      } else {
        let dod: number;
        if (r.bits(1) === 0) dod = 0;
        else if (r.bits(1) === 0) dod = signed(r.bits(14), 14);
        else if (r.bits(1) === 0) dod = signed(r.bits(17), 17);
        else if (r.bits(1) === 0) dod = signed(r.bits(20), 20);
        else {
          const h = r.bits(32);
          const l = r.bits(32);
          dod = (h | 0) * TWO_32 + l;
        }
        delta += dod;
      }
      t += delta;
      if (r.bits(1) === 1) {
        if (r.bits(1) === 1) {
          leading = r.bits(5);
          const sig = r.bits(6);
          trailing = 64 - leading - (sig === 0 ? 64 : sig);
        }
        const sig = 64 - leading - trailing;
        let xh = 0;
        let xl = 0;
        if (sig > 32) {
          xh = r.bits(sig - 32);
          xl = r.bits(32);
        } else {
          xl = r.bits(sig);
        }
        // Shift (xh:xl) left by trailing.
        if (trailing >= 32) {
          xh = (xl << (trailing - 32)) >>> 0;
          xl = 0;
        } else if (trailing > 0) {
          xh = ((xh << trailing) | (xl >>> (32 - trailing))) >>> 0;
          xl = (xl << trailing) >>> 0;
        }
        hi = (hi ^ xh) >>> 0;
        lo = (lo ^ xl) >>> 0;
      }
    }
    timestamps[i] = t;
    u32[HI] = hi;
    u32[LO] = lo;
    values[i] = f64[0];
  }
  return { timestamps, values };
}
