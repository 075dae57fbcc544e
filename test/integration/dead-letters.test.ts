/**
 * A batch the database refuses for its content goes to the dead-letter set with its reason;
 * later batches of the same queue are written; `promfleet dead-letters retry` writes it once the
 * cause is fixed, exactly once.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';
import { CLI } from '../helpers/promfleet.js';
import { queueFlags } from '../helpers/queue-store.js';

const run = promisify(execFile);
let db: TestDatabase;
let t: TestApp;
let client: pg.Client;
let passed = false;

beforeAll(async () => {
  db = await createTestDatabase('deadletters');
  t = await startApp('all', { pgUrl: db.url });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await waitFor('schema migrated', async () => (await client.query(`SELECT to_regclass('prom.samples') AS t`)).rows[0].t !== null, 20_000);
});
afterAll(async () => {
  await client?.end();
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  if (passed) await db.drop();
});

async function write(value: number, ts: number): Promise<void> {
  const body = snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'dl_test' }], samples: [{ value, timestamp: ts }], exemplars: [], histograms: [] }],
    metadata: [],
  }));
  const res = await fetch(`${t.url}/write`, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: Buffer.from(body) });
  expect(res.status).toBe(204);
}

/** The CLI on the app's queue (on postgres it lives in the test database, which --pg.url names). */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'dead-letters', ...args, ...queueFlags(), `--pg.url=${db.url}`, `--queue.prefix=${t.prefix}`]);
  return stdout;
}

async function values(): Promise<number[]> {
  return (await client.query<{ value: number }>(`SELECT value FROM prom.metrics WHERE name = 'dl_test' ORDER BY time`)).rows.map((r) => r.value);
}

describe('dead letters', () => {
  it('holds a refused batch with its reason, lets the queue move on, and retries it once fixed', async () => {
    await client.query('ALTER TABLE prom.samples ADD CONSTRAINT dl_test_positive CHECK (value >= 0)');
    const now = Date.now();
    await write(-1, now - 3000);
    await waitFor('the refused batch in the dead-letter set', async () => (await cli('list')).trim().length > 0, 20_000);
    const listed = (await cli('list')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; reason: string; samples: number });
    expect(listed).toHaveLength(1);
    expect(listed[0].reason).toMatch(/dl_test_positive/);
    expect(listed[0].samples).toBe(1);

    await write(2, now - 2000);
    await waitFor('a later batch of the same queue written', async () => (await values()).length === 1, 20_000);
    expect(await values()).toEqual([2]);

    // A batch id is base64url: one in 64 starts with "-", and is still an id, not a flag.
    expect(await cli('drop', '-yeaPhqKwfZe6y7n8nayTg')).toMatch(/dropped 0/);
    await client.query('ALTER TABLE prom.samples DROP CONSTRAINT dl_test_positive');
    expect(await cli('retry', listed[0].id)).toMatch(/retried 1/);
    await waitFor('the retried batch written', async () => (await values()).length === 2, 20_000);
    expect(await values()).toEqual([-1, 2]);
    expect((await cli('list')).trim()).toBe('');
    passed = true;
  });
});
