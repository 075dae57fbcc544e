/**
 * remote_read end to end: the captured Prometheus 2.42 read requests are answered with exactly
 * the stored samples their matchers select (the replica matcher ignored, the cluster one
 * honoured), as SAMPLES and as STREAMED_XOR_CHUNKS; a --read-only process serves reads and
 * refuses writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  decodeReadRequest, decodeReadResponse, decodeWriteRequest, decodeXorChunk, encodeReadRequest, readChunkedFrames,
  snappyCompress, snappyDecompress, type Label, type Query,
} from '../../src/protocol/index.js';
import { matchesAll } from '../../src/read/matchers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { capturedRequests } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/ports.js';
import { toBits } from '../helpers/float-bits.js';

let db: TestDatabase;
let t: TestApp;
let readOnly: TestApp;
let passed = 0;
const stored: { labels: Label[]; samples: string[] }[] = [];

function key(labels: readonly Label[]): string {
  return labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

beforeAll(async () => {
  db = await createTestDatabase('read');
  t = await startApp('all', { pgUrl: db.url });
  const bySeries = new Map<string, { labels: Label[]; samples: string[] }>();
  let total = 0;
  for (const r of capturedRequests('write').filter((x) => x.replica === 'replica-a')) {
    const res = await fetch(`${t.url}${r.url}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
    expect(res.status).toBe(204);
    for (const ts of decodeWriteRequest(snappyDecompress(r.body, 64 << 20)).timeseries) {
      const labels = ts.labels.filter((l) => l.name !== '__replica__');
      const k = key(labels);
      const s = bySeries.get(k) ?? { labels, samples: [] };
      for (const x of ts.samples) s.samples.push(`${x.timestamp}:${toBits(x.value)}`);
      bySeries.set(k, s);
      total += ts.samples.length;
    }
  }
  stored.push(...bySeries.values());
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await waitFor('fixtures written', async () => Number((await client.query('SELECT count(*) AS n FROM prom.samples')).rows[0].n) >= total, 60_000, 250);
  } finally {
    await client.end();
  }
  readOnly = await startApp('ingress', { pgUrl: db.url, args: ['--read-only'] });
}, 120_000);
afterAll(async () => {
  await readOnly?.stop();
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  await deleteRedisPrefix(readOnly.prefix);
  if (passed === 3) await db.drop();
});

function expected(q: Query): Map<string, string[]> {
  const ms = q.matchers.filter((m) => m.name !== '__replica__');
  const out = new Map<string, string[]>();
  for (const s of stored) {
    if (!matchesAll(s.labels, ms)) continue;
    const inRange = s.samples.filter((x) => {
      const ts = Number(x.split(':')[0]);
      return ts >= q.startTimestampMs && ts <= q.endTimestampMs;
    }).sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]));
    if (inRange.length) out.set(key(s.labels), inRange);
  }
  return out;
}

const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Read-Version': '0.1.0' };

describe('remote_read', () => {
  it('answers every captured read request with exactly the selected samples (SAMPLES)', async () => {
    const reads = capturedRequests('read');
    expect(reads.length).toBeGreaterThan(5);
    let nonEmpty = 0;
    for (const r of reads) {
      const res = await fetch(`${t.url}${r.url}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
      expect(res.status, r.file).toBe(200);
      expect(res.headers.get('content-encoding')).toBe('snappy');
      const results = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 64 << 20));
      const queries = decodeReadRequest(snappyDecompress(r.body, 1 << 20)).queries;
      expect(results).toHaveLength(queries.length);
      for (let i = 0; i < queries.length; i++) {
        const got = new Map(results[i].timeseries.map((ts) => [key(ts.labels), ts.samples.map((x) => `${x.timestamp}:${toBits(x.value)}`)]));
        expect(got, `${r.replica}/${r.file} query ${i}`).toEqual(expected(queries[i]));
        if (got.size > 0) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(3);
    passed++;
  });

  it('streams XOR chunks when the client accepts them, with the same samples', async () => {
    const first = stored[0].samples.map((x) => Number(x.split(':')[0]));
    const q: Query = {
      startTimestampMs: Math.min(...first) - 60_000, endTimestampMs: Math.max(...first) + 60_000,
      matchers: [{ type: 'EQ', name: '__name__', value: 'up' }, { type: 'EQ', name: '__replica__', value: 'replica-b' }, { type: 'EQ', name: 'cluster', value: 'demo' }],
    };
    const body = snappyCompress(encodeReadRequest({ queries: [q], acceptedResponseTypes: ['STREAMED_XOR_CHUNKS'] }));
    const res = await fetch(`${t.url}/api/v1/read`, { method: 'POST', headers: HEADERS, body: Buffer.from(body) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse');
    const frames = readChunkedFrames(new Uint8Array(await res.arrayBuffer()));
    const got = new Map<string, string[]>();
    for (const f of frames) {
      expect(f.queryIndex).toBe(0);
      for (const s of f.series) {
        const list = got.get(key(s.labels)) ?? [];
        for (const c of s.chunks) {
          const d = decodeXorChunk(c.data);
          d.timestamps.forEach((ts, i) => list.push(`${ts}:${toBits(d.values[i])}`));
        }
        got.set(key(s.labels), list);
      }
    }
    const want = expected(q);
    expect(want.size).toBeGreaterThan(0);
    expect(got).toEqual(want);
    passed++;
  });

  it('serves reads but refuses writes with --read-only', async () => {
    const w = await fetch(`${readOnly.url}/write`, { method: 'POST', headers: HEADERS, body: Buffer.from(snappyCompress(new Uint8Array())) });
    expect(w.status).toBe(405);
    expect(await w.text()).toMatch(/^METHOD_NOT_ALLOWED: .*--read-only/);
    const r = capturedRequests('read')[0];
    const res = await fetch(`${readOnly.url}${r.url}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
    expect(res.status).toBe(200);
    passed++;
  });
});
