/**
 * Compressed bodies the load generator fills in instead of compressing each time.
 *
 * From one scrape to the next a request of the same series changes only in its samples: each
 * series' value (8 bytes) and the timestamp (a varint, the same length for years, the same in
 * every series of a request). So each request shape is compressed once, by a Snappy block
 * compressor that keeps values literal and copies timestamp bytes only from timestamp bytes; a
 * request is then a copy of the compressed template with those bytes overwritten. What a receiver decompresses is exactly the
 * WriteRequest `encodeRequest` would have built; the body is a little larger than a full Snappy
 * pass would make it (values are never matched), and the generator,
 * which shares the machine with what it measures, spends a copy instead of a compression.
 */
import { varintSize, writeVarint } from '../protocol/index.js';

/** One request shape: the compressed block and where each sample's bytes lie in it. */
export interface BodyTemplate {
  readonly compressed: Buffer;
  /** Per series, in order: offset in `compressed` of its value (8 bytes LE, always one literal run). */
  readonly values: Uint32Array;
  /** Offsets in `compressed` of timestamp bytes left literal, and which byte of the varint each is. */
  readonly tsAt: Uint32Array;
  readonly tsByte: Uint8Array;
  /** Bytes of the timestamp varint the template was built for. */
  readonly tsSize: number;
}

/**
 * What each byte of a template is: plain (0, never changes), a value byte (1: differs between
 * series and between requests, so it is never matched), or byte k of the timestamp (2 + k: the
 * same in every series of a request, so timestamp bytes may be copied from an earlier series'
 * timestamp, byte k from byte k, and from nothing else).
 */
const PLAIN = 0;
const VALUE = 1;
const TS = 2;

/** The uncompressed WriteRequest for series [from, to) with zeroed samples, and each byte's kind. */
function rawShape(labels: readonly Buffer[], from: number, to: number, tsSize: number): { raw: Buffer; kind: Uint8Array } {
  const sampleLen = 1 + 8 + 1 + tsSize;
  let total = 0;
  for (let s = from; s < to; s++) {
    const inner = labels[s].length + 2 + sampleLen;
    total += 1 + varintSize(inner) + inner;
  }
  const raw = Buffer.alloc(total);
  const kind = new Uint8Array(total + 4).fill(VALUE, total); // the tail never matches
  let at = 0;
  for (let s = from; s < to; s++) {
    const l = labels[s];
    raw[at++] = 0x0a;
    at = writeVarint(raw, at, l.length + 2 + sampleLen);
    at += l.copy(raw, at);
    raw[at++] = 0x12;
    raw[at++] = sampleLen;
    raw[at++] = 0x09;
    kind.fill(VALUE, at, at + 8);
    at += 8;
    raw[at++] = 0x10;
    for (let k = 0; k < tsSize; k++) kind[at++] = TS + k;
  }
  return { raw, kind };
}

const HASH_BITS = 14;
const MAX_OFFSET = 65_535; // two-byte-offset copies only

interface Compressed {
  readonly block: Buffer;
  readonly values: number[];
  readonly tsAt: number[];
  readonly tsByte: number[];
}

/**
 * Snappy block compression (greedy, 4-byte hash matches, like the reference compressor) that
 * respects `kind`: a copy's source and destination bytes are of the same kind, and never value
 * bytes. Records where the value and timestamp bytes left in literals land in the block.
 */
function compressShape(raw: Buffer, kind: Uint8Array): Compressed {
  const n = raw.length;
  const out = Buffer.allocUnsafe(10 + n + Math.ceil(n / 60) * 5); // all literal, at worst
  let o = writeVarint(out, 0, n);
  const values: number[] = [];
  const tsAt: number[] = [];
  const tsByte: number[] = [];
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const same = (a: number, b: number) => kind[a] !== VALUE && kind[a] === kind[b];
  const emitLiteral = (start: number, end: number) => {
    const len = end - start;
    if (len === 0) return;
    if (len <= 60) {
      out[o++] = (len - 1) << 2;
    } else {
      const m = len - 1;
      const bytes = m < 0x100 ? 1 : m < 0x10000 ? 2 : m < 0x1000000 ? 3 : 4;
      out[o++] = (59 + bytes) << 2;
      for (let b = 0; b < bytes; b++) out[o++] = Math.floor(m / 2 ** (8 * b)) & 0xff;
    }
    for (let p = start; p < end; p++) {
      if (kind[p] === VALUE && (p === start || kind[p - 1] !== VALUE)) values.push(o + p - start);
      else if (kind[p] >= TS) {
        tsAt.push(o + p - start);
        tsByte.push(kind[p] - TS);
      }
    }
    o += raw.copy(out, o, start, end);
  };
  const emitCopy = (offset: number, len: number) => {
    while (len > 0) {
      const part = Math.min(len, 64); // copies of 1..64 bytes with a two-byte offset
      out[o++] = ((part - 1) << 2) | 2;
      out[o++] = offset & 0xff;
      out[o++] = offset >>> 8;
      len -= part;
    }
  };
  let literalStart = 0;
  let i = 0;
  while (i + 4 <= n) {
    if (kind[i] === VALUE || kind[i + 1] === VALUE || kind[i + 2] === VALUE || kind[i + 3] === VALUE) {
      i++;
      continue;
    }
    const word = raw.readUInt32LE(i);
    const h = Math.imul(word, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const cand = table[h];
    table[h] = i;
    if (cand < 0 || i - cand > MAX_OFFSET || raw.readUInt32LE(cand) !== word
      || !same(i, cand) || !same(i + 1, cand + 1) || !same(i + 2, cand + 2) || !same(i + 3, cand + 3)) {
      i++;
      continue;
    }
    let len = 4;
    while (i + len < n && raw[cand + len] === raw[i + len] && same(i + len, cand + len)) len++;
    emitLiteral(literalStart, i);
    emitCopy(i - cand, len);
    i += len;
    literalStart = i;
  }
  emitLiteral(literalStart, n);
  return { block: out.subarray(0, o), values, tsAt, tsByte };
}

/** Compresses the shape of a request for series [from, to) with `tsSize`-byte timestamps. */
export function buildTemplate(labels: readonly Buffer[], from: number, to: number, tsSize: number): BodyTemplate {
  const { raw, kind } = rawShape(labels, from, to, tsSize);
  const c = compressShape(raw, kind);
  if (c.values.length !== to - from) throw new Error(`template: ${c.values.length} value runs for ${to - from} series`);
  return {
    compressed: Buffer.from(c.block), values: Uint32Array.from(c.values),
    tsAt: Uint32Array.from(c.tsAt), tsByte: Uint8Array.from(c.tsByte), tsSize,
  };
}

/**
 * A body from the template: series `from + k` gets `value(from + k)` at `timestampMs`.
 * The timestamp must take exactly `template.tsSize` varint bytes (see varintSize).
 */
export function fillTemplate(t: BodyTemplate, from: number, timestampMs: number, value: (s: number) => number): Buffer {
  if (varintSize(timestampMs) !== t.tsSize) throw new RangeError(`timestamp ${timestampMs} does not take ${t.tsSize} varint bytes`);
  const ts = Buffer.alloc(t.tsSize);
  writeVarint(ts, 0, timestampMs);
  const body = Buffer.allocUnsafe(t.compressed.length);
  t.compressed.copy(body);
  for (let k = 0; k < t.values.length; k++) body.writeDoubleLE(value(from + k), t.values[k]);
  for (let k = 0; k < t.tsAt.length; k++) body[t.tsAt[k]] = ts[t.tsByte[k]];
  return body;
}
