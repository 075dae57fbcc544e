/**
 * Every remote-write body captured from Prometheus 2.42, posted with its recorded headers, ends up
 * in PostgreSQL exactly: per series the same timestamps and value bits (NaN and stale markers
 * included), metadata in its table, and no replica label stored. The same bodies re-encoded as
 * remote-write 2.0 end up as the same rows.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { decodeWriteRequest, encodeWriteRequestV2, snappyCompress, snappyDecompress } from '../../src/protocol/index.js';
import { RW2_HEADERS } from '../helpers/rw2.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { capturedRequests } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/ports.js';

/** One replica at a time: alone in its HA group it leads, so every one of its samples is stored. */
async function withApp<T>(name: string, fn: (t: TestApp, client: pg.Client) => Promise<T>): Promise<T> {
  const db: TestDatabase = await createTestDatabase(name);
  const t = await startApp('all', { pgUrl: db.url });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  let passed = false;
  try {
    const out = await fn(t, client);
    passed = true;
    return out;
  } finally {
    await client.end();
    await t.stop();
    await deleteRedisPrefix(t.prefix);
    if (passed) await db.drop();
  }
}

function bitsHex(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}

function seriesKey(labels: { name: string; value: string }[]): string {
  return labels.filter((l) => l.name !== '__replica__').map((l) => `${l.name}=${JSON.stringify(l.value)}`).sort().join(',');
}

describe('captured Prometheus 2.42 remote-write traffic', () => {
  it.each([['replica-a', '1.0'], ['replica-b', '1.0'], ['replica-a', '2.0']])('from %s, as remote-write %s, is stored exactly: per series timestamps and value bits, metadata, no replica label', (replica, protocol) => withApp(`fixtures_${replica.slice(-1)}_${protocol[0]}`, async (t, client) => {
    const requests = capturedRequests('write').filter((r) => r.replica === replica);
    expect(requests.length).toBeGreaterThan(30);
    const expected = new Map<string, string[]>();
    const metadata = new Map<string, { type: string; help: string; unit: string }>();
    let total = 0;
    for (const r of requests) {
      const decoded = decodeWriteRequest(snappyDecompress(r.body, 64 << 20));
      const [headers, body] = protocol === '1.0'
        ? [r.headers, new Uint8Array(r.body)]
        : [RW2_HEADERS, new Uint8Array(snappyCompress(encodeWriteRequestV2(decoded)))];
      const res = await fetch(`${t.url}${r.url}`, { method: 'POST', headers, body });
      expect(res.status, `${r.replica}/${r.file}: ${await res.clone().text()}`).toBe(204);
      for (const ts of decoded.timeseries) {
        const key = seriesKey(ts.labels);
        const list = expected.get(key) ?? [];
        for (const s of ts.samples) list.push(`${s.timestamp}:${bitsHex(s.value)}`);
        expected.set(key, list);
        total += ts.samples.length;
      }
      for (const m of decoded.metadata) metadata.set(m.metricFamilyName, { type: m.type, help: m.help, unit: m.unit });
    }

    await waitFor('every sample written', async () => {
      const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM prom.samples');
      return Number(r.rows[0].n) >= total;
    }, 60_000, 250);

    const rows = await client.query<{ metric: string; labels: Record<string, string>; ms: string; bits: string }>(`
      SELECT s.metric, s.labels, (extract(epoch FROM p.time) * 1000)::bigint AS ms, encode(float8send(p.value), 'hex') AS bits
      FROM prom.samples p JOIN prom.series s ON s.id = p.series_id`);
    expect(rows.rowCount).toBe(total);
    const stored = new Map<string, string[]>();
    for (const row of rows.rows) {
      const labels = [{ name: '__name__', value: row.metric }, ...Object.entries(row.labels).map(([name, value]) => ({ name, value }))];
      const key = seriesKey(labels);
      const list = stored.get(key) ?? [];
      list.push(`${row.ms}:${row.bits}`);
      stored.set(key, list);
    }
    expect(stored.size).toBe(expected.size);
    for (const [key, list] of expected) expect(stored.get(key)?.sort(), key).toEqual(list.sort());

    const stale = await client.query<{ n: string }>(`SELECT count(*) AS n FROM prom.samples WHERE float8send(value) = '\\x7ff0000000000002'::bytea`);
    if (replica === 'replica-a') expect(Number(stale.rows[0].n)).toBeGreaterThanOrEqual(429);
    const stripped = await client.query<{ n: string }>(`SELECT count(*) AS n FROM prom.series WHERE labels ? '__replica__'`);
    expect(Number(stripped.rows[0].n)).toBe(0);
    const cluster = await client.query<{ n: string }>(`SELECT count(*) AS n FROM prom.series WHERE labels->>'cluster' IS DISTINCT FROM 'demo'`);
    expect(Number(cluster.rows[0].n)).toBe(0);

    const meta = await client.query<{ metric_family: string; type: string; help: string; unit: string }>('SELECT metric_family, type, help, unit FROM prom.metadata');
    expect(meta.rowCount).toBe(metadata.size);
    for (const m of meta.rows) expect({ type: m.type, help: m.help, unit: m.unit }, m.metric_family).toEqual(metadata.get(m.metric_family));

    const view = await client.query<{ name: string; labels: Record<string, string> }>(`SELECT name, labels FROM prom.metrics WHERE name = 'up' LIMIT 1`);
    expect(view.rows[0].name).toBe('up');
    expect(view.rows[0].labels).not.toHaveProperty('__name__');
    expect(view.rows[0].labels).toHaveProperty('cluster', 'demo');
  }));
});
