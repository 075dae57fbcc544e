/**
 * Remote-read codec: ReadRequest round trips (packed and unpacked response types), one-line
 * BAD_PROTOBUF reasons, SAMPLES responses keeping stale-marker bits, and streamed frames.
 */
import { describe, it, expect } from 'vitest';
import protobuf from 'protobufjs/minimal.js';
import fc from 'fast-check';
import {
  crc32c, decodeChunkedReadResponse, decodeReadRequest, decodeReadResponse, decodeXorChunk, encodeChunkedFrame,
  encodeChunkedReadResponse, encodeReadRequest, encodeReadResponse, readChunkedFrames, xorChunkedSeries,
} from '../../src/protocol/index.js';
import { seriesFrames } from '../../src/read/series-frames.js';
import type { Chunk, ChunkedReadResponse, ReadRequest } from '../../src/protocol/index.js';
import { PromfleetError } from '../../src/errors.js';

const STALE_NAN = 0x7ff0000000000002n;
function fromBits(b: bigint): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, b);
  return v.getFloat64(0);
}
function bits(v: number): bigint {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v);
  return d.getBigUint64(0);
}

function badProtobuf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PromfleetError);
    const e = err as PromfleetError;
    expect(e.code).toBe('BAD_PROTOBUF');
    expect(e.message).not.toContain('\n');
    return e.message;
  }
  throw new Error('expected BAD_PROTOBUF');
}

const request: ReadRequest = {
  queries: [
    {
      startTimestampMs: 1_795_609_892_796,
      endTimestampMs: 1_795_610_192_796,
      matchers: [
        { type: 'EQ', name: '__name__', value: 'up' },
        { type: 'NEQ', name: 'mode', value: 'idle' },
        { type: 'RE', name: 'job', value: 'a|b.*' },
        { type: 'NRE', name: 'path', value: '"%_\\\\' },
        { type: 'EQ', name: 'empty', value: '' },
      ],
      hints: { stepMs: 15_000, func: 'rate', startMs: 1, endMs: 2, grouping: ['instance', 'job'], by: true, rangeMs: 60_000 },
    },
    { startTimestampMs: -5, endTimestampMs: 0, matchers: [] },
  ],
  acceptedResponseTypes: ['STREAMED_XOR_CHUNKS', 'SAMPLES'],
};

describe('ReadRequest', () => {
  it('round-trips, hints and negative times included', () => {
    expect(decodeReadRequest(encodeReadRequest(request))).toEqual(request);
  });

  it('accepts unpacked accepted_response_types and drops unknown ones', () => {
    const w = protobuf.Writer.create();
    w.uint32(0x10).int32(1).uint32(0x10).int32(7).uint32(0x10).int32(0);
    expect(decodeReadRequest(w.finish()).acceptedResponseTypes).toEqual(['STREAMED_XOR_CHUNKS', 'SAMPLES']);
  });

  it('skips unknown fields', () => {
    const w = protobuf.Writer.create();
    w.uint32(0x9a).string('future');
    const body = Buffer.concat([encodeReadRequest(request), w.finish()]);
    expect(decodeReadRequest(body)).toEqual(request);
  });

  it('refuses malformed bodies with a one-line reason naming the place', () => {
    const good = encodeReadRequest({ ...request, acceptedResponseTypes: [] });
    expect(badProtobuf(() => decodeReadRequest(good.subarray(0, good.length - 3)))).toMatch(/^query 1/);
    const badType = protobuf.Writer.create();
    badType.uint32(0x0a).fork().uint32(0x1a).fork().uint32(0x08).int32(4).uint32(0x12).string('x').ldelim().ldelim();
    expect(badProtobuf(() => decodeReadRequest(badType.finish()))).toMatch(/^query 0 matchers\[0\]: matcher type 4/);
    const badUtf8 = protobuf.Writer.create();
    badUtf8.uint32(0x0a).fork().uint32(0x1a).fork().uint32(0x12).bytes(new Uint8Array([0xc3, 0x28])).ldelim().ldelim();
    expect(badProtobuf(() => decodeReadRequest(badUtf8.finish()))).toMatch(/not valid UTF-8/);
    const wrongWire = protobuf.Writer.create();
    wrongWire.uint32(0x0a).fork().uint32(0x0a).string('x').ldelim();
    expect(badProtobuf(() => decodeReadRequest(wrongWire.finish()))).toMatch(/start_timestamp_ms/);
  });
});

describe('SAMPLES ReadResponse', () => {
  it('round-trips series in order with stale-marker bits intact', () => {
    const stale = fromBits(STALE_NAN);
    const results = [
      { timeseries: [] },
      {
        timeseries: [{
          labels: [{ name: '__name__', value: 'up' }, { name: 'cluster', value: 'demo' }],
          samples: [{ timestamp: 1000, value: 1 }, { timestamp: 16_000, value: stale }, { timestamp: 31_000, value: -0 }],
          exemplars: [],
          histograms: [],
        }],
      },
    ];
    const back = decodeReadResponse(encodeReadResponse(results));
    expect(back).toHaveLength(2);
    expect(back[0].timeseries).toEqual([]);
    expect(back[1].timeseries[0].labels).toEqual(results[1].timeseries[0].labels);
    expect(back[1].timeseries[0].samples.map((s) => bits(s.value))).toEqual([bits(1), STALE_NAN, bits(-0)]);
    expect(back[1].timeseries[0].samples.map((s) => s.timestamp)).toEqual([1000, 16_000, 31_000]);
  });
});

describe('STREAMED_XOR_CHUNKS frames', () => {
  const stale = fromBits(STALE_NAN);
  const ts = Array.from({ length: 250 }, (_, i) => 1_795_609_892_000 + i * 15_000 + (i % 7));
  const vs = ts.map((_, i) => (i === 100 ? stale : i * 0.5));
  const msgs: ChunkedReadResponse[] = [
    { series: [xorChunkedSeries([{ name: '__name__', value: 'up' }, { name: 'job', value: 'x' }], ts, vs)], queryIndex: 0 },
    { series: [xorChunkedSeries([{ name: '__name__', value: 'b' }], [5], [1]), xorChunkedSeries([{ name: '__name__', value: 'c' }], [], [])], queryIndex: 3 },
  ];

  it('round-trips frames and the samples in their chunks', () => {
    const body = Buffer.concat(msgs.map((m) => encodeChunkedFrame(m)));
    const back = readChunkedFrames(body);
    expect(back).toEqual(msgs.map((m) => ({ ...m, series: m.series.map((s) => ({ ...s, chunks: s.chunks.map((c) => ({ ...c, data: expect.any(Uint8Array) as unknown })) })) })));
    const chunks = back[0].series[0].chunks;
    expect(chunks.map((c) => c.type)).toEqual(['XOR', 'XOR', 'XOR']);
    expect(chunks.map((c) => [c.minTimeMs, c.maxTimeMs])).toEqual([[ts[0], ts[119]], [ts[120], ts[239]], [ts[240], ts[249]]]);
    const decoded = chunks.map((c) => decodeXorChunk(c.data));
    expect(decoded.flatMap((d) => d.timestamps)).toEqual(ts);
    expect(decoded.flatMap((d) => Array.from(d.values, bits))).toEqual(vs.map(bits));
  });

  it('lays a frame out as uvarint size, big-endian CRC-32C, message', () => {
    const f = encodeChunkedFrame(msgs[1]);
    const size = f[0];
    expect(f.length).toBe(1 + 4 + size);
    const message = f.subarray(5);
    const crc = crc32c(message);
    expect(Array.from(f.subarray(1, 5))).toEqual([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
    expect(decodeChunkedReadResponse(message).queryIndex).toBe(3);
    const big = encodeChunkedFrame(msgs[0]);
    expect(big[0] & 0x80).toBe(0x80);
  });

  it('refuses corrupt, truncated and oversized frames', () => {
    const f = Buffer.from(encodeChunkedFrame(msgs[1]));
    const flipped = Buffer.from(f);
    flipped[flipped.length - 1] ^= 1;
    expect(badProtobuf(() => readChunkedFrames(flipped))).toMatch(/CRC-32C/);
    expect(badProtobuf(() => readChunkedFrames(f.subarray(0, f.length - 1)))).toMatch(/truncated/);
    expect(badProtobuf(() => readChunkedFrames(f, 4))).toMatch(/exceeds/);
  });
});

describe('seriesFrames (Prometheus StreamChunkedReadResponses packing)', () => {
  const ts = Array.from({ length: 1200 }, (_, i) => 1_795_608_000_000 + i * 15_000);
  const series = xorChunkedSeries([{ name: '__name__', value: 'up' }], ts, ts.map((_, i) => Math.sin(i)));

  it('writes one frame per series when it fits, none for a series without chunks', () => {
    const frames = seriesFrames(series, 2);
    expect(frames).toHaveLength(1);
    expect(Array.from(frames[0])).toEqual(Array.from(encodeChunkedFrame({ series: [series], queryIndex: 2 })));
    expect(seriesFrames({ labels: series.labels, chunks: [] }, 0)).toEqual([]);
  });

  it('splits a series over frames once the budget is spent, overshooting by at most one chunk', () => {
    // Equal values and steps: every chunk has the same size, so a budget of 2.5 chunks holds 3.
    const flat = xorChunkedSeries(series.labels, ts, ts.map(() => 1));
    const m0 = encodeChunkedReadResponse({ series: [{ labels: flat.labels, chunks: [] }], queryIndex: 0 }).length;
    const m1 = encodeChunkedReadResponse({ series: [{ labels: flat.labels, chunks: [flat.chunks[0]] }], queryIndex: 0 }).length;
    const frames = seriesFrames(flat, 0, m0 + Math.floor(2.5 * (m1 - m0)));
    const back = frames.map((f) => readChunkedFrames(f)[0]);
    expect(back.every((m) => m.series.length === 1 && m.series[0].labels[0].value === 'up')).toBe(true);
    expect(back.map((m) => m.series[0].chunks.length)).toEqual([3, 3, 3, 1]);
    expect(back.flatMap((m) => m.series[0].chunks.flatMap((c) => decodeXorChunk(c.data).timestamps))).toEqual(ts);
  });

  it('writes each frame byte for byte as encodeChunkedFrame does, for any labels, chunks, budget and query index', () => {
    const label = fc.record({ name: fc.string({ maxLength: 12 }), value: fc.string({ maxLength: 300 }) });
    const chunk = fc.record({
      minTimeMs: fc.oneof(fc.constant(0), fc.integer({ min: -(2 ** 40), max: 2 ** 45 }), fc.constant(-(2 ** 53) + 1)),
      maxTimeMs: fc.oneof(fc.constant(0), fc.integer({ min: -(2 ** 40), max: 2 ** 45 }), fc.constant(2 ** 53 - 1)),
      type: fc.constantFrom('UNKNOWN' as const, 'XOR' as const, 'HISTOGRAM' as const, 'FLOAT_HISTOGRAM' as const),
      data: fc.uint8Array({ maxLength: 400 }),
    });
    fc.assert(fc.property(
      fc.array(label, { maxLength: 6 }), fc.array(chunk, { maxLength: 30 }), fc.integer({ min: 0, max: 3000 }), fc.nat(300),
      (labels, chunks, budget, queryIndex) => {
        const frames = seriesFrames({ labels, chunks }, queryIndex, budget);
        const back = frames.map((f) => readChunkedFrames(f));
        for (let i = 0; i < frames.length; i++) {
          expect(back[i]).toHaveLength(1);
          expect(Buffer.from(frames[i]).equals(Buffer.from(encodeChunkedFrame(back[i][0])))).toBe(true);
          expect(back[i][0].series[0].labels).toEqual(labels);
          expect(back[i][0].queryIndex).toBe(queryIndex);
        }
        const plain = (c: Chunk): unknown => ({ ...c, data: Array.from(c.data) });
        expect(back.flatMap((m) => m[0].series[0].chunks).map(plain)).toEqual(chunks.map(plain));
      }), { numRuns: 300 });
  });
});

