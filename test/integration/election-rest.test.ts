/**
 * The REST elector (--leader-election.rest): an external elector drives leadership through
 * /admin/election/leader, guarded by a bearer token; only a leader's batches are written.
 * PUT 1 is idempotent, GET answers the recorded leader, PUT 0 resigns only what this process
 * was given, and PUT is refused on a listener other hosts can reach unless a token or an auth
 * file guards it.
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
const others: TestApp[] = [];
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
  for (const o of others) await o.stop();
  await deleteRedisPrefix(t.prefix);
  await deleteRedisPrefix(lockMode.prefix);
  for (const o of others) await deleteRedisPrefix(o.prefix);
  if (passed === 7) await db.drop();
});

async function write(value: number, ts: number): Promise<number> {
  const body = snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'rest_test' }], samples: [{ value, timestamp: ts }], exemplars: [], histograms: [] }],
    metadata: [],
  }));
  const res = await fetch(`${t.url}/write`, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: Buffer.from(body) });
  return res.status;
}

async function leaderRow(group: string): Promise<{ leader: string | null; via: string; epoch: number } | undefined> {
  const r = await client.query<{ leader: string | null; via: string; epoch: string }>(
    'SELECT leader, via, epoch FROM prom.ha_leaders WHERE group_name = $1', [group]);
  return r.rowCount ? { leader: r.rows[0].leader, via: r.rows[0].via, epoch: Number(r.rows[0].epoch) } : undefined;
}

async function admin(app: TestApp, method: 'GET' | 'PUT', body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${app.url}/admin/election/leader`, { method, headers, body });
  return { status: res.status, text: await res.text() };
}

/** An ingress electing over REST on a loopback listener (no token needed there), speaking for (group, replica). */
async function restIngress(group: string, replica: string, extra: string[] = []): Promise<TestApp> {
  const app = await startApp('ingress', { pgUrl: db.url, args: ['--leader-election.rest', `--ha.group=${group}`, `--ha.replica=${replica}`, ...extra] });
  others.push(app);
  return app;
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

  it('keeps the epoch on a repeated PUT 1 (no second takeover)', async () => {
    expect((await admin(t, 'PUT', '1', AUTH)).text).toBe('true');
    const first = await leaderRow('g');
    expect(first).toMatchObject({ leader: 'a', via: 'rest' });
    const owners = await client.query(`SELECT 1 FROM prom.ha_ownership WHERE group_name = 'g'`);
    for (let i = 0; i < 3; i++) expect((await admin(t, 'PUT', '1', AUTH)).text).toBe('true');
    expect(await leaderRow('g')).toEqual(first);
    expect((await client.query(`SELECT 1 FROM prom.ha_ownership WHERE group_name = 'g'`)).rowCount).toBe(owners.rowCount);
    passed++;
  });

  it('answers GET from the record: only the recorded leader says true', async () => {
    const x = await restIngress('h', 'x');
    const y = await restIngress('h', 'y');
    expect((await admin(x, 'PUT', '1')).text).toBe('true');
    expect(await leaderRow('h')).toMatchObject({ leader: 'x', via: 'rest' });
    expect((await admin(x, 'GET')).text).toBe('true');
    expect((await admin(y, 'GET')).text).toBe('false');

    expect((await admin(y, 'PUT', '1')).text).toBe('true');
    expect(await leaderRow('h')).toMatchObject({ leader: 'y', via: 'rest' });
    expect((await admin(y, 'GET')).text).toBe('true');
    expect((await admin(x, 'GET')).text).toBe('false');
    passed++;
  });

  it('changes nothing on PUT 0 to a process that was not given the leadership', async () => {
    const before = await leaderRow('h');
    expect(before).toMatchObject({ leader: 'y', via: 'rest' });
    const x = others[0];
    expect((await admin(x, 'PUT', '0')).text).toBe('false');
    expect(await leaderRow('h')).toEqual(before);
    // Another process for the same replica name, never given PUT 1: its PUT 0 must not clear y.
    const y2 = await restIngress('h', 'y');
    // Its answer is the record's: its replica still leads.
    expect(await admin(y2, 'PUT', '0')).toEqual({ status: 200, text: 'true' });
    expect(await leaderRow('h')).toEqual(before);
    // The process that was given it does resign.
    expect((await admin(others[1], 'PUT', '0')).text).toBe('false');
    expect(await leaderRow('h')).toMatchObject({ leader: null });
    passed++;
  });

  it('refuses PUT with 403 on a listener reachable from other hosts without a token or auth file', async () => {
    // Bound to all interfaces; the test connects over 127.0.0.1 only.
    const open = await restIngress('k', 'z', ['--web.listen-address=0.0.0.0:0']);
    const res = await admin(open, 'PUT', '1');
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/^ELECTION_ADMIN_UNGUARDED: .*--leader-election\.rest-token.*--web\.auth-file/);
    expect((await leaderRow('k'))?.leader ?? null).toBeNull();
    expect(await admin(open, 'GET')).toEqual({ status: 200, text: 'false' });
    // With a token the same listener takes PUT from callers presenting it.
    const guarded = await restIngress('k', 'z', ['--web.listen-address=0.0.0.0:0', '--leader-election.rest-token=s3cret']);
    expect(await admin(guarded, 'PUT', '1', AUTH)).toEqual({ status: 200, text: 'true' });
    expect(await leaderRow('k')).toMatchObject({ leader: 'z', via: 'rest' });
    passed++;
  });
});
