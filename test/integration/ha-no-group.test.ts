/**
 * Batches with no HA group are written as before (see docs/ha.md, How it works):
 * series with neither a cluster nor a replica label, and no --ha.group, go to the default queue
 * and are all stored, with no election: no group, no leadership row, no ownership range, no
 * watermark, no advisory lock. A replica label without a group is stripped and the batch is
 * written unconditionally too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { openTestBackend } from '../helpers/queue-store.js';
import { waitFor } from '../helpers/ports.js';
import { lockNamespace } from '../../src/storage/index.js';
import { replicaWriter, storedHaSamples, type ReplicaWriter } from '../helpers/ha-load.js';

const SERIES = 4;
const INTERVAL = 500;

let db: TestDatabase;
let t: TestApp;
let client: pg.Client;
const writers: ReplicaWriter[] = [];
let passed = false;

beforeAll(async () => {
  db = await createTestDatabase('ha_no_group');
  t = await startApp('all', {
    pgUrl: db.url,
    args: ['--leader-election.pg-advisory-lock.prometheus-timeout=2s', '--election.interval=250ms', '--worker.queue-poll-interval=250ms', '--shutdown.timeout=5s', '--storage.timescaledb=false'],
  });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await Promise.allSettled(writers.map((w) => w.kill()));
  await client?.end().catch(() => undefined);
  await t?.stop();
  if (t) await deleteRedisPrefix(t.prefix);
  if (passed) await db.drop();
});

describe('batches without an HA group', () => {
  it('are all written, from the default queue, with no election at all', async () => {
    const plain = replicaWriter({
      url: t.url, group: 'unused', replica: 'unused', index: 1, series: SERIES, intervalMs: INTERVAL, phaseMs: 0,
      clusterLabel: null, replicaLabel: null, metric: 'ha_plain',
    });
    const replicaOnly = replicaWriter({
      url: t.url, group: 'unused', replica: 'x', index: 2, series: SERIES, intervalMs: INTERVAL, phaseMs: 250,
      clusterLabel: null, metric: 'ha_replica_only',
    });
    writers.push(plain, replicaOnly);
    plain.start();
    replicaOnly.start();
    await new Promise((r) => setTimeout(r, 3_000));
    await Promise.all([plain.stop(), replicaOnly.stop()]);

    for (const [w, metric] of [[plain, 'ha_plain'], [replicaOnly, 'ha_replica_only']] as const) {
      expect(w.failed(), `${metric}: all writes 2xx`).toEqual([]);
      expect(w.accepted().length).toBeGreaterThanOrEqual(SERIES * 4);
      await waitFor(`${metric} written`, async () => {
        const stored = await storedHaSamples(client, metric);
        return [...stored.values()].reduce((n, l) => n + l.length, 0) >= w.accepted().length;
      }, 20_000, 200);
      const stored = await storedHaSamples(client, metric);
      for (let i = 0; i < SERIES; i++) {
        expect((stored.get(i) ?? []).map((s) => `${s.ts}=${s.value}`), `${metric} series ${i}: every sample, once`)
          .toEqual(w.acceptedOf(i).map((s) => `${s.ts}=${s.value}`));
      }
    }

    const series = await client.query<{ labels: Record<string, string>; ha_group: string | null }>(
      `SELECT labels, ha_group FROM prom.series WHERE metric IN ('ha_plain', 'ha_replica_only')`);
    expect(series.rowCount).toBe(2 * SERIES);
    for (const row of series.rows) {
      expect(row.ha_group).toBeNull();
      expect(Object.keys(row.labels).sort()).toEqual(['series']);
    }

    const queues = await client.query<{ queue: string }>('SELECT DISTINCT queue FROM prom.batches');
    expect(queues.rows.map((r) => r.queue)).toEqual(['{default}']);
    // No queue of an HA group was ever made: every queue a producer adds to is registered.
    const backend = await openTestBackend(t.prefix, db.url);
    try {
      expect(await backend.registry.list()).toEqual(['{default}']);
    } finally {
      await backend.close();
    }

    for (const table of ['ha_groups', 'ha_leaders', 'ha_ownership', 'ha_watermarks', 'ha_series_marks']) {
      const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM prom.${table}`);
      expect(Number(r.rows[0].n), `rows in prom.${table}`).toBe(0);
    }
    const locks = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [lockNamespace('prom')]);
    expect(Number(locks.rows[0].n)).toBe(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^promfleet_ha_leader\{/m);
    expect(metrics).not.toMatch(/^promfleet_ha_fenced_batches_total\{/m);
    passed = true;
  }, 60_000);
});
