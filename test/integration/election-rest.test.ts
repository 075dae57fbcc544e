/**
 * The REST elector (--leader-election.rest): an external elector drives leadership through
 * /admin/election/leader, guarded by a bearer token; only a leader's batches are written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';

let db: TestDatabase;
let t: TestApp;
let lockMode: TestApp;
let client: pg.Client;
let passed = 0;
const AUTH = { Authorization: 'Bearer s3cret' };

beforeAll(async () => {
  db = await createTestDatabase('rest');
  t = await startApp('all', { pgUrl: db.url, args: ['--leader-election.rest', '--ha.group=g', '--ha.replica=a', '--leader-election.rest-token=s3cret'] });
  lockMode = await startApp('ingress', { pgUrl: db.url });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await t?.stop();
  await lockMode?.stop();
  await deleteRedisPrefix(t.prefix);
  await deleteRedisPrefix(lockMode.prefix);
  if (passed === 3) await db.drop();
});

async function write(value: number, ts: number): Promise<number> {
  const body = snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'rest_test' }], samples: [{ value, timestamp: ts }], exemplars: [], histograms: [] }],
    metadata: [],
  }));
  const res = await fetch(`${t.url}/write`, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: Buffer.from(body) });
  return res.status;
}

async function stored(): Promise<number[]> {
  const r = await client.query<{ value: number }>(`SELECT value FROM prom.metrics WHERE name = 'rest_test' ORDER BY time`);
  return r.rows.map((row) => row.value);
}

describe('REST elector', () => {
  it('refuses callers without the token and answers the leader state as true/false', async () => {
    expect((await fetch(`${t.url}/admin/election/leader`)).status).toBe(401);
    expect((await fetch(`${t.url}/admin/election/leader`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await fetch(`${t.url}/admin/election/leader`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('false');
    const bad = await fetch(`${t.url}/admin/election/leader`, { method: 'PUT', headers: AUTH, body: 'yes' });
    expect(bad.status).toBe(400);
    passed++;
  });

  it('writes only while PUT 1 made this replica leader, and keeps retained data after PUT 0', async () => {
    const now = Date.now();
    expect(await write(1, now - 3000)).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await stored()).toEqual([]);

    const put = await fetch(`${t.url}/admin/election/leader`, { method: 'PUT', headers: AUTH, body: '1' });
    expect(await put.text()).toBe('true');
    const rec = await client.query<{ leader: string; via: string }>(`SELECT leader, via FROM prom.ha_leaders WHERE group_name = 'g'`);
    expect(rec.rows[0]).toEqual({ leader: 'a', via: 'rest' });
    expect(await write(2, now - 2000)).toBe(204);
    await waitFor('samples of the leader written', async () => (await stored()).length === 2, 10_000);
    expect(await stored()).toEqual([1, 2]);

    const resign = await fetch(`${t.url}/admin/election/leader`, { method: 'PUT', headers: AUTH, body: '0' });
    expect(await resign.text()).toBe('false');
    expect(await write(3, now - 1000)).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await stored()).toEqual([1, 2]);
    passed++;
  });

  it('answers 409 to PUT on a process that elects by advisory lock', async () => {
    const res = await fetch(`${lockMode.url}/admin/election/leader`, { method: 'PUT', body: '1' });
    expect(res.status).toBe(409);
    expect(await res.text()).toMatch(/^ELECTION_NOT_REST: /);
    passed++;
  });
});
