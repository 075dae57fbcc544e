/**
 * A series' samples as PostgreSQL packs them for a read: `string_agg(timestamptz_send(time))`
 * and `string_agg(float8send(value))`, 8 bytes per sample each, big-endian, in time order.
 * Unpacked into columns without one object per sample; each value's 8 bytes are copied as they
 * are, so every NaN payload (the stale marker 0x7ff0000000000002 included) keeps its bits.
 */

/** One series' samples, timestamps in ms, in time order. */
export interface SampleColumns {
  readonly times: Float64Array;
  readonly values: Float64Array;
}

export interface PackedRow {
  /** Series id as text (bigint). */
  id: string;
  t: Buffer;
  v: Buffer;
}

/** timestamptz's binary form counts microseconds from 2000-01-01; this is that instant in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function unpackSamples(t: Buffer, v: Buffer): SampleColumns {
  if (t.length !== v.length || t.length % 8 !== 0) throw new Error(`packed samples: ${t.length} time bytes, ${v.length} value bytes`);
  const n = t.length / 8;
  // Copies into fresh, aligned memory, byte order turned to the machine's in bulk (swap64).
  const valueBytes = Buffer.alloc(v.length);
  v.copy(valueBytes);
  if (LITTLE_ENDIAN) valueBytes.swap64();
  const values = new Float64Array(valueBytes.buffer, valueBytes.byteOffset, n);
  const timeBytes = Buffer.alloc(t.length);
  t.copy(timeBytes);
  const times = new Float64Array(n);
  if (LITTLE_ENDIAN) {
    timeBytes.swap64();
    const words = new Int32Array(timeBytes.buffer, timeBytes.byteOffset, n * 2);
    for (let i = 0; i < n; i++) times[i] = Math.round((words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0)) / 1000) + PG_EPOCH_MS;
  } else {
    const words = new Int32Array(timeBytes.buffer, timeBytes.byteOffset, n * 2);
    for (let i = 0; i < n; i++) times[i] = Math.round((words[2 * i] * TWO_32 + (words[2 * i + 1] >>> 0)) / 1000) + PG_EPOCH_MS;
  }
  return { times, values };
}
