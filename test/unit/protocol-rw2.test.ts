/**
 * Remote-write 2.0 codec: encode → decode round trips, the same data through 1.0 and 2.0
 * decoding alike, bodies built by hand as other senders build them (labels unsorted, symbols
 * after the series, unpacked references, start timestamps on samples and histograms, unknown
 * fields), the refusals (symbols[0] not empty, references outside the table), and the native
 * histogram consistency checks.
 */
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import {
  decodeWriteRequest, decodeWriteRequestV2, encodeWriteRequest, encodeWriteRequestV2, histogramProblem,
} from '../../src/protocol/index.js';
import type { Histogram, WriteRequest } from '../../src/protocol/index.js';
import { PromfleetError } from '../../src/errors.js';

function hist(over: Partial<Histogram>): Histogram {
  return {
    countInt: 0, countFloat: undefined, sum: 0, schema: 0, zeroThreshold: 0, zeroCountInt: undefined, zeroCountFloat: undefined,
    negativeSpans: [], negativeDeltas: [], negativeCounts: [], positiveSpans: [], positiveDeltas: [], positiveCounts: [],
    resetHint: 0, timestamp: 1_700_000_000_000, ...over,
  };
}

/** The shape of the compliance suite's test histogram: 23 positive, 3 negative, 1 zero observation. */
const full = hist({
  countInt: 27, sum: 1.5, schema: 3, zeroThreshold: 1e-128, zeroCountInt: 1,
  positiveSpans: [{ offset: 0, length: 3 }, { offset: 2, length: 2 }], positiveDeltas: [1, 2, 1, 3, 1],
  negativeSpans: [{ offset: 0, length: 2 }], negativeDeltas: [1, 1],
});
const custom = hist({ countInt: 30, sum: 0.05, schema: -53, customValues: [0.1, 0.5, 1, 2.5, 5, 10], positiveSpans: [{ offset: 0, length: 6 }], positiveDeltas: [2, 1, 2, 3, -1, -2] });
const float = hist({ countInt: undefined, countFloat: 7.5, sum: 3, zeroCountFloat: 0.5, positiveSpans: [{ offset: -2, length: 2 }], positiveCounts: [3, 4] });

const request: WriteRequest = {
  timeseries: [
    {
      labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'api' }, { name: 'method', value: 'POST' }],
      samples: [{ value: 1, timestamp: 1_700_000_000_000 }, { value: NaN, timestamp: 1_700_000_015_000 }],
      exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 1_699_999_999_000 }],
      histograms: [],
      createdTimestamp: 1_699_000_000_000,
    },
    {
      labels: [{ name: '__name__', value: 'latency_seconds' }, { name: 'job', value: 'api' }],
      samples: [], exemplars: [], histograms: [full, custom, float],
    },
  ],
  metadata: [
    { type: 'counter', metricFamilyName: 'http_requests_total', help: 'Requests.', unit: 'requests' },
    { type: 'histogram', metricFamilyName: 'latency_seconds', help: 'Latency.', unit: 'seconds' },
    { type: 'gauge', metricFamilyName: 'orphan', help: 'No series.', unit: '' },
  ],
};

function expectCode(fn: () => unknown, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PromfleetError);
  expect((caught as PromfleetError).code).toBe(code);
  expect((caught as PromfleetError).message).toMatch(message);
}

describe('remote-write 2.0 codec', () => {
  it('round-trips series, histograms (integer, float, custom buckets), exemplars, metadata and created timestamps', () => {
    const back = decodeWriteRequestV2(encodeWriteRequestV2(request));
    // The family without a series travels on a metadata-only series of its name.
    expect(back.timeseries.slice(0, 2)).toEqual(request.timeseries);
    expect(back.timeseries[2]).toEqual({ labels: [{ name: '__name__', value: 'orphan' }], samples: [], exemplars: [], histograms: [] });
    expect(back.metadata).toEqual(request.metadata);
    expect(Object.is(back.timeseries[0].samples[1].value, NaN)).toBe(true);
  });

  it('decodes to what remote-write 1.0 decodes the same data to (but created timestamps)', () => {
    const v1 = decodeWriteRequest(encodeWriteRequest(request));
    const v2 = decodeWriteRequestV2(encodeWriteRequestV2(request));
    const { createdTimestamp: _dropped, ...first } = v2.timeseries[0];
    expect([first, ...v2.timeseries.slice(1, 2)]).toEqual(v1.timeseries);
  });

  it('reads bodies as other senders write them: symbols last, labels unsorted, refs unpacked, start timestamps, unknown fields', () => {
    const w = protobuf.Writer.create();
    // TimeSeries before the symbols it references.
    w.uint32(0x2a).fork();
    for (const ref of [3, 4, 1, 2]) w.uint32(0x08).uint32(ref); // job=api, __name__=up (unsorted, unpacked)
    w.uint32(0x12).fork().uint32(0x09).double(5).uint32(0x10).int64(1000).uint32(0x18).int64(400).ldelim();
    w.uint32(0x3a).string('a field from the future');
    w.ldelim();
    w.uint32(0x2a).fork();
    w.uint32(0x0a).fork().uint32(1).uint32(5).ldelim();
    w.uint32(0x1a).fork().uint32(0x08).uint64(0).uint32(0x78).int64(2000).uint32(0x88).int64(300).ldelim();
    w.ldelim();
    for (const s of ['', '__name__', 'up', 'job', 'api', 'h']) w.uint32(0x22).string(s);
    w.uint32(0x32).string('unknown top-level field');
    const got = decodeWriteRequestV2(w.finish());
    expect(got.timeseries[0].labels).toEqual([{ name: '__name__', value: 'up' }, { name: 'job', value: 'api' }]);
    expect(got.timeseries[0].samples).toEqual([{ value: 5, timestamp: 1000 }]);
    expect(got.timeseries[0].createdTimestamp).toBe(400);
    expect(got.timeseries[1].histograms[0].timestamp).toBe(2000);
    expect(got.timeseries[1].createdTimestamp).toBe(300);
  });

  it('refuses symbols[0] other than "", references outside the table and odd reference lists', () => {
    const bad = protobuf.Writer.create();
    bad.uint32(0x22).string('x');
    expectCode(() => decodeWriteRequestV2(bad.finish()), 'BAD_PROTOBUF', /symbols\[0\] must be the empty string/);
    const out = protobuf.Writer.create();
    out.uint32(0x22).string('').uint32(0x22).string('__name__');
    out.uint32(0x2a).fork().uint32(0x0a).fork().uint32(1).uint32(7).ldelim().ldelim();
    expectCode(() => decodeWriteRequestV2(out.finish()), 'BAD_PROTOBUF', /^series 0 labels_refs\[0\]: .*symbol 7 but the request has 2 symbols/);
    const odd = protobuf.Writer.create();
    odd.uint32(0x22).string('').uint32(0x22).string('__name__');
    odd.uint32(0x2a).fork().uint32(0x0a).fork().uint32(1).ldelim().ldelim();
    expectCode(() => decodeWriteRequestV2(odd.finish()), 'BAD_PROTOBUF', /odd number \(1\) of references/);
  });
});

describe('native histogram checks', () => {
  it('accepts consistent integer, float, custom-bucket, empty and stale histograms', () => {
    expect(histogramProblem(full)).toBeUndefined();
    expect(histogramProblem(custom)).toBeUndefined();
    expect(histogramProblem(float)).toBeUndefined();
    expect(histogramProblem(hist({}))).toBeUndefined();
    expect(histogramProblem(hist({ sum: NaN, countInt: 0 }))).toBeUndefined();
    // A NaN observation counts but lands in no bucket.
    expect(histogramProblem(hist({ ...full, countInt: 28, sum: NaN }))).toBeUndefined();
  });

  it('refuses a count that disagrees with the buckets, negative buckets, spans that miss buckets, unknown schemas', () => {
    expect(histogramProblem(hist({ ...full, countInt: 99 }))).toBe('count 99 does not match the 27 observations in its buckets');
    expect(histogramProblem(hist({ ...full, countInt: 28 }))).toMatch(/count 28 does not match/);
    expect(histogramProblem(hist({ ...full, positiveDeltas: [1, -2, 1, 3, 1] }))).toBe('positive bucket 1 has a negative count -1');
    expect(histogramProblem(hist({ ...full, positiveSpans: [{ offset: 0, length: 3 }] }))).toBe('positive spans cover 3 buckets but 5 bucket counts were sent');
    expect(histogramProblem(hist({ ...full, schema: 9 }))).toMatch(/^schema 9 is neither -53/);
    expect(histogramProblem(hist({ ...float, countFloat: 7 }))).toMatch(/count 7 is smaller than the 7.5 observations/);
    expect(histogramProblem(hist({ ...custom, customValues: [0.1, 0.5, 0.4, 2.5, 5, 10] }))).toMatch(/not strictly increasing at 2/);
    expect(histogramProblem(hist({ ...custom, positiveSpans: [{ offset: 2, length: 6 }] }))).toMatch(/reach bucket 7 but only 7 buckets/);
    expect(histogramProblem(hist({ ...float, positiveDeltas: [1] }))).toBe('mixes integer and float counts');
  });
});
