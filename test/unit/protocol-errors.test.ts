/**
 * Bad remote-write input, one case per test: each checks the error code and that the one-line
 * message names the series or field at fault.
 */
import { describe, it, expect } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import {
  decodeWriteRequest, encodeWriteRequest, snappyCompress, snappyDecompress, validateWriteRequest,
} from '../../src/protocol/index.js';
import type { Label, WriteRequest } from '../../src/protocol/index.js';

const MAX = 1024 * 1024;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const WINDOW = { nowMs: NOW, maxAgeMs: 3_600_000, maxFutureMs: 600_000 };

/** Runs fn and returns the PromfleetError it throws (fails the test otherwise). */
function caught(fn: () => unknown): PromfleetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PromfleetError);
    return err as PromfleetError;
  }
  throw new Error('expected a PromfleetError, nothing was thrown');
}

// A minimal protobuf writer, so malformed bodies can be spelled out byte by byte.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function bytes(...parts: (number | number[])[]): number[] {
  return parts.flat();
}
function delimited(fieldNo: number, payload: number[]): number[] {
  return [...varint((fieldNo << 3) | 2), ...varint(payload.length), ...payload];
}
function str(fieldNo: number, s: string | number[]): number[] {
  return delimited(fieldNo, typeof s === 'string' ? [...Buffer.from(s, 'utf8')] : s);
}
function label(name: string, value: string | number[]): number[] {
  return delimited(1, bytes(str(1, name), str(2, value)));
}
function sample(value: number, ts: number): number[] {
  const v = Buffer.alloc(8);
  v.writeDoubleLE(value);
  return delimited(2, bytes(0x09, [...v], 0x10, varint(ts)));
}

function series(labels: [string, string][], ts = NOW): WriteRequest {
  return {
    timeseries: [{
      labels: labels.map(([name, value]): Label => ({ name, value })),
      samples: [{ value: 1, timestamp: ts }],
      exemplars: [],
      histograms: [],
    }],
    metadata: [],
  };
}

describe('snappy input', () => {
  it('refuses a body that is not snappy at all', () => {
    const err = caught(() => snappyDecompress(Buffer.from('this is plainly not a snappy block', 'utf8'), MAX));
    expect(err.code).toBe('BAD_SNAPPY');
    expect(err.message).toMatch(/^snappy: .* at byte \d+$/);
  });

  it('refuses the framed format with a message saying so', () => {
    const framed = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59, 0x01, 0x05, 0x00, 0x00, 0, 0, 0, 0, 0x61]);
    const err = caught(() => snappyDecompress(framed, MAX));
    expect(err.code).toBe('BAD_SNAPPY');
    expect(err.message).toMatch(/framed format is not accepted/);
  });

  it('refuses a length header above the limit before allocating it', () => {
    const claimed = 512 * 1024 * 1024;
    const body = Buffer.from([...varint(claimed), 0x00, 0x61]);
    const before = process.memoryUsage().arrayBuffers;
    const err = caught(() => snappyDecompress(body, MAX));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(err.code).toBe('DECOMPRESSED_TOO_LARGE');
    expect(err.message).toMatch(new RegExp(`claims ${claimed} bytes, more than the limit of ${MAX}`));
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a block whose elements do not produce the declared length', () => {
    const block = Buffer.from(snappyCompress(Buffer.from('abcdefgh'.repeat(8))));
    block[0] += 1; // header now claims one byte more than the elements produce
    const err = caught(() => snappyDecompress(block, MAX));
    expect(err.code).toBe('BAD_SNAPPY');
    expect(err.message).toMatch(/decodes to 64 bytes but its header declares 65/);
  });
});

describe('protobuf input', () => {
  it('refuses a truncated body, naming the series it cut', () => {
    const req = series([['__name__', 'up'], ['job', 'a']]);
    req.timeseries.push({ ...req.timeseries[0], labels: [{ name: '__name__', value: 'down' }] });
    const full = encodeWriteRequest(req);
    const err = caught(() => decodeWriteRequest(full.subarray(0, full.length - 3)));
    expect(err.code).toBe('BAD_PROTOBUF');
    expect(err.message).toMatch(/^series 1: TimeSeries at byte \d+ declares \d+ bytes but only \d+ remain$/);
  });

  it('refuses a varint cut short inside its message, naming the sample', () => {
    // Sample of 3 bytes: timestamp tag, then two continuation bytes and nothing after.
    const body = delimited(1, bytes(label('__name__', 'up'), delimited(2, [0x10, 0x80, 0x80])));
    const err = caught(() => decodeWriteRequest(Buffer.from(body)));
    expect(err.code).toBe('BAD_PROTOBUF');
    expect(err.message).toMatch(/^series 0 samples\[0\]: varint truncated/);
  });

  it('refuses a length prefix pointing past the end of its message, naming the label', () => {
    // The second label claims 40 bytes inside a series that has 5 left.
    const body = delimited(1, bytes(label('__name__', 'up'), [0x0a, 40, 0x0a, 0x01, 0x61, 0x12, 0x00]));
    const err = caught(() => decodeWriteRequest(Buffer.from(body)));
    expect(err.code).toBe('BAD_PROTOBUF');
    expect(err.message).toMatch(/^series 0 labels\[1\]: Label at byte \d+ declares 40 bytes but only 5 remain$/);
  });

  it('refuses a known field with the wrong wire type, naming the field', () => {
    // Sample.value (double, wire type 1) sent as a varint.
    const body = delimited(1, bytes(label('__name__', 'up'), delimited(2, [0x08, 0x01])));
    const err = caught(() => decodeWriteRequest(Buffer.from(body)));
    expect(err.code).toBe('BAD_PROTOBUF');
    expect(err.message).toMatch(/^series 0 samples\[0\]: Sample\.value \(field 1\) has wire type 0/);
  });

  it('refuses a timestamp beyond ±2^53 ms', () => {
    const body = delimited(1, bytes(label('__name__', 'up'), delimited(2, [0x10, ...varint(2 ** 53)])));
    const err = caught(() => decodeWriteRequest(Buffer.from(body)));
    expect(err.code).toBe('BAD_PROTOBUF');
    expect(err.message).toMatch(/^series 0 samples\[0\]: int64 value at byte \d+ is beyond ±2\^53/);
  });

  it('refuses a label value that is not valid UTF-8, naming the series and label', () => {
    const body = bytes(
      delimited(1, bytes(label('__name__', 'up'), label('job', 'ok'), sample(1, NOW))),
      delimited(1, bytes(label('__name__', 'up'), label('job', [0x61, 0xff, 0x62]), sample(1, NOW))),
    );
    const err = caught(() => decodeWriteRequest(Buffer.from(body)));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toMatch(/^series 1 labels\[1\]: value of label "job" is not valid UTF-8: "a\uFFFDb"$/);
  });
});

describe('validation', () => {
  it('refuses labels not sorted by name', () => {
    const err = caught(() => validateWriteRequest(series([['__name__', 'up'], ['zone', 'a'], ['job', 'b']]), WINDOW));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toBe('series 0 ("up"): labels are not sorted by name: "job" follows "zone"');
  });

  it('refuses duplicate label names', () => {
    const err = caught(() => validateWriteRequest(series([['__name__', 'up'], ['job', 'a'], ['job', 'b']]), WINDOW));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toBe('series 0 ("up"): duplicate label name "job"');
  });

  it('refuses an empty label name', () => {
    const err = caught(() => validateWriteRequest(series([['', 'x'], ['__name__', 'up']]), WINDOW));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toBe('series 0 ("up"): label 0 has an empty name (value "x")');
  });

  it('refuses a series without __name__', () => {
    const err = caught(() => validateWriteRequest(series([['instance', 'h:9100'], ['job', 'node']]), WINDOW));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toBe('series 0 (no __name__): has no __name__ label');
  });

  it('refuses a label name outside the legacy charset', () => {
    const err = caught(() => validateWriteRequest(series([['__name__', 'up'], ['job-name', 'a']]), WINDOW));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toMatch(/^series 0 \("up"\): label name "job-name" does not match/);
  });

  it('refuses a sample too far in the future', () => {
    const ts = NOW + 600_001;
    const err = caught(() => validateWriteRequest(series([['__name__', 'up']], ts), WINDOW));
    expect(err.code).toBe('INVALID_SAMPLE');
    expect(err.message).toMatch(new RegExp(`^series 0 \\("up"\\): sample 0 timestamp ${ts} \\(.*\\) is newer than`));
  });

  it('refuses a sample older than the accepted age', () => {
    const err = caught(() => validateWriteRequest(series([['__name__', 'up']], NOW - 3_600_001), WINDOW));
    expect(err.code).toBe('INVALID_SAMPLE');
    expect(err.message).toMatch(/^series 0 \("up"\): sample 0 timestamp \d+ .* is older than/);
  });

  it('refuses metadata without a metric family name', () => {
    const req: WriteRequest = { timeseries: [], metadata: [{ type: 'counter', metricFamilyName: '', help: 'h', unit: '' }] };
    const err = caught(() => validateWriteRequest(req, WINDOW));
    expect(err.code).toBe('INVALID_LABELS');
    expect(err.message).toBe('metadata 0: metric_family_name is empty');
  });

  it('refuses NUL in a label value, an exemplar label or metadata, which PostgreSQL cannot store', () => {
    const v = caught(() => validateWriteRequest(series([['__name__', 'up'], ['job', 'a\0b']]), WINDOW));
    expect(v.code).toBe('INVALID_LABELS');
    expect(v.message).toMatch(/series 0 .*"job" contains NUL/);
    const ex = series([['__name__', 'up']]);
    ex.timeseries[0].exemplars = [{ labels: [{ name: 'trace_id', value: '\0' }], value: 1, timestamp: NOW }];
    expect(caught(() => validateWriteRequest(ex, WINDOW)).message).toMatch(/exemplar label contains NUL/);
    const md: WriteRequest = { timeseries: [], metadata: [{ type: 'gauge', metricFamilyName: 'up', help: 'a\0', unit: '' }] };
    expect(caught(() => validateWriteRequest(md, WINDOW)).message).toMatch(/metadata 0: contains NUL/);
  });

  it('accepts empty requests, metadata-only requests, NaN and ±Inf, and no window when bounds are 0', () => {
    const ok = (req: WriteRequest, opts = WINDOW): void => validateWriteRequest(req, opts);
    expect(() => ok({ timeseries: [], metadata: [] })).not.toThrow();
    expect(() => ok({ timeseries: [], metadata: [{ type: 'gauge', metricFamilyName: 'up', help: '', unit: '' }] })).not.toThrow();
    const special = series([['__name__', 'up']]);
    special.timeseries[0].samples = [NaN, Infinity, -Infinity].map((value) => ({ value, timestamp: NOW }));
    expect(() => ok(special)).not.toThrow();
    expect(() => ok(series([['__name__', 'up']], 0), { nowMs: NOW, maxAgeMs: 0, maxFutureMs: 0 })).not.toThrow();
  });
});
