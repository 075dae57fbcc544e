/**
 * The receiver checks of the Prometheus remote-write 2.0 compliance suite, against a real
 * ingress (on the suite's queue backend): content negotiation (415s), corrupt bodies (400), special float
 * values, UTF-8 names, label sets without a metric name, native histograms valid and invalid,
 * exemplars and metadata with or without data, and partial writes, each with the exact
 * X-Prometheus-Remote-Write-*-Written counts. 1.0 answers carry no such header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import type { TimeSeries, WriteRequest } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { queueDepths } from '../helpers/queue-store.js';
import { pgUrl } from '../helpers/services.js';
import {
  histogramSeries, postWrite, RW1_HEADERS, RW2_HEADERS, rw2Body, sampleSeries, testHistogram, type WriteAnswer,
} from '../helpers/rw2.js';

let t: TestApp;

beforeAll(async () => {
  // The database named, so that on postgres the queue is where queueDepths and the clean-up look.
  t = await startApp('ingress', { pgUrl: pgUrl() });
});
afterAll(async () => {
  await t.stop();
  await deleteRedisPrefix(t.prefix);
});

const STALE_NAN = (() => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, 0x7ff0000000000002n);
  return dv.getFloat64(0);
})();

function req(timeseries: TimeSeries[], metadata: WriteRequest['metadata'] = []): WriteRequest {
  return { timeseries, metadata };
}

function expectWritten(a: WriteAnswer, status: number, samples: number, histograms = 0, exemplars = 0): void {
  expect(a.status, a.text).toBe(status);
  expect(a.written).toEqual({ samples, histograms, exemplars });
}

describe('remote-write 2.0 receiver compliance: requests', () => {
  it.each(['application/json', 'image/png'])('answers 415 to Content-Type %s', async (type) => {
    const a = await postWrite(t.url, rw2Body(req([sampleSeries({ __name__: 'up' }, 1)])), { ...RW2_HEADERS, 'Content-Type': type });
    expect(a.status).toBe(415);
    expect(a.text).toMatch(/^UNSUPPORTED_CONTENT_TYPE: /);
  });

  it('answers 415 to an unknown proto= message', async () => {
    const a = await postWrite(t.url, rw2Body(req([sampleSeries({ __name__: 'up' }, 1)])), { ...RW2_HEADERS, 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' });
    expect(a.status).toBe(415);
  });

  it.each(['gzip', 'deflate'])('answers 415 to Content-Encoding %s, with zero written counts', async (encoding) => {
    const a = await postWrite(t.url, rw2Body(req([sampleSeries({ __name__: 'up' }, 1)])), { ...RW2_HEADERS, 'Content-Encoding': encoding });
    expectWritten(a, 415, 0);
    expect(a.text).toMatch(/^UNSUPPORTED_CONTENT_ENCODING: /);
  });

  it('answers 400 to a corrupt body (first byte replaced), writing nothing', async () => {
    const body = rw2Body(req([sampleSeries({ __name__: 'up' }, 1)]));
    body[0] = '0'.charCodeAt(0);
    const before = await queueDepths(t.prefix);
    const a = await postWrite(t.url, body);
    expectWritten(a, 400, 0);
    expect(await queueDepths(t.prefix)).toEqual(before);
  });

  it('accepts remote-write 1.0 (with and without proto=) and answers it without written counts', async () => {
    const v1 = Buffer.from(snappyCompress(encodeWriteRequest(req([{ ...sampleSeries({ job: 'j', __name__: 'up' }, 1), labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'j' }] }]))));
    for (const type of ['application/x-protobuf', 'application/x-protobuf;proto=prometheus.WriteRequest']) {
      const a = await postWrite(t.url, v1, { ...RW1_HEADERS, 'Content-Type': type });
      expect(a.status, a.text).toBe(204);
      expect(a.written).toEqual({ samples: undefined, histograms: undefined, exemplars: undefined });
    }
  });
});

describe('remote-write 2.0 receiver compliance: samples and labels', () => {
  const values: [string, number][] = [['1.0', 1], ['StaleNaN', STALE_NAN], ['NaN', NaN], ['Inf', Infinity], ['-Inf', -Infinity]];
  const single: [string, Record<string, string>, boolean][] = [
    ['simple metric', { __name__: 'up' }, true],
    ['multiple labels', { __name__: 'up', job: 'testjob', instance: 'localhost:9090' }, true],
    ['newlines', { __name__: 'up', job: 'test\njob\n', instance: 'localhost:9090' }, true],
    ['dots (UTF-8 names)', { __name__: 'resource.cpu.usage', 'job.name': 'testjob', 'instance.name': 'localhost:9090' }, true],
    ['spaces (UTF-8 names)', { __name__: 'resource cpu usage', 'job name': 'testjob', 'instance name': 'localhost:9090' }, true],
    ['emoji value', { __name__: 'test_metric', environment: 'test🚀', job: 'test-job_with.special@chars' }, true],
    ['no __name__', { job: 'testjob', instance: 'localhost:9090' }, false],
    ['empty label set', {}, false],
  ];
  for (const [valueName, v] of values) {
    it.each(single)(`${valueName}: %s`, async (_name, labels, ok) => {
      const a = await postWrite(t.url, rw2Body(req([sampleSeries(labels, v)])));
      expectWritten(a, ok ? 204 : 400, ok ? 1 : 0);
      if (!ok) expect(a.text).toMatch(/^INVALID_LABELS: series 0 \(no __name__\): /);
    });

    it(`${valueName}: four series → 4 written; none named → 0; one unnamed → 400 reporting the 3 written`, async () => {
      const named = [9090, 9091, 9092, 9093].map((p) => sampleSeries({ __name__: 'up', job: 'testjob', instance: `localhost:${p}` }, v));
      const unnamed = [9090, 9091, 9092, 9093].map((p) => sampleSeries({ job: 'testjob', instance: `localhost:${p}` }, v));
      expectWritten(await postWrite(t.url, rw2Body(req(named))), 204, 4);
      expectWritten(await postWrite(t.url, rw2Body(req(unnamed))), 400, 0);
      const partial = await postWrite(t.url, rw2Body(req([unnamed[0], ...named.slice(1)])));
      expectWritten(partial, 400, 3);
      expect(partial.text).toMatch(/^INVALID_LABELS: series 0 \(no __name__\): has no __name__ label/);
    });
  }

  it('refuses duplicate label names in one series', async () => {
    const ts = sampleSeries({ __name__: 'up' }, 1);
    ts.labels.push({ name: '__name__', value: 'again' });
    const a = await postWrite(t.url, rw2Body(req([ts])));
    expectWritten(a, 400, 0);
    expect(a.text).toMatch(/duplicate label name "__name__"/);
  });

  it('accepts a counter with a created timestamp an hour back', async () => {
    const ts = { ...sampleSeries({ __name__: 'http_requests_total', job: 'api' }, 100), createdTimestamp: Date.now() - 3_600_000 };
    expectWritten(await postWrite(t.url, rw2Body(req([ts]))), 204, 1);
  });
});

describe('remote-write 2.0 receiver compliance: histograms, exemplars, metadata', () => {
  const cases: [string, Parameters<typeof testHistogram>[1], boolean][] = [
    ['basic (positive, negative, zero)', { positive: true, negative: true, zero: true }, true],
    ['custom buckets', { custom: true }, true],
    ['positive only', { positive: true, zero: true }, true],
    ['negative only', { negative: true }, true],
    ['zero bucket only', { zero: true }, true],
    ['no buckets at all', {}, true],
    ['bad count', { positive: true, badCount: true }, false],
  ];
  it.each(cases)('histogram %s', async (_name, shape, ok) => {
    const a = await postWrite(t.url, rw2Body(req([histogramSeries({ __name__: 'test_histogram' }, testHistogram(1, shape))])));
    expectWritten(a, ok ? 204 : 400, 0, ok ? 1 : 0);
    if (!ok) expect(a.text).toMatch(/^INVALID_HISTOGRAM: series 0 \("test_histogram"\): histogram 0: count 99 does not match the 23 observations/);
  });

  it('counts several histograms, a histogram with a created timestamp, and histograms with exemplars and metadata', async () => {
    const h1 = histogramSeries({ __name__: 'hist1', job: 'test' }, testHistogram(10.5, { positive: true, zero: true }));
    const h2 = histogramSeries({ __name__: 'hist2', job: 'test' }, testHistogram(5.2, { negative: true }));
    expectWritten(await postWrite(t.url, rw2Body(req([h1, h2]))), 204, 0, 2);
    const created = { ...histogramSeries({ __name__: 'request_duration_seconds', job: 'api' }, testHistogram(1.5, { positive: true, negative: true, zero: true })), createdTimestamp: Date.now() - 1_800_000 };
    expectWritten(await postWrite(t.url, rw2Body(req([created]))), 204, 0, 1);
    const withExemplar = histogramSeries({ __name__: 'response_size_bytes', service: 'upload' }, testHistogram(10485760, { positive: true, negative: true, zero: true }));
    withExemplar.exemplars.push({ labels: [{ name: 'trace_id', value: 'large_upload_trace' }, { name: 'user_id', value: 'user456' }], value: 10485760, timestamp: Date.now() });
    const meta = [{ type: 'histogram' as const, metricFamilyName: 'response_size_bytes', help: 'HTTP response size in bytes', unit: 'bytes' }];
    expectWritten(await postWrite(t.url, rw2Body(req([withExemplar], meta))), 204, 0, 1, 1);
  });

  it('counts samples with exemplars and metadata at scale (50 series)', async () => {
    const series: TimeSeries[] = [];
    const meta: WriteRequest['metadata'] = [];
    for (let i = 0; i < 50; i++) {
      const ts = sampleSeries({ __name__: `counter_metric_${i}`, series: `series_${i}` }, i * 100);
      ts.exemplars.push({ labels: [{ name: 'trace_id', value: `trace_${i}` }], value: i * 100, timestamp: Date.now() });
      series.push(ts);
      meta.push({ type: 'counter', metricFamilyName: `counter_metric_${i}`, help: `Counter metric number ${i}`, unit: 'count' });
    }
    expectWritten(await postWrite(t.url, rw2Body(req(series, meta))), 204, 50, 0, 50);
  });

  it('accepts metadata without data (nothing written) and exemplars without data (the exemplar written)', async () => {
    const meta = [{ type: 'counter' as const, metricFamilyName: 'orphan_metric', help: 'Orphaned metric metadata', unit: 'count' }];
    expectWritten(await postWrite(t.url, rw2Body(req([], meta))), 204, 0);
    const orphan: TimeSeries = { labels: [{ name: '__name__', value: 'orphan_metric' }], samples: [], histograms: [], exemplars: [{ labels: [{ name: 'trace_id', value: 'orphan_trace' }], value: 42, timestamp: Date.now() }] };
    expectWritten(await postWrite(t.url, rw2Body(req([orphan]))), 204, 0, 0, 1);
  });

  it('reports a mixed request (an invalid histogram among samples) with the exact counts of what it kept', async () => {
    const good = sampleSeries({ __name__: 'old_metric' }, 1, Date.now() - 3_600_000);
    good.exemplars.push({ labels: [{ name: 'trace_id', value: 'old_trace' }], value: 1, timestamp: Date.now() - 1_800_000 });
    const bad = histogramSeries({ __name__: 'minimal_hist' }, testHistogram(1, { positive: true, badCount: true }));
    const fine = histogramSeries({ __name__: 'fine_hist' }, testHistogram(1, { zero: true }));
    const a = await postWrite(t.url, rw2Body(req([good, bad, fine])));
    expectWritten(a, 400, 1, 1, 1);
    expect(a.text).toMatch(/^INVALID_HISTOGRAM: series 1 /);
  });
});
