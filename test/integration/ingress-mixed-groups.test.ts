/**
 * A request that mixes HA groups (a federating sender) is split into one batch per group, each
 * on its own queue and under its own election; the replica label is stored in neither.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { queueDepths } from '../helpers/queue-store.js';
import { waitFor } from '../helpers/ports.js';

let db: TestDatabase;
let t: TestApp;
let client: pg.Client;
let passed = false;

beforeAll(async () => {
  db = await createTestDatabase('mixed');
  // The replicas send once: the timeout is long enough that they still lead when the test looks,
  // however long the write took (a replica quiet for longer steps down, rightly).
  t = await startApp('all', { pgUrl: db.url, args: ['--election.interval=200ms', '--leader-election.pg-advisory-lock.prometheus-timeout=10s'] });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  if (passed) await db.drop();
});

describe('a request mixing HA groups', () => {
  it('is split per group, each group elects its replica, and no replica label is stored', async () => {
    const ts = Date.now() - 1000;
    const mk = (cluster: string, value: number) => ({
      labels: [{ name: '__name__', value: 'mixed' }, { name: '__replica__', value: 'r1' }, { name: 'cluster', value: cluster }],
      samples: [{ value, timestamp: ts }], exemplars: [], histograms: [],
    });
    const body = snappyCompress(encodeWriteRequest({ timeseries: [mk('one', 1), mk('two', 2)], metadata: [] }));
    const res = await fetch(`${t.url}/write`, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: Buffer.from(body) });
    expect(res.status).toBe(204);
    // One queue per group (the worker may have taken the jobs already: the queues stay registered).
    expect(Object.keys(await queueDepths(t.prefix, db.url))).toEqual(['{w.one.rr1}', '{w.two.rr1}']);
    await waitFor('both groups written', async () => (await client.query(`SELECT 1 FROM prom.metrics WHERE name = 'mixed'`)).rowCount === 2, 15_000);
    const rows = await client.query<{ labels: Record<string, string>; value: number }>(`SELECT labels, value FROM prom.metrics WHERE name = 'mixed' ORDER BY value`);
    expect(rows.rows).toEqual([{ labels: { cluster: 'one' }, value: 1 }, { labels: { cluster: 'two' }, value: 2 }]);
    const leaders = await client.query<{ group_name: string; leader: string }>('SELECT group_name, leader FROM prom.ha_leaders ORDER BY group_name');
    expect(leaders.rows).toEqual([{ group_name: 'one', leader: 'r1' }, { group_name: 'two', leader: 'r1' }]);
    passed = true;
  });
});
