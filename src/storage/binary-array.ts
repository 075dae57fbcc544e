/**
 * One-dimensional arrays in PostgreSQL's binary array format, as bind parameters: node-pg sends
 * a Buffer parameter in binary format, so `$1::text[]` given one of these is read by array_recv
 * with no quoting, escaping or hex on either side. The text form node-pg builds from a JS array
 * escapes every quote of every JSON label set and hex-encodes every hash; for new series it cost
 * the worker as much CPU as PostgreSQL's whole insert.
 *
 * The array's element type must be the one the statement casts to (array_recv refuses another).
 */

const OID = { bytea: 17, int8: 20, text: 25, jsonb: 3802 } as const;
/** ndim, has-nulls flag, element type, then one dimension: length and lower bound. */
const HEADER_BYTES = 20;
/** jsonb's binary form is a version byte, then the JSON text. */
const JSONB_VERSION = 1;

function header(buf: Buffer, oid: number, n: number): number {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16);
  return HEADER_BYTES;
}

/** Strings as `text[]` (or, with `jsonb`, as `jsonb[]`: each string must be a JSON document). */
function stringArray(values: readonly string[], jsonb: boolean): Buffer {
  const extra = jsonb ? 1 : 0;
  // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 2 units, takes 4).
  let bound = HEADER_BYTES;
  for (const v of values) bound += 4 + extra + 3 * v.length;
  const buf = Buffer.allocUnsafe(bound);
  let off = header(buf, jsonb ? OID.jsonb : OID.text, values.length);
  for (const v of values) {
    const at = off;
    off += 4;
    if (jsonb) buf[off++] = JSONB_VERSION;
    off += buf.write(v, off, 'utf8');
    buf.writeInt32BE(off - at - 4, at);
  }
  return buf.subarray(0, off);
}

export function textArray(values: readonly string[]): Buffer {
  return stringArray(values, false);
}

export function jsonbArray(values: readonly string[]): Buffer {
  return stringArray(values, true);
}

/** Byte strings given as latin1 strings (one byte a character, e.g. hashes as the caches key them), as `bytea[]`. */
export function byteaArrayOfLatin1(values: readonly string[]): Buffer {
  let bound = HEADER_BYTES;
  for (const v of values) bound += 4 + v.length;
  const buf = Buffer.allocUnsafe(bound);
  let off = header(buf, OID.bytea, values.length);
  for (const v of values) {
    buf.writeInt32BE(v.length, off);
    off += 4;
    off += buf.write(v, off, 'latin1');
  }
  return buf;
}

/** Non-negative safe integers as `int8[]`. */
export function int8Array(values: ArrayLike<number>): Buffer {
  const n = values.length;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 12 * n);
  let off = header(buf, OID.int8, n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`int8Array: ${v} is not a non-negative safe integer`);
    buf.writeInt32BE(8, off);
    const hi = Math.floor(v / 2 ** 32);
    buf.writeUInt32BE(hi, off + 4);
    buf.writeUInt32BE(v - hi * 2 ** 32, off + 8);
    off += 12;
  }
  return buf;
}
