import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type pg from 'pg';
import { createPool, migrate, pruneLedger } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

let db: TestDatabase;
let pool: pg.Pool;
let passed = false;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase('ledger');
  pool = createPool({ connectionString: db.url, max: 2 }, log);
  await migrate(pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000, log });
});
afterAll(async () => {
  await pool?.end();
  if (passed) await db.drop();
});

describe('ledger pruning', () => {
  it('drops entries older than the retention, in slices, and keeps newer ones', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    await pool.query(`INSERT INTO prom.batches (id, queue, samples, written_at)
      SELECT 'old' || g, 'q', 1, to_timestamp($1::float8 / 1000) - interval '7 hours' FROM generate_series(1, 25000) g`, [now]);
    await pool.query(`INSERT INTO prom.batches (id, queue, samples, written_at) VALUES ('new', 'q', 1, to_timestamp($1::float8 / 1000) - interval '5 hours')`, [now]);
    expect(await pruneLedger(pool, 'prom', 6 * 3_600_000, now)).toBe(25000);
    const left = await pool.query<{ id: string }>('SELECT id FROM prom.batches');
    expect(left.rows.map((r) => r.id)).toEqual(['new']);
    passed = true;
  });
});
