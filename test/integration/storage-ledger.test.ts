import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { pruneLedger } from '../../src/storage/index.js';
import { useTestDatabase } from '../helpers/database.js';

const log = pino({ level: 'silent' });
const db = useTestDatabase('ledger', {
  max: 2, log, checkReleased: false,
  migrate: { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000 },
});

describe('ledger pruning', () => {
  it('drops entries older than the retention, in slices, and keeps newer ones', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    await db.pool.query(`INSERT INTO prom.batches (id, queue, samples, written_at)
      SELECT 'old' || g, 'q', 1, to_timestamp($1::float8 / 1000) - interval '7 hours' FROM generate_series(1, 25000) g`, [now]);
    await db.pool.query(`INSERT INTO prom.batches (id, queue, samples, written_at) VALUES ('new', 'q', 1, to_timestamp($1::float8 / 1000) - interval '5 hours')`, [now]);
    expect(await pruneLedger(db.pool, 'prom', 6 * 3_600_000, now)).toBe(25000);
    const left = await db.pool.query<{ id: string }>('SELECT id FROM prom.batches');
    expect(left.rows.map((r) => r.id)).toEqual(['new']);
  });
});
