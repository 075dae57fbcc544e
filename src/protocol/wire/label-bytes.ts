/**
 * Checks a series' labels where they lie in the body, as the bytes of their Label messages,
 * without decoding them into strings: what the ingress's fast path needs to know of a label set
 * (valid, within the limits, and which HA group and replica it names) costs one pass over its
 * bytes and no allocation.
 *
 * It accepts only what validateWriteRequest and the decode limits accept under remote-write 1.0
 * (legacy label-name charset), in the one encoding every sender uses (name then value, each
 * present once); anything else returns false, and the caller takes the full decode, which says
 * precisely what is wrong.
 */
import { isUtf8 } from 'node:buffer';

/** The decode limits a label run is held to (a DecodeLimits has them). */
export interface LabelLimits {
  readonly maxLabelsPerSeries: number;
  readonly maxLabelNameBytes: number;
  readonly maxLabelValueBytes: number;
}

/** Where the HA labels' values lie in the body (-1: the label set has no such label). */
export interface HaLabelSpans {
  clusterFrom: number;
  clusterTo: number;
  replicaFrom: number;
  replicaTo: number;
}

/** The names to look for, as bytes. */
export interface HaLabelNames {
  readonly cluster: Uint8Array;
  readonly replica: Uint8Array;
}

// [a-zA-Z_] may start a name, [a-zA-Z0-9_] continue it.
const NAME_START = new Uint8Array(256);
const NAME_PART = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  NAME_START[c] = /[a-zA-Z_]/.test(ch) ? 1 : 0;
  NAME_PART[c] = /[a-zA-Z0-9_]/.test(ch) ? 1 : 0;
}
const METRIC_NAME = Buffer.from('__name__');

function sameBytes(buf: Uint8Array, from: number, len: number, other: Uint8Array): boolean {
  if (len !== other.length) return false;
  for (let k = 0; k < len; k++) if (buf[from + k] !== other[k]) return false;
  return true;
}

/** Byte order of two names (ASCII, so the order of their strings): < 0, 0 or > 0. */
function compareNames(buf: Uint8Array, a: number, aLen: number, b: number, bLen: number): number {
  const n = Math.min(aLen, bLen);
  for (let k = 0; k < n; k++) {
    const d = buf[a + k] - buf[b + k];
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/**
 * True when the Label messages in buf[from, to) form a valid label set within `limits`; `spans`
 * then says where the HA labels' values are. Lengths are one varint byte (labels under 128
 * bytes); a longer one returns false, for the full decode to judge.
 */
export function checkLabelRun(buf: Uint8Array, from: number, to: number, limits: LabelLimits, names: HaLabelNames, spans: HaLabelSpans): boolean {
  spans.clusterFrom = spans.clusterTo = spans.replicaFrom = spans.replicaTo = -1;
  let pos = from;
  let labels = 0;
  let prevName = -1;
  let prevLen = 0;
  let metricName = false;
  while (pos < to) {
    // Label message: 0x0a len { 0x0a nameLen name 0x12 valueLen value }
    if (buf[pos] !== 0x0a || pos + 1 >= to) return false;
    const msgLen = buf[pos + 1];
    if (msgLen >= 0x80) return false;
    const msgEnd = pos + 2 + msgLen;
    if (msgEnd > to || msgLen < 4 || buf[pos + 2] !== 0x0a) return false;
    const nameLen = buf[pos + 3];
    const name = pos + 4;
    if (nameLen >= 0x80 || nameLen === 0 || name + nameLen + 2 > msgEnd || buf[name + nameLen] !== 0x12) return false;
    const valueLen = buf[name + nameLen + 1];
    const value = name + nameLen + 2;
    if (valueLen >= 0x80 || value + valueLen !== msgEnd) return false;
    if (++labels > limits.maxLabelsPerSeries || nameLen > limits.maxLabelNameBytes || valueLen > limits.maxLabelValueBytes) return false;
    if (NAME_START[buf[name]] === 0) return false;
    for (let k = 1; k < nameLen; k++) if (NAME_PART[buf[name + k]] === 0) return false;
    if (prevName >= 0 && compareNames(buf, prevName, prevLen, name, nameLen) >= 0) return false; // unsorted or repeated
    let ascii = true;
    for (let k = 0; k < valueLen; k++) {
      const b = buf[value + k];
      if (b === 0) return false; // NUL cannot be stored
      if (b >= 0x80) ascii = false;
    }
    if (!ascii && !isUtf8(buf.subarray(value, value + valueLen))) return false;
    if (sameBytes(buf, name, nameLen, METRIC_NAME)) {
      if (valueLen === 0) return false;
      metricName = true;
    }
    if (sameBytes(buf, name, nameLen, names.cluster)) {
      spans.clusterFrom = value;
      spans.clusterTo = value + valueLen;
    } else if (sameBytes(buf, name, nameLen, names.replica)) {
      spans.replicaFrom = value;
      spans.replicaTo = value + valueLen;
    }
    prevName = name;
    prevLen = nameLen;
    pos = msgEnd;
  }
  return metricName;
}

/** Whether buf[aFrom, aTo) and buf[bFrom, bTo) hold the same bytes (both -1: both absent). */
export function sameSpan(buf: Uint8Array, aFrom: number, aTo: number, bFrom: number, bTo: number): boolean {
  if (aTo - aFrom !== bTo - bFrom || (aFrom < 0) !== (bFrom < 0)) return false;
  for (let k = 0; k < aTo - aFrom; k++) if (buf[aFrom + k] !== buf[bFrom + k]) return false;
  return true;
}
