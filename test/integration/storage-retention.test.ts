/** Retention on vanilla PostgreSQL: partitions wholly older than the cutoff are dropped, newer ones kept. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Partitions } from '../../src/storage/index.js';
import { useTestDatabase } from '../helpers/database.js';

const DAY = 86_400_000;
const log = pino({ level: 'silent' });
const db = useTestDatabase('retention', {
  max: 2, log, checkReleased: false,
  migrate: { schema: 'prom', timescaledb: false, partitionIntervalMs: DAY },
});

async function partitions(): Promise<string[]> {
  const r = await db.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'prom.samples'::regclass ORDER BY 1`);
  return r.rows.map((x) => x.name);
}

describe('retention on native partitions', () => {
  it('drops the partitions wholly older than the cutoff and keeps the rest', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    const p = new Partitions({ pool: db.pool, schema: 'prom', intervalMs: DAY, log });
    await p.ensure(Date.parse('2001-03-04T05:00:00Z'), Date.parse('2001-03-04T06:00:00Z'));
    await p.ensure(now - 3 * DAY, now + DAY);
    expect(await partitions()).toEqual(['samples_20010304', 'samples_20261122', 'samples_20261123', 'samples_20261124', 'samples_20261125', 'samples_20261126']);

    // Two days of retention at noon of the 25th: the cutoff is noon of the 23rd; the 23rd's partition
    // still holds newer samples (it ends at midnight), so it stays.
    const dropped = await p.dropBefore(now - 2 * DAY);
    expect(dropped.sort()).toEqual(['samples_20010304', 'samples_20261122']);
    expect(await partitions()).toEqual(['samples_20261123', 'samples_20261124', 'samples_20261125', 'samples_20261126']);

    // A late sample for a dropped day gets its partition again when written.
    await p.ensure(Date.parse('2001-03-04T05:00:00Z'), Date.parse('2001-03-04T05:00:00Z'));
    expect(await partitions()).toContain('samples_20010304');
  });
});
