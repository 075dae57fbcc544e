/**
 * PostgreSQL binary COPY for rows of (timestamptz, bigint, float8), the shape of a samples
 * table. Written for the benchmark's ceiling so it owes nothing to promfleet's own writer.
 *
 * Format (PostgreSQL docs, "COPY ... BINARY"): an 11-byte signature, a 32-bit flags word and a
 * 32-bit header-extension length; per row a 16-bit field count, then per field a 32-bit length
 * and the value in network byte order; a 16-bit -1 ends the stream.
 */

const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
/** 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps, in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
/** 2 (field count) + 3 × (4 length + 8 value). */
export const ROW_BYTES = 2 + 3 * 12;

export function copyHeader(): Buffer {
  const b = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(b, 0);
  // flags = 0 (no OIDs), header extension length = 0: alloc already zeroed them.
  return b;
}

export function copyTrailer(): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(-1, 0);
  return b;
}

/** A safe integer as a big-endian int64, without BigInt (hi word by floor, lo word unsigned). */
function writeInt64(b: Buffer, v: number, at: number): void {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32BE(hi, at);
  b.writeUInt32BE(v - hi * TWO_32, at + 4);
}

/** Columns for rows [from, to): time in Unix ms, series id, value. */
export interface RowColumns {
  readonly timeMs: Float64Array;
  readonly seriesId: Float64Array;
  readonly value: Float64Array;
}

/** Encodes rows [from, to) (no header or trailer). */
export function encodeRows(rows: RowColumns, from: number, to: number): Buffer {
  const b = Buffer.allocUnsafe((to - from) * ROW_BYTES);
  let at = 0;
  for (let i = from; i < to; i++) {
    b.writeInt16BE(3, at);
    b.writeInt32BE(8, at + 2);
    writeInt64(b, (rows.timeMs[i]! - PG_EPOCH_MS) * 1000, at + 6);
    b.writeInt32BE(8, at + 14);
    writeInt64(b, rows.seriesId[i]!, at + 18);
    b.writeInt32BE(8, at + 26);
    b.writeDoubleBE(rows.value[i]!, at + 30);
    at += ROW_BYTES;
  }
  return b;
}

/** A row of a series-shaped table: metric (text), labels (jsonb, as JSON text), labels_hash (bytea). */
export interface SeriesRowValues {
  readonly metric: string;
  readonly labelsJson: string;
  readonly hash: Buffer;
}

/** Encodes series rows (no header or trailer): text as UTF-8, jsonb as its version byte 1 and the JSON text, bytea as is. */
export function encodeSeriesRows(rows: readonly SeriesRowValues[]): Buffer {
  let size = 0;
  for (const r of rows) size += 2 + 4 + Buffer.byteLength(r.metric) + 4 + 1 + Buffer.byteLength(r.labelsJson) + 4 + r.hash.length;
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of rows) {
    b.writeInt16BE(3, at);
    at += 2;
    const m = b.write(r.metric, at + 4, 'utf8');
    b.writeInt32BE(m, at);
    at += 4 + m;
    b[at + 4] = 1;
    const l = b.write(r.labelsJson, at + 5, 'utf8');
    b.writeInt32BE(l + 1, at);
    at += 5 + l;
    b.writeInt32BE(r.hash.length, at);
    r.hash.copy(b, at + 4);
    at += 4 + r.hash.length;
  }
  return b;
}
