import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PromfleetError } from '../errors.js';
import { assertSchemaName, quoteIdent } from './ident.js';

/** Column-wise sample rows: row i is (timestampsMs[i], seriesIds[i], values[i]). */
export interface SampleRows {
  readonly seriesIds: ArrayLike<number>;
  /** Milliseconds since the Unix epoch, whole numbers. */
  readonly timestampsMs: ArrayLike<number>;
  /**
   * Prefer Float64Array: V8 stores a number[] of doubles in a FixedDoubleArray, which quiets
   * signalling NaNs, so Prometheus's stale marker 0x7ff0000000000002 comes out of one as
   * 0x7ff8000000000002. The encoder maps that quieted form back (see encodeSamples).
   */
  readonly values: ArrayLike<number>;
}

// PGCOPY\n\377\r\n\0, int32 flags, int32 header extension length.
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER_BYTES = SIGNATURE.length + 8;
/** int16 field count, then three fields of int32 length + 8 bytes. */
export const ROW_BYTES = 2 + 3 * (4 + 8);
const TRAILER_BYTES = 2;

/** PostgreSQL's timestamp epoch, 2000-01-01T00:00:00Z, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
/** Below this many ms from 2000 (about 285 years), µs still fit in a double exactly. */
const FAST_SPAN_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
/** PostgreSQL's timestamptz range, in µs from 2000: 4713 BC .. 294276 AD. */
const MIN_PG_US = -211_813_488_000_000_000n;
const MAX_PG_US = 9_223_371_331_200_000_000n;

const STALE_HI = 0x7ff00000;
const QUIET_STALE_HI = 0x7ff80000;
const STALE_LO = 0x00000002;

/** Bytes the binary COPY stream of `rows` sample rows takes. */
export function encodedSize(rows: number): number {
  return HEADER_BYTES + rows * ROW_BYTES + TRAILER_BYTES;
}

function badTime(ms: number): never {
  throw new PromfleetError('INVALID_SAMPLE', `sample timestamp ${ms} is not a whole millisecond in PostgreSQL's range`);
}

/** Writes µs since 2000 for a timestamp outside the fast range, with BigInt (rare). */
function writeFarTime(dv: DataView, o: number, ms: number): void {
  if (!Number.isSafeInteger(ms)) badTime(ms);
  const us = (BigInt(ms) - BigInt(PG_EPOCH_MS)) * 1000n;
  if (us < MIN_PG_US || us > MAX_PG_US) badTime(ms);
  dv.setBigInt64(o, us);
}

/**
 * Encodes sample rows as one PostgreSQL binary COPY stream (header, rows, trailer) into a
 * single Buffer sized up front. Numbers are written as two 32-bit halves so the hot loop
 * allocates nothing (no BigInt per row).
 */
export function encodeSamples(rows: SampleRows): Buffer {
  const n = rows.seriesIds.length;
  if (rows.timestampsMs.length !== n || rows.values.length !== n) {
    throw new RangeError(`sample columns differ in length: ${n} ids, ${rows.timestampsMs.length} timestamps, ${rows.values.length} values`);
  }
  const buf = Buffer.allocUnsafe(encodedSize(n));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < SIGNATURE.length; i++) buf[i] = SIGNATURE[i];
  dv.setInt32(SIGNATURE.length, 0); // flags: no OIDs
  dv.setInt32(SIGNATURE.length + 4, 0); // no header extension
  const { seriesIds, timestampsMs, values } = rows;
  let o = HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    dv.setInt16(o, 3);
    // time: timestamptz, int64 µs since 2000-01-01 UTC
    dv.setInt32(o + 2, 8);
    const rel = timestampsMs[i] - PG_EPOCH_MS;
    if (Number.isInteger(rel) && rel > -FAST_SPAN_MS && rel < FAST_SPAN_MS) {
      const us = rel * 1000;
      const hi = Math.floor(us / TWO_32);
      dv.setInt32(o + 6, hi);
      dv.setUint32(o + 10, us - hi * TWO_32);
    } else {
      writeFarTime(dv, o + 6, timestampsMs[i]);
    }
    // series_id: int8
    dv.setInt32(o + 14, 8);
    const id = seriesIds[i];
    if (!(id >= 0 && id <= Number.MAX_SAFE_INTEGER && Number.isInteger(id))) throw new RangeError(`bad series id ${id} at row ${i}`);
    dv.setUint32(o + 18, Math.floor(id / TWO_32));
    dv.setUint32(o + 22, id >>> 0);
    // value: float8, bit for bit (NaN payloads included)
    dv.setInt32(o + 26, 8);
    const v = values[i];
    dv.setFloat64(o + 30, v);
    // A stale marker that went through a V8 double array arrives with the quiet bit set.
    if (v !== v && dv.getUint32(o + 30) === QUIET_STALE_HI && dv.getUint32(o + 34) === STALE_LO) {
      dv.setUint32(o + 30, STALE_HI);
    }
    o += ROW_BYTES;
  }
  dv.setInt16(o, -1);
  return buf;
}

/** The largest CopyData message we send; the stream is split so none approaches 1 GB. */
const CHUNK_BYTES = 1 << 20;

/**
 * Streams an already encoded binary COPY buffer into `<schema>.<relation>` (samples, or one of
 * its partitions when every row belongs to it). Returns rows copied.
 */
export async function copyEncodedSamples(client: pg.PoolClient | pg.Client, schema: string, data: Buffer, relation = 'samples'): Promise<number> {
  assertSchemaName(schema);
  const stream = client.query(copyFrom(`COPY ${quoteIdent(schema)}.${quoteIdent(relation)} (time, series_id, value) FROM STDIN (FORMAT binary)`));
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.once('finish', resolve);
    // Subarrays share the one buffer: no copy. Back-pressure is moot, the data is in memory.
    for (let off = 0; off < data.length; off += CHUNK_BYTES) stream.write(data.subarray(off, off + CHUNK_BYTES));
    stream.end();
  });
  return stream.rowCount;
}

/**
 * Binary COPY of sample rows into `<schema>.samples`. The partitions for the rows' times must
 * exist (Partitions.ensure*). Returns the number of rows the server reports copied.
 */
export async function copySamples(client: pg.PoolClient | pg.Client, schema: string, rows: SampleRows, relation = 'samples'): Promise<number> {
  if (rows.seriesIds.length === 0) return 0;
  return copyEncodedSamples(client, schema, encodeSamples(rows), relation);
}
