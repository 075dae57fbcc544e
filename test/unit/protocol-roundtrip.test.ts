/**
 * encode → decode round trips of what the Prometheus fixtures do not carry: native histograms
 * (integer and float), exemplars, metadata of every type, negative and extreme timestamps, and
 * the unpacked encoding of repeated scalars that protobuf decoders must accept; and the snappy
 * block codec on inputs that exercise every element kind.
 */
import { describe, it, expect } from 'vitest';
import {
  decodeWriteRequest, encodeWriteRequest, METRIC_TYPES, snappyCompress, snappyDecompress,
} from '../../src/protocol/index.js';
import type { Histogram, WriteRequest } from '../../src/protocol/index.js';

function float64Bits(v: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  return view.getBigUint64(0, true);
}

function fromBits(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits, true);
  return view.getFloat64(0, true);
}

const intHistogram: Histogram = {
  countInt: 12,
  sum: 18.4,
  schema: 1,
  zeroThreshold: 1e-128,
  zeroCountInt: 2,
  negativeSpans: [{ offset: 0, length: 2 }, { offset: -3, length: 1 }],
  negativeDeltas: [2, -1, 0],
  negativeCounts: [],
  positiveSpans: [{ offset: 0, length: 4 }, { offset: 2, length: 1 }],
  positiveDeltas: [1, 1, -1, 0, -(2 ** 40)],
  positiveCounts: [],
  resetHint: 2,
  timestamp: 1795610192796,
};

const floatHistogram: Histogram = {
  countFloat: 7.5,
  sum: -3.25,
  schema: -4,
  zeroThreshold: 0.001,
  zeroCountFloat: 0.5,
  negativeSpans: [{ offset: 1, length: 1 }],
  negativeDeltas: [],
  negativeCounts: [1.5],
  positiveSpans: [{ offset: -2, length: 3 }],
  positiveCounts: [0.25, 4, 1.25],
  positiveDeltas: [],
  resetHint: 3,
  timestamp: 1795610192797,
};

function request(): WriteRequest {
  return {
    timeseries: [
      {
        labels: [{ name: '__name__', value: 'rpc_duration_seconds' }, { name: 'job', value: 'api' }],
        samples: [],
        exemplars: [],
        histograms: [intHistogram, floatHistogram],
      },
      {
        labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'path', value: '/ünïcödé/✓' }],
        samples: [
          { value: 1, timestamp: 1795610192796 },
          { value: -0, timestamp: -1 },
          { value: 0, timestamp: 0 },
          { value: Number.MAX_VALUE, timestamp: Number.MAX_SAFE_INTEGER },
          { value: -Infinity, timestamp: Number.MIN_SAFE_INTEGER },
        ],
        exemplars: [
          { labels: [{ name: 'trace_id', value: '4bf92f3577b34da6a3ce929d0e0e4736' }], value: 0.27, timestamp: 1795610192001 },
          { labels: [], value: 0, timestamp: 0 },
        ],
        histograms: [],
      },
    ],
    metadata: METRIC_TYPES.map((type, i) => ({
      type,
      metricFamilyName: `family_${i}`,
      help: i % 2 === 0 ? `Help for ${type}, with "quotes" and ✓.` : '',
      unit: i === 1 ? 'seconds' : '',
    })),
  };
}

describe('remote-write encode → decode', () => {
  it('round-trips integer and float native histograms, exemplars and every metadata type', () => {
    const req = request();
    expect(decodeWriteRequest(encodeWriteRequest(req))).toEqual(req);
  });

  it('keeps an integer histogram with zero counts an integer histogram', () => {
    const zero: Histogram = { ...intHistogram, countInt: 0, zeroCountInt: 0, sum: 0 };
    const req: WriteRequest = { timeseries: [{ ...request().timeseries[0], histograms: [zero] }], metadata: [] };
    const h = decodeWriteRequest(encodeWriteRequest(req)).timeseries[0].histograms[0];
    expect(h.countInt).toBe(0);
    expect(h.countFloat).toBeUndefined();
    expect(h.zeroCountInt).toBe(0);
    expect(h.zeroCountFloat).toBeUndefined();
  });

  it('preserves NaN payloads and -0 in sample, exemplar and histogram-sum values', () => {
    const payloads = [0x7ff0000000000002n, 0x7ff8000000000001n, 0xfff8000000000000n, 0x8000000000000000n];
    const req = request();
    req.timeseries[1].samples = payloads.map((bits, i) => ({ value: fromBits(bits), timestamp: 1000 + i }));
    req.timeseries[1].exemplars[0].value = fromBits(payloads[0]);
    req.timeseries[0].histograms[0] = { ...intHistogram, sum: fromBits(payloads[0]) };
    const back = decodeWriteRequest(encodeWriteRequest(req));
    expect(back.timeseries[1].samples.map((s) => float64Bits(s.value))).toEqual(payloads);
    expect(float64Bits(back.timeseries[1].exemplars[0].value)).toBe(payloads[0]);
    expect(float64Bits(back.timeseries[0].histograms[0].sum)).toBe(payloads[0]);
  });

  it('accepts unpacked repeated scalars in histograms as well as packed ones', () => {
    const packed = encodeWriteRequest({
      timeseries: [{
        labels: [{ name: '__name__', value: 'h' }],
        samples: [],
        exemplars: [],
        histograms: [{ ...intHistogram, negativeSpans: [], negativeDeltas: [], positiveSpans: [], positiveDeltas: [3, -1], resetHint: 0 }],
      }],
      metadata: [],
    });
    // Same histogram with positive_deltas (field 12, sint64) unpacked and counts (field 13,
    // double) as single entries: tag 0x60 + zig-zag varint; tag 0x69 + 8 bytes.
    const decodedPacked = decodeWriteRequest(packed).timeseries[0].histograms[0];
    const h = Buffer.from(packed);
    const at = h.indexOf(Buffer.from([0x62, 0x02, 0x06, 0x01]));
    expect(at).toBeGreaterThan(0);
    const one = Buffer.alloc(8);
    one.writeDoubleLE(2.5);
    const unpacked = Buffer.concat([h.subarray(0, at), Buffer.from([0x60, 0x06, 0x60, 0x01, 0x69]), one, h.subarray(at + 4)]);
    // Fix the two enclosing lengths (TimeSeries, Histogram), each one byte here, grown by 9.
    unpacked[1] += 9;
    const histLenAt = unpacked.indexOf(0x22, 2) + 1;
    unpacked[histLenAt] += 9;
    const decoded = decodeWriteRequest(unpacked).timeseries[0].histograms[0];
    expect(decoded).toEqual({ ...decodedPacked, positiveCounts: [2.5] });
  });

  it('skips unknown fields at every level', () => {
    const base = encodeWriteRequest({
      timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: 5 }], exemplars: [], histograms: [] }],
      metadata: [],
    });
    // Reserved field 2 (Cortex's source) and an unknown fixed32 field 9 at the top level.
    const extra = Buffer.concat([Buffer.from([0x10, 0x01, 0x4d, 1, 2, 3, 4]), Buffer.from(base)]);
    expect(decodeWriteRequest(extra)).toEqual(decodeWriteRequest(base));
  });
});

describe('snappy block codec', () => {
  it('round-trips empty, tiny, incompressible and repetitive inputs', () => {
    // A deterministic pseudo-random stream makes literals longer than 2^16 (3-byte lengths).
    let x = 0x2545f491;
    const noise = Buffer.alloc(200_000);
    for (let i = 0; i < noise.length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      noise[i] = x & 0xff;
    }
    const text = Buffer.from('cluster="demo",__replica__="replica-a",job="node"\n'.repeat(5000));
    const mixed = Buffer.concat([noise.subarray(0, 70_000), text, noise.subarray(0, 70_000)]);
    for (const input of [Buffer.alloc(0), Buffer.from('a'), noise, text, mixed]) {
      const compressed = snappyCompress(input);
      const back = snappyDecompress(compressed, input.length);
      expect(Buffer.from(back).equals(input)).toBe(true);
    }
  });
});
