/**
 * Backpressure: a group whose backlog passes --queue.max-backlog-samples gets 503 with
 * Retry-After (Prometheus keeps the data and resends), counted by reason; once workers drain
 * the backlog, writes are accepted again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';

let db: TestDatabase;
let ingress: TestApp;
let worker: TestApp | undefined;
let passed = false;

beforeAll(async () => {
  db = await createTestDatabase('backpressure');
  ingress = await startApp('ingress', { pgUrl: db.url, args: ['--queue.max-backlog-samples=250'] });
});
afterAll(async () => {
  await worker?.stop();
  await ingress?.stop();
  await deleteRedisPrefix(ingress.prefix);
  if (passed) await db.drop();
});

function body(request: number): Buffer {
  const ts = Date.now() - 10_000 + request;
  return Buffer.from(snappyCompress(encodeWriteRequest({
    timeseries: Array.from({ length: 100 }, (_, i) => ({
      labels: [{ name: '__name__', value: 'bp_test' }, { name: 'i', value: String(i).padStart(3, '0') }],
      samples: [{ value: request, timestamp: ts }], exemplars: [], histograms: [],
    })),
    metadata: [],
  })));
}

async function post(request: number): Promise<Response> {
  return fetch(`${ingress.url}/write`, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: new Uint8Array(body(request)) });
}

describe('backlog bound', () => {
  it('answers 503 QUEUE_FULL with Retry-After past the bound, and accepts again once drained', async () => {
    expect((await post(1)).status).toBe(204);
    expect((await post(2)).status).toBe(204);
    const full = await post(3);
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('1');
    expect(await full.text()).toMatch(/^QUEUE_FULL: .*200 samples waiting; the bound is 250/);
    const metrics = await (await fetch(`${ingress.url}/metrics`)).text();
    expect(metrics).toMatch(/promfleet_rejected_requests_total\{reason="QUEUE_FULL"\} 1/);

    worker = await startApp('worker', { pgUrl: db.url, prefix: ingress.prefix });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await waitFor('the backlog written', async () => (await client.query(`SELECT 1 FROM prom.metrics WHERE name = 'bp_test'`)).rowCount === 200, 20_000);
      // The same bytes, resent as Prometheus would, are accepted once the backlog drained.
      await waitFor('request 3 accepted', async () => (await post(3)).status === 204, 10_000, 300);
      await waitFor('request 3 written', async () => (await client.query(`SELECT 1 FROM prom.metrics WHERE name = 'bp_test'`)).rowCount === 300, 20_000);
    } finally {
      await client.end();
    }
    passed = true;
  });
});
