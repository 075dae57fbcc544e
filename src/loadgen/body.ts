/**
 * Remote-write bodies built by hand from pre-encoded label bytes, no protobuf library. The load
 * generator itself fills compressed templates (template.ts); `encodeRequest` is the plain
 * encode-then-compress they are checked against.
 */
import { labelBodySize, snappyCompress, varintSize, writeLabelField, writeVarint, type Label } from '../protocol/index.js';

/** The Label messages of a label set (each with its field-1 tag), as a TimeSeries carries them. */
export function encodeLabels(labels: readonly Label[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) {
    const name = Buffer.from(l.name, 'utf8');
    const value = Buffer.from(l.value, 'utf8');
    const len = labelBodySize(name, value);
    const b = Buffer.alloc(1 + varintSize(len) + len);
    writeLabelField(b, 0, name, value, len);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/**
 * snappy(WriteRequest) of one sample for each series in [from, to): series s at time
 * `timestampMs` with value `value(s)`. Timestamps must be >= 0 (varint as unsigned).
 */
export function encodeRequest(labels: readonly Buffer[], from: number, to: number, timestampMs: number, value: (s: number) => number): Uint8Array {
  const tsSize = varintSize(timestampMs);
  const sampleLen = 1 + 8 + 1 + tsSize;
  let total = 0;
  for (let s = from; s < to; s++) {
    const inner = labels[s].length + 2 + sampleLen;
    total += 1 + varintSize(inner) + inner;
  }
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let s = from; s < to; s++) {
    const l = labels[s];
    buf[at++] = 0x0a;
    at = writeVarint(buf, at, l.length + 2 + sampleLen);
    at += l.copy(buf, at);
    buf[at++] = 0x12;
    buf[at++] = sampleLen;
    buf[at++] = 0x09;
    buf.writeDoubleLE(value(s), at);
    at += 8;
    buf[at++] = 0x10;
    at = writeVarint(buf, at, timestampMs);
  }
  return snappyCompress(buf);
}
