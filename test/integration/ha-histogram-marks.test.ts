/**
 * A handoff's per-series fill-in marks count native histograms as samples: for a series that has
 * only histograms, the mark is its last committed histogram, so the new leader does not write the
 * old leader's time again for it (without the mark, every retained histogram would be written).
 */
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Leadership, migrate } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

const log = pino({ level: 'silent' });
const T = Date.parse('2026-03-01T00:00:00Z');
let db: TestDatabase;
let c: pg.Client;
let passed = false;
const leadership = new Leadership('prom');

beforeAll(async () => {
  db = await createTestDatabase('ha_hist_marks');
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    await migrate(pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000, log });
  } finally {
    await pool.end();
  }
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
});

afterAll(async () => {
  await c?.end();
  if (passed) await db.drop();
});

describe('handoff marks', () => {
  it('record the last committed histogram of a histogram-only series', async () => {
    await leadership.groupId(c, 'g');
    const ids = await c.query<{ id: string }>(
      `INSERT INTO prom.series (metric, labels, labels_hash, ha_group) VALUES
         ('h', '{"cluster": "g"}', '\\x01', 'g'), ('quiet', '{"cluster": "g"}', '\\x02', 'g') RETURNING id`);
    const [hist, quiet] = ids.rows.map((r) => Number(r.id));
    const at = (ms: number) => new Date(ms).toISOString();
    await c.query(`INSERT INTO prom.histograms (time, series_id, histogram) VALUES ($1, $3, '{}'), ($2, $3, '{}')`, [at(T - 4000), at(T - 1000), hist]);
    // Outside the lookback: no mark.
    await c.query(`INSERT INTO prom.histograms (time, series_id, histogram) VALUES ($1, $2, '{}')`, [at(T - 7_200_000), quiet]);
    const cuts = { acceptedMs: async () => undefined, quietMs: async () => undefined, maxSkewMs: 60_000 };
    await leadership.takeOver(c, 'g', 'a', 'lock', cuts);
    await leadership.advanceWatermark(c, 'g', T, 60_000);
    const takeover = await leadership.takeOver(c, 'g', 'b', 'lock', cuts);
    expect(takeover).toMatchObject({ handoffMs: T, changed: true, waits: true });
    expect(await leadership.markReady(c, 'g', takeover.epoch, 3_600_000)).toBe(1);
    expect(await leadership.marks(c, 'g', takeover.epoch)).toEqual(new Map([[hist, T - 1000]]));
    passed = true;
  });
});
