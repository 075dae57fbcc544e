/**
 * Native histograms and exemplars written by remote-write 2.0 come back through remote_read as
 * SAMPLES results exactly as they were sent (integer, float, custom buckets, the stale marker's
 * bits), next to float samples; series with histograms only are results too. Streamed XOR
 * chunks carry float samples only, so a client accepting both gets SAMPLES when its queries
 * select histograms.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  decodeReadResponse, encodeReadRequest, readChunkedFrames, snappyCompress, snappyDecompress, type Histogram, type Query, type WriteRequest,
} from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp } from '../helpers/app.js';
import { toBits } from '../helpers/float-bits.js';
import { waitFor } from '../helpers/ports.js';
import { postWrite, rw2Body, testHistogram } from '../helpers/rw2.js';
import { createTestDatabase } from '../helpers/services.js';

const T0 = Date.UTC(2026, 1, 3, 4, 5, 6, 7);
const STALE_NAN = (() => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, 0x7ff0000000000002n);
  return dv.getFloat64(0);
})();

const floatHist: Histogram = {
  countFloat: 10.5, sum: -3.25, schema: -2, zeroThreshold: 0.001, zeroCountFloat: 0.5, negativeSpans: [{ offset: -1, length: 1 }],
  negativeDeltas: [], negativeCounts: [2], positiveSpans: [{ offset: 1, length: 2 }], positiveDeltas: [], positiveCounts: [3, 5], resetHint: 3, timestamp: T0 + 1000,
};
const histograms = [testHistogram(2, { positive: true, negative: true, zero: true }, T0), floatHist, { ...testHistogram(0, {}, T0 + 2000), sum: STALE_NAN }];
const custom = testHistogram(0.5, { custom: true }, T0);

const request: WriteRequest = {
  timeseries: [
    {
      labels: [{ name: '__name__', value: 'lat' }, { name: '__replica__', value: 'r' }, { name: 'cluster', value: 'c' }],
      samples: [], exemplars: [{ labels: [{ name: 'trace_id', value: 't1' }], value: 0.3, timestamp: T0 }], histograms,
    },
    {
      labels: [{ name: '__name__', value: 'lat_custom' }, { name: '__replica__', value: 'r' }, { name: 'cluster', value: 'c' }],
      samples: [], exemplars: [], histograms: [custom],
    },
    {
      labels: [{ name: '__name__', value: 'up' }, { name: '__replica__', value: 'r' }, { name: 'cluster', value: 'c' }],
      samples: [{ value: 1, timestamp: T0 }], exemplars: [], histograms: [],
    },
  ],
  metadata: [],
};

const query: Query = { startTimestampMs: T0 - 1000, endTimestampMs: T0 + 5000, matchers: [{ type: 'RE', name: '__name__', value: 'lat.*|up' }] };

function histogramBits(h: Histogram): unknown {
  return { ...h, sum: toBits(h.sum) };
}

describe('remote_read of native histograms and exemplars', () => {
  it('SAMPLES results carry them as written; streamed chunks carry the float samples', async () => {
    const db = await createTestDatabase('read_nh');
    const t = await startApp('all', { pgUrl: db.url });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    let passed = false;
    try {
      const w = await postWrite(t.url, rw2Body(request));
      expect(w.status, w.text).toBe(204);
      await waitFor('written', async () => Number((await c.query('SELECT count(*) AS n FROM prom.histograms')).rows[0].n) === 4, 30_000, 200);

      const read = async (accept: number[], matchers = query.matchers): Promise<Response> => {
        const body = encodeReadRequest({ queries: [{ ...query, matchers }], acceptedResponseTypes: accept.map((n) => (n === 0 ? 'SAMPLES' : 'STREAMED_XOR_CHUNKS')) });
        return fetch(`${t.url}/read`, {
          method: 'POST', body: Buffer.from(snappyCompress(body)),
          headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Read-Version': '0.1.0' },
        });
      };
      const res = await read([0]);
      expect(res.status).toBe(200);
      const [result] = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 1 << 24));
      expect(result.timeseries.map((ts) => ts.labels.map((l) => `${l.name}=${l.value}`).join(','))).toEqual([
        '__name__=lat,cluster=c', '__name__=lat_custom,cluster=c', '__name__=up,cluster=c',
      ]);
      const [lat, latCustom, up] = result.timeseries;
      expect(lat.histograms.map(histogramBits)).toEqual(histograms.map(histogramBits));
      expect(toBits(lat.histograms[2].sum)).toBe(toBits(STALE_NAN));
      expect(lat.exemplars).toEqual(request.timeseries[0].exemplars);
      expect(latCustom.histograms).toEqual([custom]);
      expect(up.samples).toEqual([{ value: 1, timestamp: T0 }]);
      expect(up.histograms).toEqual([]);

      const streamed = await read([1]);
      expect(streamed.status).toBe(200);
      const frames = readChunkedFrames(new Uint8Array(await streamed.arrayBuffer()));
      expect(frames.flatMap((f) => f.series.map((s) => s.labels.find((l) => l.name === '__name__')?.value))).toEqual(['up']);

      // A client that accepts both (Prometheus 3) gets SAMPLES when histograms are selected, chunks otherwise.
      const both = await read([1, 0]);
      expect(both.headers.get('content-type')).toBe('application/x-protobuf');
      const [bothResult] = decodeReadResponse(snappyDecompress(new Uint8Array(await both.arrayBuffer()), 1 << 24));
      expect(bothResult.timeseries[0].histograms).toHaveLength(3);
      const floatsOnly = await read([1, 0], [{ type: 'EQ', name: '__name__', value: 'up' }]);
      expect(floatsOnly.headers.get('content-type')).toMatch(/^application\/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse/);
      expect(readChunkedFrames(new Uint8Array(await floatsOnly.arrayBuffer()))).toHaveLength(1);
      passed = true;
    } finally {
      await c.end();
      await t.stop();
      await deleteRedisPrefix(t.prefix);
      if (passed) await db.drop();
    }
  }, 60_000);
});
