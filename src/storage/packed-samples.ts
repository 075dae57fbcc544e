/**
 * A series' samples as a read gets them from PostgreSQL: `array_agg(time)` and
 * `array_agg(value)` in binary form (array_send: ndim, has-nulls flag, element type, length and
 * lower bound, then `int32 length | bytes` per element; timestamptz as int64 microseconds from
 * 2000-01-01, float8 as its 8 big-endian bytes). Unpacked into columns without one object per
 * sample; each value's 64 bits are moved as two integers, never through a double, so every NaN
 * payload (the stale marker 0x7ff0000000000002 included) keeps its bits.
 */

/** One series' samples, timestamps in ms, in time order. */
export interface SampleColumns {
  readonly times: Float64Array;
  readonly values: Float64Array;
}

/** timestamptz's binary form counts microseconds from 2000-01-01; this is that instant in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = 1 - HI;
/** Bytes before the first element of a one-dimensional array without NULLs. */
const ARRAY_HEADER = 20;

/** Checks a binary one-dimensional array of 8-byte elements; returns its element count. */
function arrayLength(a: Buffer, what: string): number {
  if (a.length < 12) throw new Error(`packed samples: ${what} array of ${a.length} bytes`);
  const ndim = a.readInt32BE(0);
  if (ndim === 0) return 0;
  if (ndim !== 1 || a.readInt32BE(4) !== 0 || a.length < ARRAY_HEADER) throw new Error(`packed samples: ${what} array is not one-dimensional without NULLs`);
  const n = a.readInt32BE(12);
  if (a.length !== ARRAY_HEADER + n * 12) throw new Error(`packed samples: ${what} array of ${n} elements in ${a.length} bytes`);
  return n;
}

/**
 * Columns reused from one series to the next: a read hands each series over for the time of a
 * call only, and fresh arrays for each of a thousand series would be garbage to collect.
 */
export class ColumnScratch {
  times = new Float64Array(1024);
  values = new Float64Array(1024);

  /** Columns of `n` samples, views into the scratch arrays (grown when needed). */
  take(n: number): SampleColumns {
    if (this.times.length < n) {
      const size = Math.max(n, 2 * this.times.length);
      this.times = new Float64Array(size);
      this.values = new Float64Array(size);
    }
    return { times: this.times.subarray(0, n), values: this.values.subarray(0, n) };
  }
}

/**
 * Unpacks a series' time and value arrays into columns; they must hold the same number of
 * 8-byte elements. With `scratch`, the columns are views into it, valid until its next use.
 */
export function unpackSampleArrays(t: Buffer, v: Buffer, scratch?: ColumnScratch): SampleColumns {
  const n = arrayLength(t, 'time');
  if (arrayLength(v, 'value') !== n) throw new Error(`packed samples: ${n} times but a different number of values`);
  const tv = new DataView(t.buffer, t.byteOffset, t.length);
  const vv = new DataView(v.buffer, v.byteOffset, v.length);
  const { times, values } = scratch === undefined ? { times: new Float64Array(n), values: new Float64Array(n) } : scratch.take(n);
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let sorted = true;
  for (let i = 0, p = ARRAY_HEADER; i < n; i++, p += 12) {
    if (tv.getInt32(p) !== 8 || vv.getInt32(p) !== 8) throw new Error(`packed samples: element ${i} is not 8 bytes`);
    const us = tv.getInt32(p + 4) * TWO_32 + tv.getUint32(p + 8);
    const ms = Math.round(us / 1000) + PG_EPOCH_MS;
    if (i > 0 && ms < times[i - 1]) sorted = false;
    times[i] = ms;
    words[2 * i + HI] = vv.getUint32(p + 4);
    words[2 * i + LO] = vv.getUint32(p + 8);
  }
  return sorted ? { times, values } : sortByTime(times, values);
}

/**
 * The samples in time order. The query aggregates rows it reads in (series, time) order, which
 * PostgreSQL keeps in practice; should a plan ever feed them otherwise, they are sorted here.
 */
function sortByTime(times: Float64Array, values: Float64Array): SampleColumns {
  const order = Array.from(times.keys()).sort((a, b) => times[a] - times[b] || a - b);
  const t = new Float64Array(times.length);
  const v = new Float64Array(values.length);
  const from = new Uint32Array(values.buffer, values.byteOffset, 2 * values.length);
  const to = new Uint32Array(v.buffer);
  order.forEach((k, i) => {
    t[i] = times[k];
    to[2 * i] = from[2 * k];
    to[2 * i + 1] = from[2 * k + 1];
  });
  return { times: t, values: v };
}
