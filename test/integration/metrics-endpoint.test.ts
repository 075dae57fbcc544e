/**
 * GET /metrics of a running promfleet process: the Node.js runtime metrics under prom-client's
 * standard names (so stock dashboards work), the remote-read counters moving with a read, and
 * the PostgreSQL pool gauges with sane values, readiness as a gauge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeReadResponse, encodeReadRequest, encodeWriteRequest, snappyCompress, snappyDecompress, type TimeSeries,
} from '../../src/protocol/index.js';
import { createTestDatabase, uniqueName, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { waitFor } from '../helpers/ports.js';
import { queueFlags } from '../helpers/queue-store.js';

const prefix = uniqueName('pfmet');
let db: TestDatabase;
let proc: PromfleetProcess;
let passed = 0;

const NOW = Date.now() - 60_000;
const SERIES: TimeSeries[] = [0, 1, 2].map((i) => ({
  labels: [{ name: '__name__', value: 'pf_metrics_probe' }, { name: 'i', value: String(i) }, { name: 'job', value: 'metrics-test' }],
  samples: [0, 1, 2, 3].map((k) => ({ timestamp: NOW + k * 15_000, value: i * 10 + k })),
  exemplars: [], histograms: [],
}));

async function scrape(): Promise<string> {
  const res = await fetch(`${proc.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line (`name` or `name{labels}` exactly), or undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  db = await createTestDatabase('metrics');
  proc = await startPromfleet('all', [`--pg.url=${db.url}`, ...queueFlags(), `--queue.prefix=${prefix}`, '--worker.queue-poll-interval=200ms']);
  await waitFor('ready', async () => (await fetch(`${proc.url}/readyz`)).ok, 60_000, 100);
  const body = snappyCompress(encodeWriteRequest({ timeseries: SERIES, metadata: [] }));
  const res = await fetch(`${proc.url}/write`, {
    method: 'POST', body: Buffer.from(body),
    headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
  });
  expect(res.status).toBe(204);
  await waitFor('samples written', async () => (value(await scrape(), 'promfleet_written_samples_total{queue="{default}"}') ?? 0) >= 12, 60_000, 200);
}, 120_000);
afterAll(async () => {
  await proc?.stop();
  await deleteRedisPrefix(prefix);
  if (passed === 4) await db.drop();
});

describe('GET /metrics', () => {
  it('exports the process and Node.js metrics under their standard names', async () => {
    const text = await scrape();
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).not.toContain('promfleet_process_');
    passed++;
  });

  it('reports readiness as promfleet_ready, as GET /readyz does', async () => {
    expect((await fetch(`${proc.url}/readyz`)).status).toBe(200);
    expect(value(await scrape(), 'promfleet_ready')).toBe(1);
    passed++;
  });

  it('counts a remote-read request, its series and samples, and times it', async () => {
    const before = await scrape();
    const read = async (accepted: ('SAMPLES' | 'STREAMED_XOR_CHUNKS')[]): Promise<Response> => fetch(`${proc.url}/api/v1/read`, {
      method: 'POST',
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Read-Version': '0.1.0' },
      body: Buffer.from(snappyCompress(encodeReadRequest({
        // Two of the three series, and three of the four samples of each.
        queries: [{ startTimestampMs: NOW + 15_000, endTimestampMs: NOW + 60_000, matchers: [{ type: 'EQ', name: '__name__', value: 'pf_metrics_probe' }, { type: 'RE', name: 'i', value: '0|2' }] }],
        acceptedResponseTypes: accepted,
      }))),
    });
    const res = await read(['SAMPLES']);
    expect(res.status).toBe(200);
    const [result] = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 1 << 20));
    expect(result.timeseries.map((ts) => ts.samples.length)).toEqual([3, 3]);
    const streamed = await read(['STREAMED_XOR_CHUNKS']);
    expect(streamed.status).toBe(200);
    await streamed.arrayBuffer();
    const refused = await fetch(`${proc.url}/api/v1/read`, { method: 'POST', headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/x-protobuf' }, body: 'x' });
    expect(refused.status).toBe(415);
    await refused.arrayBuffer();

    const after = await scrape();
    const moved = (series: string): number => (value(after, series) ?? 0) - (value(before, series) ?? 0);
    expect(moved('promfleet_read_requests_total{outcome="success"}')).toBe(2);
    expect(moved('promfleet_read_requests_total{outcome="refused"}')).toBe(1);
    expect(moved('promfleet_read_series_total')).toBe(4);
    expect(moved('promfleet_read_samples_total')).toBe(12);
    expect(moved('promfleet_read_request_seconds_count')).toBe(3);
    passed++;
  });

  it('shows each PostgreSQL pool\'s connections in use, idle and waiting', async () => {
    const text = await scrape();
    for (const pool of ['read', 'worker']) {
      const inUse = value(text, `promfleet_pg_pool_connections_in_use{pool="${pool}"}`);
      const idle = value(text, `promfleet_pg_pool_connections_idle{pool="${pool}"}`);
      const waiting = value(text, `promfleet_pg_pool_waiting_clients{pool="${pool}"}`);
      expect([inUse, idle, waiting], pool).not.toContain(undefined);
      for (const v of [inUse, idle, waiting]) expect(Number.isInteger(v) && (v ?? -1) >= 0, `${pool}: ${String(v)}`).toBe(true);
      // Both pools have been used (a write, reads) and hold at most --pg.max-open-conns (4).
      expect((inUse ?? 0) + (idle ?? 0), pool).toBeGreaterThan(0);
      expect((inUse ?? 0) + (idle ?? 0), pool).toBeLessThanOrEqual(4);
      expect(waiting, pool).toBe(0);
    }
    passed++;
  });
});
